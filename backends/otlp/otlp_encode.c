/*
 * Events and metrics into OTLP protobuf (the generated code of otlp.proto,
 * packed by libprotobuf-c). A log record's attributes are the event's JSON
 * Lines fields with their JSON types, so a consumer sees what the JSONL
 * says; the body is the event's name. Metrics are cumulative since the
 * session's start: counters as monotonic Sums, latencies as Histograms in
 * seconds with the metrics sink's bounds.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "otlp.pb-c.h"
#include "otlp_encode.h"

typedef Socktrace__Otlp__KeyValue kv_t;
typedef Socktrace__Otlp__AnyValue any_t;

enum { SEV_DEBUG = 5, SEV_INFO = 9, SEV_WARN = 13, SEV_ERROR = 17, SEV_FATAL = 21 };
enum { CUMULATIVE = 2 };

/* Attributes and values are allocated in pairs: one block per attribute. */
typedef struct attr {
  kv_t kv;
  any_t v;
} attr;

static void attr_init(attr *a, const char *key) {
  socktrace__otlp__key_value__init(&a->kv);
  socktrace__otlp__any_value__init(&a->v);
  a->kv.key = (char *)key;
  a->kv.value = &a->v;
}

static void attr_string(attr *a, const char *key, const char *value) {
  attr_init(a, key);
  a->v.value_case = SOCKTRACE__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
  a->v.string_value = (char *)value;
}

/* One JSON value as an AnyValue: objects (an address) as key-value lists,
 * arrays as arrays. Nested values are allocated in *arena, a list the
 * caller frees; false when out of memory. */
typedef struct arena {
  void **blocks;
  size_t n, cap;
} arena;

static void *arena_alloc(arena *a, size_t size) {
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 16;
    void **b = realloc(a->blocks, cap * sizeof *b);
    if (!b)
      return NULL;
    a->blocks = b;
    a->cap = cap;
  }
  void *p = calloc(1, size ? size : 1);
  if (p)
    a->blocks[a->n++] = p;
  return p;
}

static void arena_free(arena *a) {
  for (size_t i = 0; i < a->n; i++)
    free(a->blocks[i]);
  free(a->blocks);
  memset(a, 0, sizeof *a);
}

static bool any_json(any_t *v, json_t *j, arena *ar);

static bool attr_json(attr *a, const char *key, json_t *v, arena *ar) {
  attr_init(a, key);
  return any_json(&a->v, v, ar);
}

static bool any_json(any_t *v, json_t *j, arena *ar) {
  switch (json_typeof(j)) {
  case JSON_STRING:
    v->value_case = SOCKTRACE__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (char *)json_string_value(j);
    return true;
  case JSON_INTEGER:
    v->value_case = SOCKTRACE__OTLP__ANY_VALUE__VALUE_INT_VALUE;
    v->int_value = json_integer_value(j);
    return true;
  case JSON_REAL:
    v->value_case = SOCKTRACE__OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE;
    v->double_value = json_real_value(j);
    return true;
  case JSON_TRUE:
  case JSON_FALSE:
    v->value_case = SOCKTRACE__OTLP__ANY_VALUE__VALUE_BOOL_VALUE;
    v->bool_value = json_is_true(j);
    return true;
  case JSON_OBJECT: {
    size_t n = json_object_size(j), i = 0;
    Socktrace__Otlp__KeyValueList *l = arena_alloc(ar, sizeof *l);
    attr *as = arena_alloc(ar, n * sizeof *as);
    kv_t **ps = arena_alloc(ar, n * sizeof *ps);
    if (!l || !as || !ps)
      return false;
    socktrace__otlp__key_value_list__init(l);
    const char *key;
    json_t *x;
    json_object_foreach(j, key, x) {
      if (!attr_json(&as[i], key, x, ar))
        return false;
      ps[i] = &as[i].kv;
      i++;
    }
    l->values = ps;
    l->n_values = n;
    v->value_case = SOCKTRACE__OTLP__ANY_VALUE__VALUE_KVLIST_VALUE;
    v->kvlist_value = l;
    return true;
  }
  case JSON_ARRAY: {
    size_t n = json_array_size(j), i;
    Socktrace__Otlp__ArrayValue *l = arena_alloc(ar, sizeof *l);
    any_t *vs = arena_alloc(ar, n * sizeof *vs);
    any_t **ps = arena_alloc(ar, n * sizeof *ps);
    if (!l || !vs || !ps)
      return false;
    socktrace__otlp__array_value__init(l);
    json_t *x;
    json_array_foreach(j, i, x) {
      socktrace__otlp__any_value__init(&vs[i]);
      if (!any_json(&vs[i], x, ar))
        return false;
      ps[i] = &vs[i];
    }
    l->values = ps;
    l->n_values = n;
    v->value_case = SOCKTRACE__OTLP__ANY_VALUE__VALUE_ARRAY_VALUE;
    v->array_value = l;
    return true;
  }
  default: /* null: the JSONL leaves such fields out */
    return true;
  }
}

typedef struct resource_block {
  Socktrace__Otlp__Resource res;
  Socktrace__Otlp__InstrumentationScope scope;
  attr attrs[3];
  kv_t *ptrs[3];
} resource_block;

static void resource(resource_block *b, const st_otlp_resource *r) {
  socktrace__otlp__resource__init(&b->res);
  socktrace__otlp__instrumentation_scope__init(&b->scope);
  b->scope.name = "socktrace";
  b->scope.version = ST_VERSION;
  attr_string(&b->attrs[0], "service.name", "socktrace");
  attr_string(&b->attrs[1], "host.name", r->host);
  attr_string(&b->attrs[2], "os.type", r->os);
  for (int i = 0; i < 3; i++)
    b->ptrs[i] = &b->attrs[i].kv;
  b->res.attributes = b->ptrs;
  b->res.n_attributes = 3;
}

/* The event's level (ETW's: 1 critical .. 5 verbose) as an OTLP severity;
 * a failure is at least WARN. */
static int severity(const st_event *ev, const char **text) {
  static const struct {
    int number;
    const char *text;
  } by_level[] = {{SEV_FATAL, "FATAL"}, {SEV_FATAL, "FATAL"}, {SEV_ERROR, "ERROR"},
                  {SEV_WARN, "WARN"},   {SEV_INFO, "INFO"},   {SEV_DEBUG, "DEBUG"}};
  unsigned level = ev->level <= 5 ? ev->level : 5;
  bool failed = (ev->has & ST_HAS_STATUS) && st_status_is_failure(ev->status.code);
  if (failed && by_level[level].number < SEV_WARN)
    level = 3;
  *text = by_level[level].text;
  return by_level[level].number;
}

typedef struct record {
  Socktrace__Otlp__LogRecord lr;
  any_t body;
  json_t *json;
  attr *attrs;
  kv_t **ptrs;
  arena nested;
} record;

static int record_init(record *r, const st_event *ev) {
  char buf[16384];
  int n = st_event_to_json(ev, buf, sizeof buf);
  if (n <= 0 || (size_t)n >= sizeof buf)
    return ST_EINVAL;
  r->json = json_loadb(buf, (size_t)n, 0, NULL);
  if (!r->json)
    return ST_EINVAL;
  size_t fields = json_object_size(r->json);
  r->attrs = calloc(fields ? fields : 1, sizeof *r->attrs);
  r->ptrs = calloc(fields ? fields : 1, sizeof *r->ptrs);
  if (!r->attrs || !r->ptrs)
    return ST_ENOMEM;
  socktrace__otlp__log_record__init(&r->lr);
  socktrace__otlp__any_value__init(&r->body);
  const char *key;
  json_t *v;
  size_t i = 0;
  json_object_foreach(r->json, key, v) {
    if (json_is_null(v))
      continue;
    if (!attr_json(&r->attrs[i], key, v, &r->nested))
      return ST_ENOMEM;
    r->ptrs[i] = &r->attrs[i].kv;
    i++;
  }
  r->lr.attributes = r->ptrs;
  r->lr.n_attributes = i;
  r->lr.time_unix_nano = ev->ts_ns;
  r->lr.observed_time_unix_nano = ev->ts_ns;
  const char *text;
  r->lr.severity_number = severity(ev, &text);
  r->lr.severity_text = (char *)text;
  r->body.value_case = SOCKTRACE__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
  /* The JSONL's name: the same words for an id this build has no name for. */
  const char *name = json_string_value(json_object_get(r->json, "name"));
  r->body.string_value = (char *)(name ? name : "");
  r->lr.body = &r->body;
  return 0;
}

static void record_free(record *r) {
  arena_free(&r->nested);
  json_decref(r->json);
  free(r->attrs);
  free(r->ptrs);
}

long st_otlp_encode_logs(const st_otlp_resource *r, const st_event *ev, size_t n, uint8_t **out) {
  resource_block rb;
  resource(&rb, r);
  record *recs = calloc(n ? n : 1, sizeof *recs);
  Socktrace__Otlp__LogRecord **lrs = calloc(n ? n : 1, sizeof *lrs);
  long rc = recs && lrs ? 0 : ST_ENOMEM;
  size_t used = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    int e = record_init(&recs[used], &ev[i]);
    if (e == ST_ENOMEM)
      rc = e;
    if (e == 0)
      lrs[used] = &recs[used].lr;
    if (e == 0 || e == ST_ENOMEM)
      used++; /* freed below either way */
  }
  if (rc == 0) {
    Socktrace__Otlp__ScopeLogs sl = SOCKTRACE__OTLP__SCOPE_LOGS__INIT;
    Socktrace__Otlp__ScopeLogs *slp = &sl;
    Socktrace__Otlp__ResourceLogs rl = SOCKTRACE__OTLP__RESOURCE_LOGS__INIT;
    Socktrace__Otlp__ResourceLogs *rlp = &rl;
    Socktrace__Otlp__ExportLogsServiceRequest req =
        SOCKTRACE__OTLP__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    sl.scope = &rb.scope;
    sl.log_records = lrs;
    sl.n_log_records = used - (rc != 0);
    rl.resource = &rb.res;
    rl.scope_logs = &slp;
    rl.n_scope_logs = 1;
    req.resource_logs = &rlp;
    req.n_resource_logs = 1;
    size_t len = socktrace__otlp__export_logs_service_request__get_packed_size(&req);
    if ((*out = malloc(len ? len : 1)))
      rc = (long)socktrace__otlp__export_logs_service_request__pack(&req, *out);
    else
      rc = ST_ENOMEM;
  }
  for (size_t i = 0; recs && i < used; i++)
    record_free(&recs[i]);
  free(recs);
  free(lrs);
  return rc;
}

/* ---- metrics ---- */

/* One metric (a family) and its points, grown as series come. */
typedef struct family {
  Socktrace__Otlp__Metric m;
  Socktrace__Otlp__Sum sum;
  Socktrace__Otlp__Histogram hist;
  char name[96];
} family;

typedef struct point {
  Socktrace__Otlp__NumberDataPoint num;
  Socktrace__Otlp__HistogramDataPoint hist;
  attr attrs[ST_METRICS_LABELS];
  kv_t *ptrs[ST_METRICS_LABELS];
  uint64_t counts[ST_METRICS_BUCKETS + 1];
  size_t fam; /* its family's index */
} point;

typedef struct metrics_doc {
  family *fams;
  size_t nfams;
  point **points;
  size_t npoints, cap;
  void ***lists; /* each family's data point array, freed at the end */
  uint64_t start_ns, now_ns;
  double bounds[ST_METRICS_BUCKETS];
  bool oom;
} metrics_doc;

static family *family_for(metrics_doc *d, const st_metrics_point *p) {
  if (d->nfams && strcmp(d->fams[d->nfams - 1].name, p->name) == 0)
    return &d->fams[d->nfams - 1];
  family *f = realloc(d->fams, (d->nfams + 1) * sizeof *f);
  if (!f)
    return NULL;
  d->fams = f;
  f = &d->fams[d->nfams++];
  memset(f, 0, sizeof *f);
  socktrace__otlp__metric__init(&f->m);
  snprintf(f->name, sizeof f->name, "%s", p->name);
  f->m.description = (char *)p->help;
  if (p->histogram) {
    socktrace__otlp__histogram__init(&f->hist);
    f->hist.aggregation_temporality = CUMULATIVE;
    f->m.data_case = SOCKTRACE__OTLP__METRIC__DATA_HISTOGRAM;
    f->m.unit = "s";
  } else {
    socktrace__otlp__sum__init(&f->sum);
    f->sum.aggregation_temporality = CUMULATIVE;
    f->sum.is_monotonic = true;
    f->m.data_case = SOCKTRACE__OTLP__METRIC__DATA_SUM;
    f->m.unit = strstr(p->name, "_bytes") ? "By" : "1";
  }
  return f;
}

static void add_point(void *arg, const st_metrics_point *p) {
  metrics_doc *d = arg;
  point *pt = d->oom ? NULL : calloc(1, sizeof *pt);
  if (!pt || d->npoints == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 64;
    point **a = pt ? realloc(d->points, cap * sizeof *a) : NULL;
    if (!a) {
      free(pt);
      d->oom = true;
      return;
    }
    d->points = a;
    d->cap = cap;
  }
  d->points[d->npoints++] = pt;
  if (!family_for(d, p)) {
    d->oom = true;
    return;
  }
  pt->fam = d->nfams - 1;
  size_t na = 0;
  for (int i = 0; i < ST_METRICS_LABELS; i++)
    if (p->label[i]) {
      attr_string(&pt->attrs[na], p->label[i], p->value[i]);
      pt->ptrs[na] = &pt->attrs[na].kv;
      na++;
    }
  if (p->histogram) {
    socktrace__otlp__histogram_data_point__init(&pt->hist);
    pt->hist.attributes = pt->ptrs;
    pt->hist.n_attributes = na;
    pt->hist.start_time_unix_nano = d->start_ns;
    pt->hist.time_unix_nano = d->now_ns;
    pt->hist.count = p->count;
    pt->hist.sum = (double)p->sum_ns / 1e9;
    /* OTLP's buckets are each their own count; the sink's are cumulative. */
    uint64_t below = 0;
    for (int i = 0; i < ST_METRICS_BUCKETS; i++) {
      pt->counts[i] = p->buckets[i] - below;
      below = p->buckets[i];
    }
    pt->counts[ST_METRICS_BUCKETS] = p->count - below;
    pt->hist.bucket_counts = pt->counts;
    pt->hist.n_bucket_counts = ST_METRICS_BUCKETS + 1;
    pt->hist.explicit_bounds = d->bounds;
    pt->hist.n_explicit_bounds = ST_METRICS_BUCKETS;
  } else {
    socktrace__otlp__number_data_point__init(&pt->num);
    pt->num.attributes = pt->ptrs;
    pt->num.n_attributes = na;
    pt->num.start_time_unix_nano = d->start_ns;
    pt->num.time_unix_nano = d->now_ns;
    pt->num.as_int = (int64_t)p->count;
  }
}

/* Gives each family its points (each point knows its family). */
static bool link_points(metrics_doc *d) {
  for (size_t f = 0; f < d->nfams; f++) {
    family *fam = &d->fams[f];
    size_t n = 0;
    for (size_t i = 0; i < d->npoints; i++)
      n += d->points[i]->fam == f;
    void **list = calloc(n ? n : 1, sizeof *list); /* the points' addresses */
    if (!list)
      return false;
    d->lists[f] = list;
    n = 0;
    for (size_t i = 0; i < d->npoints; i++)
      if (d->points[i]->fam == f)
        list[n++] = fam->m.data_case == SOCKTRACE__OTLP__METRIC__DATA_HISTOGRAM
                        ? (void *)&d->points[i]->hist
                        : (void *)&d->points[i]->num;
    if (fam->m.data_case == SOCKTRACE__OTLP__METRIC__DATA_HISTOGRAM) {
      fam->hist.data_points = (Socktrace__Otlp__HistogramDataPoint **)list;
      fam->hist.n_data_points = n;
      fam->m.histogram = &fam->hist;
    } else {
      fam->sum.data_points = (Socktrace__Otlp__NumberDataPoint **)list;
      fam->sum.n_data_points = n;
      fam->m.sum = &fam->sum;
    }
  }
  return true;
}

long st_otlp_encode_metrics(const st_otlp_resource *r, st_sink *metrics, uint64_t start_ns,
                            uint64_t now_ns, uint8_t **out) {
  metrics_doc d = {.start_ns = start_ns, .now_ns = now_ns};
  for (int i = 0; i < ST_METRICS_BUCKETS; i++)
    d.bounds[i] = (double)st_metrics_bounds_ns[i] / 1e9;
  st_metrics_each(metrics, add_point, &d);
  long rc = ST_ENOMEM;
  Socktrace__Otlp__Metric **ms = NULL;
  if (!d.oom && (d.lists = calloc(d.nfams ? d.nfams : 1, sizeof *d.lists)) &&
      (ms = calloc(d.nfams ? d.nfams : 1, sizeof *ms)) && link_points(&d)) {
    for (size_t f = 0; f < d.nfams; f++) {
      ms[f] = &d.fams[f].m;
      d.fams[f].m.name = d.fams[f].name; /* fams moved while it grew */
    }
    resource_block rb;
    resource(&rb, r);
    Socktrace__Otlp__ScopeMetrics sm = SOCKTRACE__OTLP__SCOPE_METRICS__INIT;
    Socktrace__Otlp__ScopeMetrics *smp = &sm;
    Socktrace__Otlp__ResourceMetrics rm = SOCKTRACE__OTLP__RESOURCE_METRICS__INIT;
    Socktrace__Otlp__ResourceMetrics *rmp = &rm;
    Socktrace__Otlp__ExportMetricsServiceRequest req =
        SOCKTRACE__OTLP__EXPORT_METRICS_SERVICE_REQUEST__INIT;
    sm.scope = &rb.scope;
    sm.metrics = ms;
    sm.n_metrics = d.nfams;
    rm.resource = &rb.res;
    rm.scope_metrics = &smp;
    rm.n_scope_metrics = 1;
    req.resource_metrics = &rmp;
    req.n_resource_metrics = 1;
    size_t len = socktrace__otlp__export_metrics_service_request__get_packed_size(&req);
    if ((*out = malloc(len ? len : 1)))
      rc = (long)socktrace__otlp__export_metrics_service_request__pack(&req, *out);
  }
  for (size_t f = 0; d.lists && f < d.nfams; f++)
    free(d.lists[f]);
  free(d.lists);
  free(ms);
  for (size_t i = 0; i < d.npoints; i++)
    free(d.points[i]);
  free(d.points);
  free(d.fams);
  return rc;
}
