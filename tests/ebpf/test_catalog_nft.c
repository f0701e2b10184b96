/*
 * nftables rule-set changes (backends/ebpf/catalog_nft.c) on notifications
 * built here: a transaction's messages add up, its new-generation message
 * makes one CatalogReset with the counts, the table and the committing
 * process. No kernel, no privilege needed; the live test is in
 * test_catalog_live.c.
 */
#include <arpa/inet.h> /* before linux/netfilter.h, whose linux/in.h must come second */
#include <criterion/criterion.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ebpf/catalog.h"
#include "ebpf/nft_msg.h"

static st_event got[8];
static lcat_who who[8];
static size_t ngot;

static void collect(void *arg, st_event *ev, const lcat_who *w) {
  (void)arg;
  cr_assert_lt(ngot, sizeof got / sizeof got[0]);
  got[ngot] = *ev;
  who[ngot++] = *w;
}

/* Feeds every message of b to n. */
static void feed(lcat_nft *n, const test_nl *b) {
  for (size_t off = 0; off < b->len;) {
    const uint32_t len = *(const uint32_t *)(b->buf + off);
    lcat_nft_message(n, b->buf + off, collect, NULL);
    off += (len + 3) & ~3u;
  }
}

static void object(test_nl *b, int type, uint8_t family, const char *table) {
  test_nl_msg(b, NFNL_SUBSYS_NFTABLES << 8 | type, 0, family, 0);
  test_nl_str(b, 1, table);
}

static void generation(test_nl *b, uint32_t gen, uint32_t pid, const char *comm) {
  test_nl_msg(b, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWGEN, 0, AF_UNSPEC, 0);
  test_nl_be32(b, NFTA_GEN_ID, gen);
  test_nl_be32(b, NFTA_GEN_PROC_PID, pid);
  test_nl_str(b, NFTA_GEN_PROC_NAME, comm);
}

Test(catalog_nft, a_transaction_is_one_catalog_reset_with_counts_table_and_process) {
  lcat_nft n = {.fd = -1};
  test_nl b = {.len = 0};
  object(&b, NFT_MSG_NEWTABLE, NFPROTO_INET, "filter");
  object(&b, NFT_MSG_NEWCHAIN, NFPROTO_INET, "filter");
  object(&b, NFT_MSG_NEWRULE, NFPROTO_INET, "filter");
  object(&b, NFT_MSG_NEWRULE, NFPROTO_INET, "filter");
  object(&b, NFT_MSG_DELRULE, NFPROTO_INET, "filter");
  /* Three elements added to a set in one message. */
  object(&b, NFT_MSG_NEWSETELEM, NFPROTO_INET, "filter");
  size_t list = test_nl_nest(&b, NFTA_SET_ELEM_LIST_ELEMENTS);
  for (int i = 0; i < 3; i++)
    test_nl_nest_end(&b, test_nl_nest(&b, NFTA_LIST_ELEM));
  test_nl_nest_end(&b, list);
  /* The process that committed: this one, found in /proc. */
  generation(&b, 41, (uint32_t)getpid(), "nft");
  ngot = 0;
  feed(&n, &b);
  cr_assert_eq(ngot, 1u);
  cr_expect_eq(got[0].provider, ST_PROVIDER_CATALOG);
  cr_expect_eq(got[0].id, ST_EV_CAT_RESET);
  cr_expect_eq(got[0].keywords, ST_KW_CATALOG);
  cr_expect_str_eq(got[0].detail, "nftables rules changed (generation 41): +1 table +1 chain "
                                  "+2 rules +3 elements -1 rule (inet filter)");
  cr_expect_eq(who[0].pid, (uint32_t)getpid());
  cr_expect_eq(who[0].tid, (uint32_t)getpid());
  cr_expect_str_eq(who[0].comm, "nft");

  /* The next transaction starts from nothing; two tables are said so. */
  b.len = 0;
  object(&b, NFT_MSG_DELTABLE, NFPROTO_IPV4, "nat");
  object(&b, NFT_MSG_DELTABLE, NFPROTO_IPV6, "nat");
  generation(&b, 42, 0, "");
  ngot = 0;
  feed(&n, &b);
  cr_assert_eq(ngot, 1u);
  cr_expect_str_eq(got[0].detail, "nftables rules changed (generation 42): -2 tables (ip nat, "
                                  "...) (process unknown)");
  cr_expect_eq(who[0].pid, 0u);
}

Test(catalog_nft, other_messages_change_nothing) {
  lcat_nft n = {.fd = -1};
  test_nl b = {.len = 0};
  test_nl_msg(&b, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_TRACE, 0, NFPROTO_INET, 0);
  test_nl_msg(&b, NFNL_SUBSYS_QUEUE << 8 | NFT_MSG_NEWTABLE, 0, NFPROTO_INET, 0);
  test_nl_msg(&b, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETRULE, 0, NFPROTO_INET, 0);
  ngot = 0;
  feed(&n, &b);
  cr_expect_eq(ngot, 0u);
  cr_expect_eq(n.added[0] + n.added[2] + n.removed[0], 0u);
  cr_expect_str_eq(n.table, "");
}
