/*
 * A test's scratch directory and the processes that use it, gone when the
 * test ends, however it ends. Background sessions (`socktrace start`)
 * re-parent themselves to PID 1 and outlive the test that started them;
 * servers and background runs are told apart from everything else on the
 * machine by their command line naming the directory (--control-dir DIR,
 * -o DIR/x, a server's DIR/server.conf).
 */
#ifndef ST_TEST_CLEANUP_H
#define ST_TEST_CLEANUP_H

/* Ends every process whose command line names dir or a path under it
 * (SIGTERM, then SIGKILL to what has not exited after 5 s); returns once
 * they are gone. The number of processes it ended. */
int st_test_end_processes_in(const char *dir);
/* The same, then dir removed with everything in it. */
void st_test_remove_dir(const char *dir);
/* Arranges for st_test_remove_dir(dir) to run when this process ends,
 * also when it is killed (SIGKILL, a Criterion timeout): a small reaper
 * process waits for the end of a pipe only this process holds. */
void st_test_guard_dir(const char *dir);

/* The built program copied into a scratch directory any user can reach
 * (guarded as above): a build under a 0700 home (/root/socktrace) is out
 * of an unprivileged child's reach. Once per test process; the build's own
 * path when the copy fails. */
const char *st_test_cli_for_anyone(void);

#endif
