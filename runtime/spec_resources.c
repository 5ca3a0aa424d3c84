/*
 * linux.resources: the cgroup limits of config.json, also the whole document of
 * `update --resources` (paths then start at "."). Only syntax and ranges are
 * checked here; whether the host's cgroup controllers accept a value is the
 * cgroup module's business.
 */
#include <inttypes.h>
#include <string.h>

#include "lib/util.h"
#include "runtime/spec.h"
#include "runtime/spec_internal.h"

/* ---- cpu and node lists ---- */

/* A decimal number of at most 7 digits (cpu and node numbers are far below),
 * which keeps range arithmetic free of overflow. */
static const char *list_number(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    int n = 0;
    while (*s >= '0' && *s <= '9') {
        if (++n > 7)
            return NULL;
        v = v * 10 + (uint32_t)(*s++ - '0');
    }
    if (n == 0)
        return NULL;
    *out = v;
    return s;
}

/* The kernel's bitmap list format (bitmap_parselist): "N", "N-M" and
 * "N-M:used/group", comma separated. */
bool cpu_list_valid(const char *s)
{
    if (str_empty(s))
        return false;
    for (;;) {
        uint32_t lo, hi, used, group;
        if (!(s = list_number(s, &lo)))
            return false;
        if (*s == '-') {
            if (!(s = list_number(s + 1, &hi)) || hi < lo)
                return false;
            if (*s == ':') {
                if (!(s = list_number(s + 1, &used)) || *s != '/' ||
                    !(s = list_number(s + 1, &group)) || used == 0 || group == 0 || used > group)
                    return false;
            }
        }
        if (*s == '\0')
            return true;
        if (*s++ != ',')
            return false;
    }
}

/* ---- small readers ---- */

/* A cpu or node list; "" counts as unset (Go cannot tell it from absent). */
int spec_opt_cpu_list(const struct jctx *c, const struct json *o, const struct jpath *p,
                      const char *key, char **out)
{
    char *s = NULL;
    int r = jo_string(c, o, p, key, &s);
    if (r <= 0 || !*s)
        return r;
    if (!cpu_list_valid(s))
        return json_error(c, JP_KEY(p, key),
                          "invalid list \"%s\": expected numbers and ranges such as \"0-3,7\"", s);
    *out = s;
    return 1;
}

/* ---- devices ---- */

static int parse_device_rule(const struct jctx *c, const struct json *v, const struct jpath *p,
                             struct spec_device_rule *d)
{
    struct json *allow;
    char *type = NULL, *access = NULL;
    struct opt_i64 major = {-1, false}, minor = {-1, false};
    int r;

    if ((r = jv_object(c, v, p)) < 0 || (r = jo_require(c, v, p, "allow", &allow)) < 0 ||
        (r = jv_bool(c, allow, JP_KEY(p, "allow"), &d->allow)) < 0 ||
        (r = jo_string(c, v, p, "type", &type)) < 0 ||
        (r = jo_opt_i64_range(c, v, p, "major", -1, INT64_MAX, &major)) < 0 ||
        (r = jo_opt_i64_range(c, v, p, "minor", -1, INT64_MAX, &minor)) < 0 ||
        (r = jo_string(c, v, p, "access", &access)) < 0)
        return r;

    d->type = 'a';
    if (!str_empty(type)) {
        if (strlen(type) != 1 || !strchr("abc", type[0]))
            return json_error(c, JP_KEY(p, "type"),
                              "unknown device type \"%s\" (expected \"a\", \"b\" or \"c\")", type);
        d->type = type[0];
    }
    d->major = major.v;
    d->minor = minor.v;

    /* kept in canonical order so the cgroup module can compare rules as strings */
    bool want[3] = {true, true, true};
    if (!str_empty(access)) {
        want[0] = want[1] = want[2] = false;
        for (const char *a = access; *a; a++) {
            const char *at = strchr("rwm", *a);
            if (!at)
                return json_error(c, JP_KEY(p, "access"),
                                  "invalid access \"%s\": expected a combination of r, w and m",
                                  access);
            want[at - "rwm"] = true;
        }
    }
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        if (want[i])
            d->access[n++] = "rwm"[i];
    d->access[n] = '\0';
    return 0;
}

static int parse_devices(const struct jctx *c, const struct json *a, const struct jpath *p,
                         struct spec_resources *out)
{
    out->devices = arena_alloc_array(c->arena, a->n, sizeof(*out->devices));
    for (size_t i = 0; i < a->n; i++) {
        int r = parse_device_rule(c, a->items[i], JP_IDX(p, i), &out->devices[i]);
        if (r < 0)
            return r;
    }
    out->n_devices = a->n;
    return 0;
}

/* ---- memory, cpu, pids ---- */

static int parse_memory(const struct jctx *c, const struct json *o, const struct jpath *p,
                        struct spec_memory *m)
{
    int r;
    /* -1 means unlimited; anything below is a mistake */
    if ((r = jo_opt_i64_range(c, o, p, "limit", -1, INT64_MAX, &m->limit)) < 0 ||
        (r = jo_opt_i64_range(c, o, p, "reservation", -1, INT64_MAX, &m->reservation)) < 0 ||
        (r = jo_opt_i64_range(c, o, p, "swap", -1, INT64_MAX, &m->swap)) < 0 ||
        (r = jo_opt_i64_range(c, o, p, "kernel", -1, INT64_MAX, &m->kernel)) < 0 ||
        (r = jo_opt_i64_range(c, o, p, "kernelTCP", -1, INT64_MAX, &m->kernel_tcp)) < 0 ||
        (r = jo_opt_u64_max(c, o, p, "swappiness", 100, &m->swappiness)) < 0 ||
        (r = jo_opt_bool(c, o, p, "disableOOMKiller", &m->disable_oom_killer)) < 0 ||
        (r = jo_opt_bool(c, o, p, "useHierarchy", &m->use_hierarchy)) < 0 ||
        (r = jo_opt_bool(c, o, p, "checkBeforeUpdate", &m->check_before_update)) < 0)
        return r;
    return 0;
}

static int parse_cpu(const struct jctx *c, const struct json *o, const struct jpath *p,
                     struct spec_cpu *cpu)
{
    int r;
    if ((r = jo_opt_u64(c, o, p, "shares", &cpu->shares)) < 0 ||
        (r = jo_opt_i64(c, o, p, "quota", &cpu->quota)) < 0 ||
        (r = jo_opt_u64(c, o, p, "burst", &cpu->burst)) < 0 ||
        (r = jo_opt_u64(c, o, p, "period", &cpu->period)) < 0 ||
        (r = jo_opt_i64(c, o, p, "realtimeRuntime", &cpu->realtime_runtime)) < 0 ||
        (r = jo_opt_u64(c, o, p, "realtimePeriod", &cpu->realtime_period)) < 0 ||
        (r = spec_opt_cpu_list(c, o, p, "cpus", &cpu->cpus)) < 0 ||
        (r = spec_opt_cpu_list(c, o, p, "mems", &cpu->mems)) < 0 ||
        (r = jo_opt_i64_range(c, o, p, "idle", 0, 1, &cpu->idle)) < 0)
        return r;
    if (cpu->burst.set && cpu->quota.set && cpu->quota.v > 0 &&
        cpu->burst.v > (uint64_t)cpu->quota.v)
        return json_error(c, JP_KEY(p, "burst"), "burst %" PRIu64 " exceeds quota %" PRId64,
                          cpu->burst.v, cpu->quota.v);
    return 0;
}

/* ---- block IO ---- */

static int parse_weight_devices(const struct jctx *c, const struct json *a, const struct jpath *p,
                                struct spec_block_io *b)
{
    b->weight_devices = arena_alloc_array(c->arena, a->n, sizeof(*b->weight_devices));
    for (size_t i = 0; i < a->n; i++) {
        const struct json *v = a->items[i];
        const struct jpath *ip = JP_IDX(p, i);
        struct spec_weight_device *d = &b->weight_devices[i];
        int r;
        if ((r = jv_object(c, v, ip)) < 0 ||
            (r = jo_req_int(c, v, ip, "major", 0, INT64_MAX, &d->major)) < 0 ||
            (r = jo_req_int(c, v, ip, "minor", 0, INT64_MAX, &d->minor)) < 0 ||
            (r = jo_opt_u32_max(c, v, ip, "weight", UINT16_MAX, &d->weight)) < 0 ||
            (r = jo_opt_u32_max(c, v, ip, "leafWeight", UINT16_MAX, &d->leaf_weight)) < 0)
            return r;
        if (!d->weight.set && !d->leaf_weight.set)
            return json_error(c, ip, "needs weight or leafWeight (or both)");
    }
    b->n_weight_devices = a->n;
    return 0;
}

static int parse_throttle(const struct jctx *c, const struct json *a, const struct jpath *p,
                          struct spec_throttle_device **out, size_t *n)
{
    struct spec_throttle_device *t = arena_alloc_array(c->arena, a->n, sizeof(*t));
    for (size_t i = 0; i < a->n; i++) {
        const struct json *v = a->items[i];
        const struct jpath *ip = JP_IDX(p, i);
        int r;
        if ((r = jv_object(c, v, ip)) < 0 ||
            (r = jo_req_int(c, v, ip, "major", 0, INT64_MAX, &t[i].major)) < 0 ||
            (r = jo_req_int(c, v, ip, "minor", 0, INT64_MAX, &t[i].minor)) < 0 ||
            (r = jo_req_uint(c, v, ip, "rate", UINT64_MAX, &t[i].rate)) < 0)
            return r;
    }
    *out = t;
    *n = a->n;
    return 0;
}

static const char *const throttle_keys[THROTTLE__COUNT] = {
        [THROTTLE_READ_BPS] = "throttleReadBpsDevice",
        [THROTTLE_WRITE_BPS] = "throttleWriteBpsDevice",
        [THROTTLE_READ_IOPS] = "throttleReadIOPSDevice",
        [THROTTLE_WRITE_IOPS] = "throttleWriteIOPSDevice",
};

static int parse_block_io(const struct jctx *c, const struct json *o, const struct jpath *p,
                          struct spec_block_io *b)
{
    struct json *a;
    int r;
    if ((r = jo_opt_u32_max(c, o, p, "weight", UINT16_MAX, &b->weight)) < 0 ||
        (r = jo_opt_u32_max(c, o, p, "leafWeight", UINT16_MAX, &b->leaf_weight)) < 0)
        return r;
    if ((r = jo_array(c, o, p, "weightDevice", &a)) < 0)
        return r;
    if (r > 0 && (r = parse_weight_devices(c, a, JP_KEY(p, "weightDevice"), b)) < 0)
        return r;
    for (int k = 0; k < THROTTLE__COUNT; k++) {
        if ((r = jo_array(c, o, p, throttle_keys[k], &a)) < 0)
            return r;
        if (r > 0 && (r = parse_throttle(c, a, JP_KEY(p, throttle_keys[k]), &b->throttle[k],
                                         &b->n_throttle[k])) < 0)
            return r;
    }
    return 0;
}

/* ---- hugetlb, network, rdma, unified ---- */

/* "<size><unit>B" as the hugetlb controller names its files: 64KB, 2MB, 1GB. */
static bool page_size_valid(const char *s)
{
    if (*s < '1' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9')
        s++;
    return s[0] && strchr("KMGTP", s[0]) && s[1] == 'B' && s[2] == '\0';
}

static int parse_hugepages(const struct jctx *c, const struct json *a, const struct jpath *p,
                           struct spec_resources *out)
{
    out->hugepage_limits = arena_alloc_array(c->arena, a->n, sizeof(*out->hugepage_limits));
    for (size_t i = 0; i < a->n; i++) {
        const struct json *v = a->items[i];
        const struct jpath *ip = JP_IDX(p, i);
        struct spec_hugepage_limit *h = &out->hugepage_limits[i];
        struct json *ps;
        int r;
        if ((r = jv_object(c, v, ip)) < 0 || (r = jo_require(c, v, ip, "pageSize", &ps)) < 0 ||
            (r = jv_string(c, ps, JP_KEY(ip, "pageSize"), &h->page_size)) < 0 ||
            (r = jo_req_uint(c, v, ip, "limit", UINT64_MAX, &h->limit)) < 0)
            return r;
        if (!page_size_valid(h->page_size))
            return json_error(c, JP_KEY(ip, "pageSize"),
                              "invalid page size \"%s\": expected <size><unit>B such as 2MB or 1GB",
                              h->page_size);
    }
    out->n_hugepage_limits = a->n;
    return 0;
}

static int parse_network(const struct jctx *c, const struct json *o, const struct jpath *p,
                         struct spec_resources *out)
{
    struct json *a;
    int r;
    if ((r = jo_opt_u32(c, o, p, "classID", &out->net_class_id)) < 0 ||
        (r = jo_array(c, o, p, "priorities", &a)) < 0)
        return r;
    if (r == 0)
        return 0;
    const struct jpath *ap = JP_KEY(p, "priorities");
    out->net_priorities = arena_alloc_array(c->arena, a->n, sizeof(*out->net_priorities));
    for (size_t i = 0; i < a->n; i++) {
        const struct json *v = a->items[i];
        const struct jpath *ip = JP_IDX(ap, i);
        struct spec_net_priority *np = &out->net_priorities[i];
        struct json *name;
        uint64_t prio;
        if ((r = jv_object(c, v, ip)) < 0 || (r = jo_require(c, v, ip, "name", &name)) < 0 ||
            (r = jv_string(c, name, JP_KEY(ip, "name"), &np->name)) < 0 ||
            (r = jo_req_uint(c, v, ip, "priority", UINT32_MAX, &prio)) < 0)
            return r;
        if (!*np->name)
            return json_error(c, JP_KEY(ip, "name"), "must not be empty");
        np->priority = (uint32_t)prio;
    }
    out->n_net_priorities = a->n;
    return 0;
}

struct member {
    const char *key;
    const struct json *value;
    size_t order;
};

static int member_cmp(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int parse_rdma(const struct jctx *c, const struct json *o, const struct jpath *p,
                      struct spec_resources *out)
{
    /* sorted, and a repeated device keeps its last entry (as json_get does):
     * O(n log n) however many devices a document lists */
    _cleanup_free_ struct member *m = xcalloc(o->n, sizeof(*m));
    size_t k = 0;
    for (size_t i = 0; i < o->n; i++)
        if (o->object.values[i]->type != JSON_NULL)
            m[k++] = (struct member){o->object.keys[i], o->object.values[i], i};
    qsort(m, k, sizeof(*m), member_cmp);

    out->rdma = arena_alloc_array(c->arena, k, sizeof(*out->rdma));
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        if (i + 1 < k && streq(m[i].key, m[i + 1].key))
            continue;
        const struct jpath *ip = JP_KEY(p, m[i].key);
        struct spec_rdma_limit *l = &out->rdma[n];
        int r;
        if (!*m[i].key)
            return json_error(c, ip, "empty device name");
        if ((r = jv_object(c, m[i].value, ip)) < 0 ||
            (r = jo_opt_u32(c, m[i].value, ip, "hcaHandles", &l->hca_handles)) < 0 ||
            (r = jo_opt_u32(c, m[i].value, ip, "hcaObjects", &l->hca_objects)) < 0)
            return r;
        if (!l->hca_handles.set && !l->hca_objects.set)
            return json_error(c, ip, "needs hcaHandles or hcaObjects (or both)");
        l->device = (char *)m[i].key;
        n++;
    }
    out->n_rdma = n;
    return 0;
}

static int parse_unified(const struct jctx *c, const struct json *o, const struct jpath *p,
                         struct spec_resources *out)
{
    int r = jv_strmap(c, o, p, &out->unified, &out->n_unified);
    if (r < 0)
        return r;
    for (size_t i = 0; i < out->n_unified; i++) {
        const char *k = out->unified[i].key;
        /* each key names a file in the container's own cgroup directory */
        if (!*k || strchr(k, '/') || streq(k, ".") || streq(k, ".."))
            return json_error(
                    c, JP_KEY(p, k),
                    "invalid cgroup file name: expected a plain file name such as \"memory.max\"");
    }
    return 0;
}

/* ---- all of it ---- */

int spec_parse_resources(const struct jctx *c, const struct json *v, const struct jpath *p,
                         struct spec_resources *out)
{
    struct json *o;
    int r;

    memset(out, 0, sizeof(*out));
    if ((r = jv_object(c, v, p)) < 0)
        return r;

    if ((r = jo_array(c, v, p, "devices", &o)) < 0 ||
        (r > 0 && (r = parse_devices(c, o, JP_KEY(p, "devices"), out)) < 0))
        return r;

    if ((r = jo_object(c, v, p, "memory", &o)) < 0)
        return r;
    if (r > 0) {
        out->has_memory = true;
        if ((r = parse_memory(c, o, JP_KEY(p, "memory"), &out->memory)) < 0)
            return r;
    }

    if ((r = jo_object(c, v, p, "cpu", &o)) < 0)
        return r;
    if (r > 0) {
        out->has_cpu = true;
        if ((r = parse_cpu(c, o, JP_KEY(p, "cpu"), &out->cpu)) < 0)
            return r;
    }

    if ((r = jo_object(c, v, p, "pids", &o)) < 0)
        return r;
    if (r > 0) {
        if ((r = jo_req_int(c, o, JP_KEY(p, "pids"), "limit", INT64_MIN, INT64_MAX,
                            &out->pids.limit)) < 0)
            return r;
        out->pids.set = true;
    }

    if ((r = jo_object(c, v, p, "blockIO", &o)) < 0)
        return r;
    if (r > 0) {
        out->has_block_io = true;
        if ((r = parse_block_io(c, o, JP_KEY(p, "blockIO"), &out->block_io)) < 0)
            return r;
    }

    if ((r = jo_array(c, v, p, "hugepageLimits", &o)) < 0 ||
        (r > 0 && (r = parse_hugepages(c, o, JP_KEY(p, "hugepageLimits"), out)) < 0))
        return r;
    if ((r = jo_object(c, v, p, "network", &o)) < 0 ||
        (r > 0 && (r = parse_network(c, o, JP_KEY(p, "network"), out)) < 0))
        return r;
    if ((r = jo_object(c, v, p, "rdma", &o)) < 0 ||
        (r > 0 && (r = parse_rdma(c, o, JP_KEY(p, "rdma"), out)) < 0))
        return r;
    if ((r = jo_object(c, v, p, "unified", &o)) < 0 ||
        (r > 0 && (r = parse_unified(c, o, JP_KEY(p, "unified"), out)) < 0))
        return r;
    return 0;
}
