/*
 * Opening a NATS connection the way the publisher and the reader both
 * need it: the URL's servers (libnats also learns the cluster's others),
 * user and password or a token from the URL, a .creds file, TLS, endless
 * reconnection; then the JetStream stream, created when it is absent.
 *
 * Every failure becomes one line that names the server with its password
 * masked and says what to do. Nothing here prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_internal.h"

/* libnats' words, with its thread's last error when it says more; the
 * source location libnats puts before it ("(conn.c:4212): ") left out,
 * and its plain "Error" too when the detail says what. */
void st_nats_words(natsStatus s, char *buf, size_t len) {
  natsStatus last = NATS_OK;
  const char *detail = nats_GetLastError(&last);
  const char *words = natsStatus_GetText(s);
  const char *loc = detail && *detail == '(' ? strstr(detail, "): ") : NULL;
  if (loc)
    detail = loc + 3;
  if (detail && *detail && last == s && strcmp(detail, words) != 0)
    snprintf(buf, len, s == NATS_ERR ? "%.0s%s" : "%s (%s)", words, detail);
  else
    snprintf(buf, len, "%s", words);
  for (char *p = buf; *p; p++) /* one line */
    if (*p == '\n' || *p == '\r')
      *p = ' ';
}

static void on_disconnected(natsConnection *nc, void *arg) {
  st_nats_conn *c = arg;
  if (c->on_change)
    c->on_change(c->arg, ST_NATS_DISCONNECTED);
}

static void on_reconnected(natsConnection *nc, void *arg) {
  st_nats_conn *c = arg;
  if (c->on_change)
    c->on_change(c->arg, ST_NATS_CONNECTED);
}

static void on_closed(natsConnection *nc, void *arg) {
  st_nats_conn *c = arg;
  if (c->on_change)
    c->on_change(c->arg, ST_NATS_CLOSED);
  atomic_store(&c->closed, true);
}

#define TRY(call, what)                                                                            \
  do {                                                                                             \
    if ((s = (call)) != NATS_OK) {                                                                 \
      st_nats_words(s, words, sizeof words);                                                       \
      snprintf(err, errlen, "%s: %s: %s", c->display, what, words);                                \
      goto fail;                                                                                   \
    }                                                                                              \
  } while (0)

static int make_options(st_nats_conn *c, const st_nats_options *o, natsOptions **out, char *err,
                        size_t errlen) {
  natsOptions *no = NULL;
  char words[400];
  natsStatus s;
  const char *servers[ST_NATS_SERVERS_MAX];
  for (unsigned i = 0; i < c->url.nservers; i++)
    servers[i] = c->url.servers[i];
  TRY(natsOptions_Create(&no), "cannot set up the connection");
  TRY(natsOptions_SetServers(no, servers, (int)c->url.nservers), "bad server list");
  /* The URL's order is the user's preference: the first is tried first. */
  TRY(natsOptions_SetNoRandomize(no, true), "cannot set up the connection");
  if (c->url.password[0])
    TRY(natsOptions_SetUserInfo(no, c->url.user, c->url.password), "bad user");
  else if (c->url.user[0])
    TRY(natsOptions_SetToken(no, c->url.user), "bad token");
  if (o->creds)
    TRY(natsOptions_SetUserCredentialsFromFiles(no, o->creds, NULL), "cannot use --nats-creds");
  if (c->url.tls || o->tls_ca || o->tls_cert)
    TRY(natsOptions_SetSecure(no, true), "cannot use TLS");
  if (o->tls_ca)
    TRY(natsOptions_LoadCATrustedCertificates(no, o->tls_ca), "cannot read --nats-tls-ca");
  if (o->tls_cert || o->tls_key) {
    if (!o->tls_cert || !o->tls_key) {
      snprintf(err, errlen, "%s: --nats-tls-cert and --nats-tls-key go together", c->display);
      goto fail;
    }
    TRY(natsOptions_LoadCertificatesChain(no, o->tls_cert, o->tls_key),
        "cannot read --nats-tls-cert/--nats-tls-key");
  }
  TRY(natsOptions_SetTimeout(no, o->connect_timeout_ms ? o->connect_timeout_ms : 2000),
      "cannot set up the connection");
  TRY(natsOptions_SetMaxReconnect(no, -1), "cannot set up the connection");
  TRY(natsOptions_SetReconnectWait(no, 250), "cannot set up the connection");
  /* What is published while the connection is down stays in our own
   * buffer, which keeps the order and counts what it cannot keep: libnats'
   * own reconnect buffer would send it ahead of what we resend. */
  TRY(natsOptions_SetReconnectBufSize(no, 1), "cannot set up the connection");
  TRY(natsOptions_SetFailRequestsOnDisconnect(no, true), "cannot set up the connection");
  TRY(natsOptions_SetPingInterval(no, 2000), "cannot set up the connection");
  TRY(natsOptions_SetMaxPingsOut(no, 3), "cannot set up the connection");
  TRY(natsOptions_SetName(no, "socktrace"), "cannot set up the connection");
  TRY(natsOptions_SetDisconnectedCB(no, on_disconnected, c), "cannot set up the connection");
  TRY(natsOptions_SetReconnectedCB(no, on_reconnected, c), "cannot set up the connection");
  TRY(natsOptions_SetClosedCB(no, on_closed, c), "cannot set up the connection");
  if (o->retry)
    TRY(natsOptions_SetRetryOnFailedConnect(no, true, on_reconnected, c),
        "cannot set up the connection");
  *out = no;
  return 0;
fail:
  natsOptions_Destroy(no);
  return ST_EINVAL;
}

int st_nats_connect(st_nats_conn *c, const st_nats_options *o, jsOptions *jo, char *err,
                    size_t errlen) {
  st_nats_url_mask(o->url, c->display, sizeof c->display);
  int rc = st_nats_url_parse(o->url, &c->url, err, errlen);
  if (rc < 0)
    return rc;
  natsOptions *no = NULL;
  if ((rc = make_options(c, o, &no, err, errlen)) < 0)
    return rc;
  natsStatus s = natsConnection_Connect(&c->nc, no);
  natsOptions_Destroy(no);
  bool later = s == NATS_NOT_YET_CONNECTED;
  if (s != NATS_OK && !later) {
    char words[400];
    st_nats_words(s, words, sizeof words);
    if (s == NATS_NO_SERVER)
      snprintf(
          err, errlen, "cannot connect to %s: no server answered (is nats-server running there?%s)",
          c->display, c->publisher ? " --nats-retry starts anyway and delivers when one does" : "");
    else
      snprintf(err, errlen, "cannot connect to %s: %s", c->display, words);
    c->nc = NULL;
    return s == NATS_NO_SERVER ? ST_ECONNREFUSED : ST_EIO;
  }
  s = natsConnection_JetStream(&c->js, c->nc, jo);
  if (s != NATS_OK) {
    snprintf(err, errlen, "%s: cannot use JetStream: %s", c->display, natsStatus_GetText(s));
    st_nats_close(c);
    return ST_ENOMEM;
  }
  return later ? 1 : 0;
}

/* The stream's own subjects must take ours, else publishing finds nobody. */
static bool subjects_cover(const jsStreamConfig *cfg, const char *prefix) {
  for (int i = 0; cfg && i < cfg->SubjectsLen; i++)
    if (st_nats_pattern_covers(cfg->Subjects[i], prefix))
      return true;
  return false;
}

static int create_stream(st_nats_conn *c, const st_nats_options *o, jsOptions *jo,
                         jsStreamInfo **si, char *err, size_t errlen) {
  const char *subjects[] = {ST_NATS_SUBJECT_ROOT ".>"};
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = c->url.stream;
  cfg.Description = "socktrace events: socktrace.<host>.<os>.<provider>.<id>";
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Retention = js_LimitsPolicy;
  cfg.Discard = js_DiscardOld;
  cfg.Storage = js_FileStorage;
  cfg.MaxAge = (int64_t)(o->max_age_ns ? o->max_age_ns : ST_NATS_DEFAULT_MAX_AGE_NS);
  cfg.MaxBytes = (int64_t)(o->max_bytes ? o->max_bytes : ST_NATS_DEFAULT_MAX_BYTES);
  cfg.Replicas = o->replicas ? o->replicas : 1;
  cfg.Duplicates = 120ll * 1000000000ll; /* resent messages are recognised for 2 minutes */
  jsErrCode jerr = 0;
  natsStatus s = js_AddStream(si, c->js, &cfg, jo, &jerr);
  if (s == NATS_OK)
    return 0;
  if (jerr == JSStreamNameExistErr) /* another publisher made it first */
    return js_GetStreamInfo(si, c->js, c->url.stream, jo, &jerr) == NATS_OK ? 0 : ST_EIO;
  char words[400];
  st_nats_words(s, words, sizeof words);
  if (jerr == JSStreamSubjectOverlapErr)
    snprintf(err, errlen,
             "%s: cannot create stream %s: another stream already takes the subjects "
             "socktrace.> (name that stream in the URL: nats://HOST:PORT/STREAM)",
             c->display, c->url.stream);
  else if (jerr == JSInsufficientResourcesErr || jerr == JSStreamReplicasNotSupportedErr)
    snprintf(err, errlen, "%s: cannot create stream %s with %u replica%s: %s", c->display,
             c->url.stream, (unsigned)cfg.Replicas, cfg.Replicas == 1 ? "" : "s", words);
  else
    snprintf(err, errlen, "%s: cannot create stream %s: %s", c->display, c->url.stream, words);
  return ST_EIO;
}

int st_nats_stream_check(st_nats_conn *c, const st_nats_options *o, const char *host_token,
                         bool create, unsigned wait_ms, uint64_t *last_seq, char *err,
                         size_t errlen) {
  jsStreamInfo *si = NULL;
  jsErrCode jerr = 0;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = wait_ms;
  natsStatus s = js_GetStreamInfo(&si, c->js, c->url.stream, &jo, &jerr);
  int rc = 0;
  char words[400];
  if (s == NATS_NOT_FOUND && jerr == JSStreamNotFoundErr && create) {
    rc = create_stream(c, o, &jo, &si, err, errlen);
  } else if (s == NATS_NOT_FOUND && jerr == JSStreamNotFoundErr) {
    snprintf(err, errlen,
             "%s: stream %s does not exist (hosts create it when they publish: socktrace trace "
             "-o %s)",
             c->display, c->url.stream, c->display);
    rc = ST_ENOENT;
  } else if (s == NATS_NO_RESPONDERS || jerr == JSNotEnabledErr ||
             jerr == JSNotEnabledForAccountErr) {
    snprintf(err, errlen,
             "%s: JetStream is not enabled there (start nats-server with -js, or enable it for "
             "this account)",
             c->display);
    rc = ST_ENOSYS;
  } else if (s != NATS_OK) {
    st_nats_words(s, words, sizeof words);
    snprintf(err, errlen, "%s: cannot look up stream %s: %s", c->display, c->url.stream, words);
    rc = s == NATS_TIMEOUT ? ST_ETIMEDOUT : ST_EIO;
  }
  if (rc == 0 && si) {
    char prefix[160];
    if (host_token)
      snprintf(prefix, sizeof prefix, ST_NATS_SUBJECT_ROOT ".%s", host_token);
    else
      snprintf(prefix, sizeof prefix, ST_NATS_SUBJECT_ROOT);
    if (create && !subjects_cover(si->Config, prefix)) {
      snprintf(err, errlen,
               "%s: stream %s does not take the subjects %s.> (add them to it, or name another "
               "stream)",
               c->display, c->url.stream, prefix);
      rc = ST_EINVAL;
    }
    if (last_seq)
      *last_seq = si->State.Msgs ? si->State.LastSeq : 0;
  }
  jsStreamInfo_Destroy(si);
  return rc;
}

static bool dup_into(const char **dst, const char *src) {
  *dst = src ? strdup(src) : NULL;
  return !src || *dst;
}

void st_nats_options_free(st_nats_options *o) {
  free((char *)o->url);
  free((char *)o->creds);
  free((char *)o->tls_ca);
  free((char *)o->tls_cert);
  free((char *)o->tls_key);
  o->url = o->creds = o->tls_ca = o->tls_cert = o->tls_key = NULL;
}

int st_nats_options_copy(st_nats_options *dst, const st_nats_options *src) {
  *dst = *src;
  dst->url = dst->creds = dst->tls_ca = dst->tls_cert = dst->tls_key = NULL;
  if (dup_into(&dst->url, src->url) && dup_into(&dst->creds, src->creds) &&
      dup_into(&dst->tls_ca, src->tls_ca) && dup_into(&dst->tls_cert, src->tls_cert) &&
      dup_into(&dst->tls_key, src->tls_key))
    return 0;
  st_nats_options_free(dst);
  return ST_ENOMEM;
}

void st_nats_close(st_nats_conn *c) {
  if (c->js)
    jsCtx_Destroy(c->js);
  c->js = NULL;
  if (c->nc) {
    natsConnection_Close(c->nc);
    /* The closed callback is queued after every other one of this
     * connection's: once it ran, nothing of ours is called again. */
    for (int i = 0; i < 100 && !atomic_load(&c->closed); i++)
      nats_Sleep(10);
    natsConnection_Destroy(c->nc);
  }
  c->nc = NULL;
}
