/*
 * Test helpers for nftables: netlink messages built by hand (the kernel's
 * notifications, for the parser; a transaction, for the kernel), and a
 * table of the test's own added or deleted in one transaction, so a live
 * test changes the rule set without touching anyone's rules (an empty
 * table filters nothing).
 */
#ifndef ST_TEST_NFT_MSG_H
#define ST_TEST_NFT_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct test_nl {
  char buf[4096] __attribute__((aligned(4)));
  size_t len; /* bytes used */
  size_t msg; /* where the last message starts */
} test_nl;

/* Starts a message: a netlink header of this type and flags (with
 * NLM_F_REQUEST) and a struct nfgenmsg; attributes follow. */
void test_nl_msg(test_nl *b, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id);
void test_nl_str(test_nl *b, uint16_t type, const char *s);
void test_nl_be32(test_nl *b, uint16_t type, uint32_t v);
/* A nested attribute: its start, to close with test_nl_nest_end. */
size_t test_nl_nest(test_nl *b, uint16_t type);
void test_nl_nest_end(test_nl *b, size_t start);

/* Whether this kernel has a netfilter netlink socket (asking loads it
 * where it is a module): 0, or -errno (-EPROTONOSUPPORT: none). */
int test_nft_probe(void);
/* Adds (add) or deletes the inet table name in one nftables transaction;
 * 0, or -errno. */
int test_nft_table(const char *name, bool add);

#endif
