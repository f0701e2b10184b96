/*
 * Real nats-server processes for the NATS tests: Debian's server with
 * JetStream, on loopback ports picked at random, in a temporary directory
 * of the test's own, killed at the end (and when the test process dies).
 * Plus the helpers the tests share: running socktrace in the background,
 * and reading a stream back as JSON Lines.
 */
#ifndef ST_TEST_NATSD_H
#define ST_TEST_NATSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct natsd {
  pid_t pid;
  int port, cluster_port;
  char name[16];
  char dir[256];     /* the server's own directory: config, store, log */
  char extra[1024];  /* more configuration lines (users, TLS) */
  char routes[512];  /* cluster: "nats-route://127.0.0.1:P," ... ; empty when alone */
  bool jetstream;    /* default true (natsd_init) */
  char ca_file[300]; /* the server speaks TLS: its CA, for the readiness check */
  char cert_file[300], key_file[300]; /* it wants a client certificate: this one */
  char user[32], password[32];        /* the server wants them: for the readiness check */
} natsd;

/* Skips (or fails under CI=true) when nats-server is not installed. */
void natsd_require(void);
/* A scratch directory for one test ("/tmp/st-nats-<pid>-<n>"). */
const char *natsd_tmpdir(void);
void natsd_cleanup(void);

/* A free loopback TCP port. */
int natsd_free_port(void);
void natsd_init(natsd *d, const char *name);
/* Starts (or restarts, same port and store) the server; waits until it
 * takes connections and JetStream answers. */
bool natsd_start(natsd *d);
void natsd_kill(natsd *d);
/* Messages in a stream (0 when it cannot tell); waits until there are at
 * least at_least (false after timeout_ms). */
uint64_t natsd_stream_msgs(const natsd *d, const char *stream);
bool natsd_wait_msgs(const natsd *d, const char *stream, uint64_t at_least, int timeout_ms);
/* A clustered stream's replicas all current (a leader, every other one
 * online with no lag); false after timeout_ms. */
bool natsd_wait_current(const natsd *d, const char *stream, int timeout_ms);
/* Three servers in one JetStream cluster. */
bool natsd_cluster(natsd d[3]);

/* socktrace ARGS in the background, output into files; natsd_wait returns
 * its exit code (-1 after timeout_ms, when it is killed). */
typedef struct bg {
  pid_t pid;
  char out[300], err[300];
} bg;
bool bg_start(bg *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int bg_wait(bg *b, int timeout_ms);
void bg_signal(bg *b, int sig);

/* A stream's events as socktrace replays them (-f jsonl, header dropped):
 * malloc'd lines; counts of events, of EventsLost records and their sum. */
typedef struct stream_read {
  char **lines;
  size_t nlines;
  uint64_t events, lost_records, lost_count;
  int code;
} stream_read;
stream_read stream_read_all(const char *args);
void stream_read_free(stream_read *r);

/* What --stats=json said: seen, and the nats object's published and lost. */
typedef struct pub_stats {
  uint64_t seen, published, lost;
  bool found;
} pub_stats;
pub_stats pub_stats_parse(const char *stderr_text);

void sleep_ms(int ms);

#endif
