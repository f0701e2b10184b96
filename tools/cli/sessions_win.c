/*
 * Background sessions on Windows: ETW's own sessions play the session
 * host's part (StartTrace, ControlTrace). Not there yet: each command says
 * so in one line.
 */
#include "cli.h"

static int not_yet(const char *cmd) {
  cli_error("%s: background sessions are not available on Windows yet (use logman with the "
            "Microsoft-Windows-Winsock-AFD provider, then 'socktrace replay FILE.etl')",
            cmd);
  return 1;
}

int cli_start(cli_options *o, const char *name) {
  return not_yet("start");
}
int cli_query(cli_options *o, const char *name) {
  return not_yet("query");
}
int cli_update(cli_options *o, const char *name) {
  return not_yet("update");
}
int cli_stop(cli_options *o, const char *name) {
  return not_yet("stop");
}
int cli_flush(cli_options *o, const char *name) {
  return not_yet("flush");
}
