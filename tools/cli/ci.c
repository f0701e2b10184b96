/*
 * What socktrace does for CI jobs: --fail-on (a non-zero exit when a traced
 * socket ended in a listed way, even if the command succeeded) and the
 * markdown summary that `run --summary` appends to $GITHUB_STEP_SUMMARY.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "story.h"

int cli_fail_on_parse(const char *list, cli_options *o) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", list);
  char *save = NULL;
  bool any = false;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    int code = strcasecmp(t, "unfinished") == 0 ? ST_PENDING : st_code_lookup(t);
    if (strcasecmp(t, "dns") == 0) {
      o->fail_on_dns = true;
    } else if (strcasecmp(t, "lost") == 0) {
      o->fail_on_lost = true;
    } else if (code > ST_OK) {
      o->fail_on |= 1u << code;
    } else {
      cli_error("bad --fail-on '%s' (portable statuses such as refused,timed_out,reset,"
                "not_found,unfinished, or dns, lost)",
                t);
      return -1;
    }
    any = true;
  }
  if (!any) {
    cli_error("--fail-on needs a list, e.g. refused,timed_out,reset,dns");
    return -1;
  }
  return 0;
}

int cli_ci_begin(cli_options *o) {
  if (o->fail_on || o->fail_on_dns) {
    o->fail_model = calloc(1, sizeof *o->fail_model);
    if (!o->fail_model) {
      cli_error("out of memory");
      return ST_ENOMEM;
    }
    st_sum_init(&o->fail_model->sum, 0);
  }
  const char *path = getenv("GITHUB_STEP_SUMMARY");
  if (o->is_run && o->summary && path && *path) {
    o->step_summary = fopen(path, "a");
    if (!o->step_summary)
      cli_error("cannot append the summary to GITHUB_STEP_SUMMARY (%s): %s; tracing anyway", path,
                st_strerror(-errno));
  }
  return 0;
}

void cli_ci_add_sinks(cli_options *o, st_session *s) {
  st_sink *sink;
  if (o->fail_model && cli_model_sink_new(o->fail_model, &sink) == 0)
    st_session_add_sink(s, sink);
  st_summary_options md = {.markdown = true, .all = o->all, .title = o->title};
  if (o->step_summary && st_sink_summary_new_opts(o->step_summary, &md, &sink) == 0)
    st_session_add_sink(s, sink);
}

/* Says, in one line, which stories ended as --fail-on lists; true if any. */
static bool fail_on_verdict(cli_options *o) {
  st_story *all = NULL;
  int n = st_story_list(&o->fail_model->sum, &all);
  char line[1024] = "";
  size_t used = 0, hits = 0;
  for (int i = 0; i < n; i++) {
    bool hit = o->fail_on_dns && all[i].dns_failures;
    for (int c = 1; c < ST_CODE_COUNT && !hit; c++)
      hit = (o->fail_on & (1u << c)) && all[i].outcomes[c];
    if (!hit)
      continue;
    if (++hits <= 3) {
      char conn[2 * ST_SUM_KEY_MAX], outcome[256];
      st_story_connection(&all[i], false, conn, sizeof conn);
      st_story_outcome(&all[i], outcome, sizeof outcome);
      used +=
          (size_t)snprintf(line + used, used < sizeof line ? sizeof line - used : 0, "%s%s %s %s",
                           hits > 1 ? "; " : "", st_story_process(&all[i]), conn, outcome);
    }
  }
  free(all);
  if (!hits && o->fail_on_dns && o->fail_model->sum.dns_failures) {
    hits = 1;
    snprintf(line, sizeof line, "%" PRIu64 " DNS answers with an error",
             o->fail_model->sum.dns_failures);
  }
  if (hits)
    cli_error("sockets ended as --fail-on lists: %s%s", line,
              hits > 3 ? "; and more (see --summary)" : "");
  return hits > 0;
}

int cli_ci_end(cli_options *o, int code) {
  if (o->fail_model) {
    o->fail_hit = fail_on_verdict(o);
    if (o->fail_hit && code == 0 && !o->is_run)
      code = CLI_EXIT_FAIL_ON;
    st_sum_free(&o->fail_model->sum);
    free(o->fail_model);
    o->fail_model = NULL;
  }
  if (o->step_summary && fclose(o->step_summary) != 0)
    cli_error("cannot write the summary to GITHUB_STEP_SUMMARY: %s", st_strerror(-errno));
  o->step_summary = NULL;
  return code;
}
