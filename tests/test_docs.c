/* The man pages, the shell completion and the example say what the code
 * does: every command and long option of --help is in socktrace(1) and in
 * both completions, every event and status name in socktrace-events(7),
 * the format version in sktrace(5), the example program whole in
 * libsocktrace(3). Written by hand, they fail here when the code moves on. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "sktrace_format.h"
#include "socktrace/reader.h"
#include "socktrace/sink.h"

#define SRC ST_SOURCE_DIR "/"

static char *slurp(const char *rel) {
  char path[512];
  snprintf(path, sizeof path, "%s%s", SRC, rel);
  char *s = st_test_read_file(path, NULL);
  cr_assert_not_null(s, "cannot read %s", path);
  return s;
}

/* "--max-size" as roff writes it: "\-\-max\-size". */
static void roff_dashes(const char *in, char *out, size_t len) {
  size_t o = 0;
  for (; *in && o + 3 < len; in++) {
    if (*in == '-')
      out[o++] = '\\';
    out[o++] = *in;
  }
  out[o] = 0;
}

typedef void (*word_fn)(const char *word, void *arg);

/* Each distinct match of pattern's first group in text. */
static void each_match(const char *text, const char *pattern, word_fn fn, void *arg) {
  regex_t re;
  cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0);
  regmatch_t m[2];
  char seen[8192] = " ";
  for (const char *p = text; regexec(&re, p, 2, m, 0) == 0; p += m[0].rm_eo) {
    char word[64], key[68];
    int n = (int)(m[1].rm_eo - m[1].rm_so);
    snprintf(word, sizeof word, "%.*s", n, p + m[1].rm_so);
    snprintf(key, sizeof key, " %s ", word);
    if (strstr(seen, key))
      continue;
    strncat(seen, key + 1, sizeof seen - strlen(seen) - 1);
    fn(word, arg);
  }
  regfree(&re);
}

typedef struct docs {
  const char *name;
  const char *text;
  bool roff;
} docs;

static void expect_option(const char *opt, void *arg) {
  const docs *d = arg;
  char want[128];
  if (d->roff)
    roff_dashes(opt, want, sizeof want);
  else
    snprintf(want, sizeof want, "%s", opt);
  bool found = false;
  for (const char *p = d->text; !found && (p = strstr(p, want)); p++) {
    char next = p[strlen(want)];
    found = !(next == '-' || next == '\\' || (next >= 'a' && next <= 'z'));
  }
  cr_expect(found, "%s lack %s", d->name, opt);
}

static void expect_command(const char *cmd, void *arg) {
  const docs *d = arg;
  char want[128];
  snprintf(want, sizeof want, d->roff ? ".B %s" : "%s", cmd);
  cr_expect_not_null(strstr(d->text, want), "%s lack the command %s", d->name, cmd);
}

static void check_cli_words(const docs *d) {
  st_cli_result r = st_test_cli("--help");
  cr_assert_eq(r.code, 0);
  each_match(r.out, "^  socktrace ([a-z]+) ", expect_command, (void *)d);
  each_match(r.out, "(--[a-z][a-z-]*[a-z])", expect_option, (void *)d);
  st_cli_result_free(&r);
}

/* The tag lines of a page's .TP paragraphs, one a line: where an option is
 * documented rather than just mentioned. */
static char *tp_tags(const char *man) {
  char *tags = calloc(1, strlen(man) + 1), *o = tags;
  for (const char *p = strstr(man, "\n.TP\n"); p; p = strstr(p + 1, "\n.TP\n")) {
    const char *tag = p + 5, *end = strchr(tag, '\n');
    if (!end)
      break;
    memcpy(o, tag, (size_t)(end - tag + 1));
    o += end - tag + 1;
  }
  return tags;
}

Test(docs, socktrace_1_has_every_command_and_option) {
  char *man = slurp("docs/man/socktrace.1"), *tags = tp_tags(man);
  docs d = {"socktrace(1)'s command and option paragraphs", tags, true};
  check_cli_words(&d);
  free(tags);
  free(man);
}

Test(docs, completions_have_every_command_and_option) {
  char *bash = slurp("tools/completion/socktrace.bash");
  char *zsh = slurp("tools/completion/_socktrace");
  docs b = {"the bash completion's lists", bash, false},
       z = {"the zsh completion's lists", zsh, false};
  check_cli_words(&b);
  check_cli_words(&z);
  free(bash);
  free(zsh);
}

Test(docs, events_7_has_every_event_and_status) {
  char *man = slurp("docs/man/socktrace-events.7");
  for (int p = 0; p < ST_PROVIDER_COUNT; p++) {
    for (int id = 0; id < 65536; id++) {
      const char *name = st_event_name((uint8_t)p, (uint16_t)id);
      if (!name)
        continue;
      char want[128];
      snprintf(want, sizeof want, "\\fB%d %s\\fR (level %d)", id, name,
               st_event_default_level((uint8_t)p, (uint16_t)id));
      cr_expect_not_null(strstr(man, want), "socktrace-events(7) lacks \"%s\"", want);
    }
  }
  for (int c = 0; c < ST_CODE_COUNT; c++) {
    char want[64];
    snprintf(want, sizeof want, ".TP\n.B %s\n", st_code_name((st_code)c));
    cr_expect_not_null(strstr(man, want), "socktrace-events(7) lacks the status %s",
                       st_code_name((st_code)c));
  }
  free(man);
}

/* roff's escapes for quotes and dashes undone, so that words stand alone. */
static void roff_plain(char *s) {
  char *o = s;
  for (const char *p = s; *p;) {
    if (strncmp(p, "\\(dq", 4) == 0)
      *o++ = '"', p += 4;
    else if (strncmp(p, "\\-", 2) == 0)
      *o++ = '-', p += 2;
    else
      *o++ = *p++;
  }
  *o = 0;
}

static bool is_word_char(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool has_word(const char *text, const char *word) {
  size_t n = strlen(word);
  for (const char *p = text; (p = strstr(p, word)); p++)
    if ((p == text || !is_word_char(p[-1])) && !is_word_char(p[n]))
      return true;
  return false;
}

/* Each key of a JSON object, and of the objects in it, in FIELDS. */
static void expect_keys_documented(json_t *o, const char *fields) {
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    cr_expect(has_word(fields, key), "socktrace-events(7)'s FIELDS lack \"%s\"", key);
    if (json_is_object(v))
      expect_keys_documented(v, fields);
  }
}

static void expect_json_documented(const st_event *ev, const char *fields) {
  char json[8192];
  cr_assert_lt(st_event_to_json(ev, json, sizeof json), (int)sizeof json);
  json_error_t jerr;
  json_t *o = json_loads(json, 0, &jerr);
  cr_assert_not_null(o, "%s: %s", jerr.text, json);
  expect_keys_documented(o, fields);
  json_decref(o);
}

/* An event with every optional field and flag the JSON form can show: each
 * of its keys is in socktrace-events(7)'s FIELDS section. */
Test(docs, events_7_has_every_json_field) {
  char *man = slurp("docs/man/socktrace-events.7");
  roff_plain(man);
  char *fields = strstr(man, "\n.SH FIELDS\n"), *end = strstr(man, "\n.SH STATUS NAMES\n");
  cr_assert(fields && end && fields < end);
  *end = 0;

  static st_event ev;
  st_event_init(&ev, ST_PROVIDER_AFD, ST_EV_ABORT); /* an abort's reason has a name */
  ev.pid = ev.tid = ev.ppid = 7;
  snprintf(ev.comm, sizeof ev.comm, "curl");
  ev.endpoint = ev.accept_endpoint = 1;
  ev.has = ~0u;
  ev.flags = ~0u;
  ev.family = ST_FAMILY_INET;
  ev.type = ST_TYPE_STREAM;
  ev.protocol = 6;
  ev.local.family = ST_FAMILY_UNIX;
  snprintf(ev.local.path, sizeof ev.local.path, "/run/x.sock");
  ev.remote.family = ST_FAMILY_INET;
  ev.remote.port = 443;
  snprintf(ev.remote_name, sizeof ev.remote_name, "web.test");
  ev.reason = 2;
  ev.old_state = ST_TCP_SYN_SENT;
  ev.new_state = ST_TCP_ESTABLISHED;
  ev.status = st_status_from_errno(111);
  ev.summary.rtt_us = 100;
  ev.lost.where = ST_LOST_SINK;
  ev.dns.qr = 1;
  ev.dns.qtype = 1;
  ev.dns.naddrs = 1;
  ev.dns.addrs[0].family = ST_FAMILY_INET;
  ev.dns.latency_us = 5;
  ev.dns.flags = ST_DNS_SENT | ST_DNS_UNANSWERED | ST_DNS_TRUNCATED | ST_DNS_PARTIAL;
  snprintf(ev.dns.qname, sizeof ev.dns.qname, "web.test");
  snprintf(ev.dns.cnames, sizeof ev.dns.cnames, "edge.test");
  snprintf(ev.detail, sizeof ev.detail, "detail");
  ev.container = (st_container){"podman", "abc", "web", "web-0", "prod"};
  expect_json_documented(&ev, fields);
  ev.dns.flags |= ST_DNS_API; /* the Windows DNS client's result */
  expect_json_documented(&ev, fields);
  free(man);
}

/* Every status --fail-on takes is offered by both completions. */
Test(docs, completions_offer_every_status) {
  char *bash = slurp("tools/completion/socktrace.bash");
  char *zsh = slurp("tools/completion/_socktrace");
  for (int c = 0; c < ST_CODE_COUNT; c++) {
    const char *name = st_code_name((st_code)c);
    cr_expect(has_word(bash, name), "the bash completion lacks the status %s", name);
    cr_expect(has_word(zsh, name), "the zsh completion lacks the status %s", name);
  }
  free(bash);
  free(zsh);
}

Test(docs, sktrace_5_and_the_format_doc_state_the_version_written) {
  char want[64];
  snprintf(want, sizeof want, "format, version %d.%d\n", ST_SKTRACE_MAJOR, ST_SKTRACE_MINOR);
  char *man = slurp("docs/man/sktrace.5"), *md = slurp("docs/sktrace-format.md");
  cr_expect_not_null(strstr(man, want), "sktrace(5) does not say \"%s\"", want);
  cr_expect_not_null(strstr(md, want), "docs/sktrace-format.md does not say \"%s\"", want);
  free(man);
  free(md);
}

/* The example in libsocktrace(3), roff escapes undone, is the program the
 * install test builds. */
Test(docs, libsocktrace_3_quotes_the_example_whole) {
  char *man = slurp("docs/man/libsocktrace.3"), *src = slurp("docs/example/print_trace.c");
  char *ex = strstr(man, ".EX\n#include");
  cr_assert_not_null(ex);
  ex += 4;
  char *end = strstr(ex, "\n.EE\n");
  cr_assert_not_null(end);
  end[1] = 0;
  char *plain = malloc(strlen(ex) + 1), *o = plain;
  for (const char *p = ex; *p; p++) {
    if (p[0] == '\\' && p[1] == '-')
      *o++ = '-', p++;
    else if (p[0] == '\\' && p[1] == 'e')
      *o++ = '\\', p++;
    else if (p[0] == '\\' && p[1] == '&')
      p++;
    else
      *o++ = *p;
  }
  *o = 0;
  cr_expect_str_eq(plain, strstr(src, "#include"));
  /* And it names every function of the reader API. */
  char *hdr = slurp("include/socktrace/reader.h");
  regex_t re;
  regcomp(&re, "(st_reader_[a-z]+)\\(", REG_EXTENDED);
  regmatch_t m[2];
  for (const char *p = hdr; regexec(&re, p, 2, m, 0) == 0; p += m[0].rm_eo) {
    char fn[64];
    snprintf(fn, sizeof fn, "%.*s", (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so);
    cr_expect_not_null(strstr(man, fn), "libsocktrace(3) does not describe %s", fn);
  }
  regfree(&re);
  free(plain);
  free(hdr);
  free(man);
  free(src);
}
