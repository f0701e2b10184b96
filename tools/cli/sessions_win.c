/*
 * Background sessions on Windows are ETW's own, as logman makes them: start
 * asks the OS for a session that records Winsock-AFD (and -WS2HELP) into an
 * .etl file with its own writer, and returns; query, update, flush and stop
 * are ETW control calls on it (etw.h). `socktrace replay FILE.etl` reads
 * what it wrote. query also lists sessions others started (logman, wpr)
 * that have Winsock-AFD enabled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "etw/etw.h"

static bool etl_path(const char *path) {
  size_t n = path ? strlen(path) : 0;
  return n > 4 && _stricmp(path + n - 4, ".etl") == 0;
}

/* The options ETW sessions take; a filter they cannot apply is refused. */
static int settings(const cli_options *o, st_etw_session_settings *s) {
  const st_filter *f = &o->cfg.filter;
  memset(s, 0, sizeof *s);
  if (f->nports || f->nhosts || f->families || f->nprotocols || f->nevents || f->tree_root ||
      f->ncontainers) {
    cli_error("an ETW session filters by level, keywords and process (-p) only; filter the "
              "recording instead: 'socktrace replay FILE.etl --port ...'");
    return -1;
  }
  if (f->npids > ST_ETW_MAX_PIDS) {
    cli_error("an ETW session takes at most %d processes (-p)", ST_ETW_MAX_PIDS);
    return -1;
  }
  for (unsigned i = 0; i < f->npids; i++)
    s->pids[i] = f->pids[i];
  s->npids = f->npids;
  s->level = o->cfg.level ? o->cfg.level : ST_LEVEL_INFO;
  s->keywords = o->cfg.keywords ? o->cfg.keywords : ST_KW_ALL;
  s->file = o->output;
  s->max_file_mb = (uint32_t)(o->max_size >> 20);
  s->buffer_kb = (uint32_t)o->etw_buffer_kb;
  s->max_buffers = (uint32_t)o->etw_buffers;
  return 0;
}

static void print_session(const st_etw_session_info *i) {
  printf("Session %s%s\n", i->name, i->has_afd ? " (Winsock-AFD enabled)" : "");
  printf("  output   %s\n", i->file[0] ? i->file : i->real_time ? "real time" : "none");
  printf("  buffers  %u of %u KiB, %llu written, %llu lost; %llu events lost\n", i->buffers,
         i->buffer_kb, (unsigned long long)i->buffers_written, (unsigned long long)i->buffers_lost,
         (unsigned long long)i->events_lost);
}

int cli_start(cli_options *o, const char *name) {
  char err[512];
  st_etw_session_settings s;
  if (!etl_path(o->output)) {
    cli_error("on Windows a session records to an .etl file that the OS writes: -o FILE.etl "
              "(read it with 'socktrace replay FILE.etl')");
    return 2;
  }
  if (settings(o, &s) < 0)
    return 2;
  if (st_etw_session_start(name, &s, err, sizeof err) < 0) {
    cli_error("%s", err);
    return 1;
  }
  cli_note("session %s started: Winsock-AFD at level %u into %s", name, s.level, o->output);
  return 0;
}

int cli_query(cli_options *o, const char *name) {
  char err[512];
  if (name) {
    st_etw_session_info i;
    if (st_etw_session_query(name, &i, err, sizeof err) < 0) {
      cli_error("%s", err);
      return 1;
    }
    print_session(&i);
    return 0;
  }
  st_etw_session_info *all;
  size_t n, shown = 0;
  if (st_etw_session_list(&all, &n, err, sizeof err) < 0) {
    cli_error("%s", err);
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    if (all[i].has_afd) {
      print_session(&all[i]);
      shown++;
    }
  if (!shown)
    printf("no ETW session has Winsock-AFD enabled (%zu sessions run)\n", n);
  free(all);
  return 0;
}

int cli_update(cli_options *o, const char *name) {
  char err[512];
  st_etw_session_settings s;
  if (settings(o, &s) < 0)
    return 2;
  if (st_etw_session_update(name, &s, err, sizeof err) < 0) {
    cli_error("%s", err);
    return 1;
  }
  cli_note("session %s updated: Winsock-AFD at level %u", name, s.level);
  return 0;
}

int cli_flush(cli_options *o, const char *name) {
  char err[512];
  if (st_etw_session_flush(name, err, sizeof err) < 0) {
    cli_error("%s", err);
    return 1;
  }
  cli_note("session %s flushed", name);
  return 0;
}

int cli_stop(cli_options *o, const char *name) {
  char err[512];
  st_etw_session_info i;
  if (st_etw_session_stop(name, &i, err, sizeof err) < 0) {
    cli_error("%s", err);
    return 1;
  }
  cli_note("session %s stopped: %llu buffers written, %llu events lost; %s", name,
           (unsigned long long)i.buffers_written, (unsigned long long)i.events_lost,
           i.file[0] ? i.file : "no file");
  return 0;
}

int cli_session_host(cli_options *o, const char *name, const char *path, const char *log) {
  return 1; /* ETW keeps the session: there is no host process on Windows */
}

/* top --session: Windows' sessions are ETW's own, with no control socket
 * to watch through. */
int cli_watch_backend(cli_options *o, const char *name, st_backend **out) {
  cli_error("top --session needs a socktrace session host (Linux); on Windows run top live");
  return ST_ENOSYS;
}

/* Windows events name the process by its image name only: the name decides. */
int cli_runs_this_program(uint32_t pid, void *arg) {
  (void)pid;
  (void)arg;
  return -1;
}
