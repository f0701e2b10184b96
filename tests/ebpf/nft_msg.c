/* Netlink messages for the nftables tests (see nft_msg.h). */
#define _GNU_SOURCE
#include "nft_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static struct nlmsghdr *last(test_nl *b) {
  return (struct nlmsghdr *)(b->buf + b->msg);
}

void test_nl_msg(test_nl *b, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id) {
  b->msg = b->len;
  struct nlmsghdr *h = last(b);
  memset(h, 0, NLMSG_LENGTH(sizeof(struct nfgenmsg)));
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | flags;
  h->nlmsg_seq = (uint32_t)b->msg + 1;
  struct nfgenmsg *g = NLMSG_DATA(h);
  g->nfgen_family = family;
  g->version = NFNETLINK_V0;
  g->res_id = htons(res_id);
  h->nlmsg_len = NLMSG_LENGTH(sizeof *g);
  b->len += NLMSG_ALIGN(h->nlmsg_len);
}

static void attr(test_nl *b, uint16_t type, const void *data, size_t len) {
  struct nlattr *a = (struct nlattr *)(b->buf + b->len);
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + len);
  memcpy((char *)a + NLA_HDRLEN, data, len);
  memset((char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(a->nla_len) - a->nla_len);
  b->len += NLA_ALIGN(a->nla_len);
  last(b)->nlmsg_len = (uint32_t)(b->len - b->msg);
}

void test_nl_str(test_nl *b, uint16_t type, const char *s) {
  attr(b, type, s, strlen(s) + 1);
}

void test_nl_be32(test_nl *b, uint16_t type, uint32_t v) {
  v = htonl(v);
  attr(b, type, &v, sizeof v);
}

size_t test_nl_nest(test_nl *b, uint16_t type) {
  size_t start = b->len;
  attr(b, type | NLA_F_NESTED, NULL, 0);
  return start;
}

void test_nl_nest_end(test_nl *b, size_t start) {
  ((struct nlattr *)(b->buf + start))->nla_len = (uint16_t)(b->len - start);
}

int test_nft_probe(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0)
    return -errno;
  close(fd);
  return 0;
}

int test_nft_table(const char *name, bool add) {
  test_nl b = {.len = 0};
  test_nl_msg(&b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  test_nl_msg(&b, NFNL_SUBSYS_NFTABLES << 8 | (add ? NFT_MSG_NEWTABLE : NFT_MSG_DELTABLE),
              NLM_F_ACK | (add ? NLM_F_CREATE : 0), NFPROTO_INET, 0);
  test_nl_str(&b, NFTA_TABLE_NAME, name);
  uint32_t seq = last(&b)->nlmsg_seq;
  test_nl_msg(&b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);

  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0)
    return -errno;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (sendto(fd, b.buf, b.len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  /* The table message's acknowledgement: its error, 0 when it was done. */
  char ack[8192] __attribute__((aligned(4)));
  int rc = -ETIMEDOUT;
  for (ssize_t n; rc == -ETIMEDOUT && (n = recv(fd, ack, sizeof ack, 0)) > 0;) {
    int left = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)ack; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left))
      if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == seq)
        rc = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
  }
  close(fd);
  return rc;
}
