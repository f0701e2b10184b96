/* DNS for the tests (the eBPF DNS suite, the ptrace tests' dns_client): a
 * responder's pieces (a query's question and the start of its reply, an A
 * record) and a client's own view of the resolver files. */
#ifndef ST_TEST_DNS_REPLY_H
#define ST_TEST_DNS_REPLY_H

#include <stddef.h>
#include <stdint.h>

/* Writes v big-endian at p. */
void st_test_put16(uint8_t *p, unsigned v);

/* Reads query q (n bytes): its name (dotted, into name[256]) and type
 * (*qtype); copies its header and question into out as a reply (NOERROR,
 * no records yet). Returns the reply's length so far, 0 when q is no
 * query it can read. */
size_t st_test_dns_reply_start(const uint8_t *q, size_t n, char name[256], unsigned *qtype,
                               uint8_t *out);

/* Appends at p an A record for the question's name (a pointer to offset
 * 12) with address ip and ttl; returns its length. */
size_t st_test_dns_put_a(uint8_t *p, const char *ip, unsigned ttl);

/* In a client, before it resolves: a mount namespace of its own where
 * /etc/resolv.conf and /etc/nsswitch.conf are dir's (the host's files are
 * neither used nor touched). 0, or -1 with errno. */
int st_test_dns_isolate(const char *dir);

#endif
