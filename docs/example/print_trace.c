/* print_trace: any trace socktrace reads, one event a line, through the
 * library. cc print_trace.c $(pkg-config --cflags --libs socktrace)
 * Usage: print_trace [--json] TRACE (.sktrace, .jsonl, .pcap, .etl) */
#include <socktrace/reader.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  int json = argc == 3 && strcmp(argv[1], "--json") == 0;
  if (argc != 2 + json) {
    fprintf(stderr, "usage: %s [--json] TRACE\n", argv[0]);
    return 2;
  }
  st_reader *r;
  char err[ST_ERROR_MAX], line[4096];
  if (st_reader_open(argv[argc - 1], &r, err, sizeof err) < 0) {
    fprintf(stderr, "print_trace: %s\n", err);
    return 1;
  }
  const st_trace_info *h = st_reader_header(r);
  if (!json) /* JSON Lines are events only, one object a line */
    printf("# %s trace from %s: %s, %s backend, level %u\n",
           st_reader_format(r),
           h->host[0] ? h->host : "(host not recorded)",
           st_os_name(h->os), st_backend_kind_name(h->backend), h->level);
  const st_event *ev;
  int rc;
  while ((rc = st_reader_next(r, &ev)) > 0) {
    if (json)
      st_event_to_json(ev, line, sizeof line);
    else
      st_event_to_text(ev, NULL, line, sizeof line);
    puts(line);
  }
  if (rc < 0)
    fprintf(stderr, "print_trace: %s (%s)\n", st_reader_error(r),
            st_err_name(rc));
  st_reader_close(r);
  return rc < 0;
}
