/*
 * Resource statistics from whichever hierarchy carries each controller, and
 * their JSON form: the "data" object of runc's `events --stats` (runc's
 * types/events.go), field names, order and omitempty rules included.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "lib/err.h"
#include "lib/util.h"

int cg_keyed_u64(const char *text, const char *key, uint64_t *out)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *end = strchrnul(line, '\n');
        if ((size_t)(end - line) > klen && strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            char num[32];
            snprintf(num, sizeof(num), "%.*s", (int)(end - line - (long)klen - 1), line + klen + 1);
            if (streq(num, "max")) {
                *out = UINT64_MAX;
                return 0;
            }
            return parse_u64(num, out) < 0 ? -EBADMSG : 0;
        }
        line = *end ? end + 1 : NULL;
    }
    return -ENOENT;
}

/* Read a file into *out; a missing file is not an error here (0 with *out NULL). */
static int read_opt(const struct cg_hier *h, const char *file, char **out)
{
    *out = NULL;
    int r = cg_read(h, file, out);
    if (r == -ENOENT) {
        *out = NULL;
        return 0;
    }
    return r;
}

static int read_u64_opt(const struct cg_hier *h, const char *file, uint64_t *out)
{
    int r = cg_read_u64(h, file, out);
    return r == -ENOENT ? 0 : r;
}

static int keyed_opt(const struct cg_hier *h, const char *file, const char *const *keys,
                     uint64_t *const *outs, size_t n, uint64_t scale)
{
    _cleanup_free_ char *text = NULL;
    int r = read_opt(h, file, &text);
    if (r < 0 || !text)
        return r;
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        if (cg_keyed_u64(text, keys[i], &v) == 0)
            *outs[i] = v == UINT64_MAX ? v : v * scale;
    }
    return 0;
}

static const struct cg_hier *v1_hier(const struct cgroup *cg, enum cg_ctrl c)
{
    for (size_t i = 0; i < cg->n_h; i++)
        if (!cg->h[i].unified && (cg->h[i].ctrls & CG_BIT(c)))
            return &cg->h[i];
    return NULL;
}

static int stats_cpu(const struct cgroup *cg, struct cgroup_stats *st)
{
    const struct cg_hier *acct = v1_hier(cg, CG_CPUACCT);
    const struct cg_hier *u = cg_unified(cg);
    int r;
    if (acct) {
        r = read_u64_opt(acct, "cpuacct.usage", &st->cpu_total);
        if (r < 0)
            return r;
        _cleanup_free_ char *percpu = NULL;
        r = read_opt(acct, "cpuacct.usage_percpu", &percpu);
        if (r < 0)
            return r;
        if (percpu) {
            char *save = NULL;
            for (char *t = strtok_r(percpu, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
                uint64_t v;
                if (parse_u64(t, &v) < 0)
                    continue;
                st->percpu = xreallocarray(st->percpu, st->n_percpu + 1, sizeof(uint64_t));
                st->percpu[st->n_percpu++] = v;
            }
        }
        if (cg_has_file(acct, "cpuacct.usage_user")) {
            r = read_u64_opt(acct, "cpuacct.usage_user", &st->cpu_user);
            if (r >= 0)
                r = read_u64_opt(acct, "cpuacct.usage_sys", &st->cpu_kernel);
        } else {
            /* older kernels: cpuacct.stat in USER_HZ ticks */
            long hz = sysconf(_SC_CLK_TCK);
            uint64_t scale = hz > 0 ? 1000000000ull / (uint64_t)hz : 10000000ull;
            r = keyed_opt(acct, "cpuacct.stat", (const char *const[]){"user", "system"},
                          (uint64_t *const[]){&st->cpu_user, &st->cpu_kernel}, 2, scale);
        }
        if (r < 0)
            return r;
    } else if (u) {
        /* cgroup2 has cpu.stat's usage fields in every cgroup, controller or not */
        r = keyed_opt(u, "cpu.stat",
                      (const char *const[]){"usage_usec", "user_usec", "system_usec"},
                      (uint64_t *const[]){&st->cpu_total, &st->cpu_user, &st->cpu_kernel}, 3, 1000);
        if (r < 0)
            return r;
    }
    const struct cg_hier *cpu = cg_locate(cg, CG_CPU);
    if (cpu && !cpu->unified)
        return keyed_opt(cpu, "cpu.stat",
                         (const char *const[]){"nr_periods", "nr_throttled", "throttled_time"},
                         (uint64_t *const[]){&st->throttle_periods, &st->throttled_periods,
                                             &st->throttled_time},
                         3, 1);
    if (cpu) {
        r = keyed_opt(cpu, "cpu.stat", (const char *const[]){"nr_periods", "nr_throttled"},
                      (uint64_t *const[]){&st->throttle_periods, &st->throttled_periods}, 2, 1);
        if (r >= 0)
            r = keyed_opt(cpu, "cpu.stat", (const char *const[]){"throttled_usec"},
                          (uint64_t *const[]){&st->throttled_time}, 1, 1000);
        return r;
    }
    return 0;
}

static int stats_memory_raw(const struct cg_hier *h, struct cgroup_stats *st)
{
    _cleanup_free_ char *text = NULL;
    int r = read_opt(h, "memory.stat", &text);
    if (r < 0 || !text)
        return r;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp = '\0';
        st->mem_raw = xreallocarray(st->mem_raw, st->n_mem_raw + 1, sizeof(*st->mem_raw));
        st->mem_raw[st->n_mem_raw].key = xstrdup(line);
        st->mem_raw[st->n_mem_raw].value = xstrdup(sp + 1);
        st->n_mem_raw++;
    }
    return 0;
}

static int stats_memory(const struct cgroup *cg, struct cgroup_stats *st)
{
    const struct cg_hier *h = cg_locate(cg, CG_MEMORY);
    int r;
    if (!h)
        return 0;
    if (h->unified) {
        uint64_t swap_cur = 0, swap_max = 0, swap_peak = 0;
        bool have_swap = cg_has_file(h, "memory.swap.current");
        if ((r = read_u64_opt(h, "memory.current", &st->mem_usage)) < 0 ||
            (r = read_u64_opt(h, "memory.max", &st->mem_limit)) < 0 ||
            (r = read_u64_opt(h, "memory.peak", &st->mem_max)) < 0 ||
            (r = keyed_opt(h, "memory.events", (const char *const[]){"max", "oom_kill"},
                           (uint64_t *const[]){&st->mem_failcnt, &st->oom_kill}, 2, 1)) < 0)
            return r;
        if (have_swap) {
            if ((r = read_u64_opt(h, "memory.swap.current", &swap_cur)) < 0 ||
                (r = read_u64_opt(h, "memory.swap.max", &swap_max)) < 0 ||
                (r = read_u64_opt(h, "memory.swap.peak", &swap_peak)) < 0 ||
                (r = keyed_opt(h, "memory.swap.events", (const char *const[]){"max"},
                               (uint64_t *const[]){&st->swap_failcnt}, 1, 1)) < 0)
                return r;
            /* runc reports v1's memory+swap view on v2 too: add memory to swap */
            st->swap_usage = swap_cur + st->mem_usage;
            st->swap_limit = (swap_max == UINT64_MAX || st->mem_limit == UINT64_MAX)
                                     ? UINT64_MAX
                                     : swap_max + st->mem_limit;
            st->swap_max = swap_peak && st->mem_max ? swap_peak + st->mem_max : 0;
        }
    } else {
        if ((r = read_u64_opt(h, "memory.usage_in_bytes", &st->mem_usage)) < 0 ||
            (r = read_u64_opt(h, "memory.limit_in_bytes", &st->mem_limit)) < 0 ||
            (r = read_u64_opt(h, "memory.max_usage_in_bytes", &st->mem_max)) < 0 ||
            (r = read_u64_opt(h, "memory.failcnt", &st->mem_failcnt)) < 0 ||
            (r = read_u64_opt(h, "memory.memsw.usage_in_bytes", &st->swap_usage)) < 0 ||
            (r = read_u64_opt(h, "memory.memsw.limit_in_bytes", &st->swap_limit)) < 0 ||
            (r = read_u64_opt(h, "memory.memsw.max_usage_in_bytes", &st->swap_max)) < 0 ||
            (r = read_u64_opt(h, "memory.memsw.failcnt", &st->swap_failcnt)) < 0 ||
            (r = keyed_opt(h, "memory.oom_control", (const char *const[]){"oom_kill"},
                           (uint64_t *const[]){&st->oom_kill}, 1, 1)) < 0)
            return r;
    }
    return stats_memory_raw(h, st);
}

static int stats_pids(const struct cgroup *cg, struct cgroup_stats *st)
{
    const struct cg_hier *h = cg_locate(cg, CG_PIDS);
    if (!h)
        return 0;
    int r = read_u64_opt(h, "pids.current", &st->pids_current);
    if (r >= 0)
        r = read_u64_opt(h, "pids.max", &st->pids_limit);
    if (st->pids_limit == UINT64_MAX)
        st->pids_limit = 0;
    return r;
}

static void blkio_add(struct cgroup_blkio_entry **v, size_t *n, uint64_t major, uint64_t minor,
                      const char *op, uint64_t value)
{
    *v = xreallocarray(*v, *n + 1, sizeof(**v));
    struct cgroup_blkio_entry *e = &(*v)[(*n)++];
    e->major = major;
    e->minor = minor;
    snprintf(e->op, sizeof(e->op), "%s", op);
    e->value = value;
}

/* v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6" per device. */
static void parse_io_stat(char *text, struct cgroup_stats *st)
{
    static const struct {
        const char *key, *op;
        bool ios;
    } map[] = {{"rbytes", "Read", false}, {"wbytes", "Write", false}, {"dbytes", "Discard", false},
               {"rios", "Read", true},    {"wios", "Write", true},    {"dios", "Discard", true}};
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned long long maj, min;
        int off = 0;
        if (sscanf(line, "%llu:%llu%n", &maj, &min, &off) != 2)
            continue;
        char *s2 = NULL;
        for (char *t = strtok_r(line + off, " ", &s2); t; t = strtok_r(NULL, " ", &s2)) {
            char *eq = strchr(t, '=');
            uint64_t v;
            if (!eq)
                continue;
            *eq = '\0';
            if (parse_u64(eq + 1, &v) < 0)
                continue;
            for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
                if (!streq(t, map[i].key))
                    continue;
                if (map[i].ios)
                    blkio_add(&st->blkio_ios, &st->n_blkio_ios, maj, min, map[i].op, v);
                else
                    blkio_add(&st->blkio_bytes, &st->n_blkio_bytes, maj, min, map[i].op, v);
            }
        }
    }
}

/* v1 blkio.*_recursive: "8:0 Read 123" lines, then "Total 456". */
static size_t parse_blkio_v1(char *text, struct cgroup_blkio_entry **v, size_t *n)
{
    size_t before = *n;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned long long maj, min, val;
        char op[16];
        if (sscanf(line, "%llu:%llu %15s %llu", &maj, &min, op, &val) == 4)
            blkio_add(v, n, maj, min, op, val);
    }
    return *n - before;
}

static int blkio_v1_first(const struct cg_hier *h, const char *const *files, size_t n_files,
                          struct cgroup_blkio_entry **v, size_t *n)
{
    /* CFQ's files, then BFQ's, then the throttle layer's, which counts on every device */
    for (size_t i = 0; i < n_files; i++) {
        _cleanup_free_ char *text = NULL;
        int r = read_opt(h, files[i], &text);
        if (r < 0)
            return r;
        if (text && parse_blkio_v1(text, v, n) > 0)
            return 0;
    }
    return 0;
}

static int stats_blkio(const struct cgroup *cg, struct cgroup_stats *st)
{
    const struct cg_hier *h = cg_locate(cg, CG_BLKIO);
    if (!h)
        return 0;
    if (h->unified) {
        _cleanup_free_ char *text = NULL;
        int r = read_opt(h, "io.stat", &text);
        if (r < 0 || !text)
            return r;
        parse_io_stat(text, st);
        return 0;
    }
    static const char *const bytes[] = {"blkio.io_service_bytes_recursive",
                                        "blkio.bfq.io_service_bytes_recursive",
                                        "blkio.throttle.io_service_bytes_recursive"};
    static const char *const ios[] = {"blkio.io_serviced_recursive",
                                      "blkio.bfq.io_serviced_recursive",
                                      "blkio.throttle.io_serviced_recursive"};
    int r = blkio_v1_first(h, bytes, ARRAY_SIZE(bytes), &st->blkio_bytes, &st->n_blkio_bytes);
    if (r >= 0)
        r = blkio_v1_first(h, ios, ARRAY_SIZE(ios), &st->blkio_ios, &st->n_blkio_ios);
    return r;
}

static int stats_hugetlb(const struct cgroup *cg, struct cgroup_stats *st)
{
    const struct cg_hier *h = cg_locate(cg, CG_HUGETLB);
    if (!h)
        return 0;
    _cleanup_closedir_ DIR *d = opendir("/sys/kernel/mm/hugepages");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char num[32], size[16], f_usage[64], f_max[64], f_fail[64];
        uint64_t kb;
        if (sscanf(e->d_name, "hugepages-%31[0-9]kB", num) != 1 || parse_u64(num, &kb) < 0)
            continue;
        cg_hugepage_size_name(kb, size, sizeof(size));
        struct cgroup_hugetlb_entry ent = {0};
        snprintf(ent.page_size, sizeof(ent.page_size), "%s", size);
        int r;
        if (h->unified) {
            snprintf(f_usage, sizeof(f_usage), "hugetlb.%s.current", size);
            snprintf(f_fail, sizeof(f_fail), "hugetlb.%s.events", size);
            if (!cg_has_file(h, f_usage))
                continue;
            r = read_u64_opt(h, f_usage, &ent.usage);
            if (r >= 0)
                r = keyed_opt(h, f_fail, (const char *const[]){"max"},
                              (uint64_t *const[]){&ent.failcnt}, 1, 1);
        } else {
            snprintf(f_usage, sizeof(f_usage), "hugetlb.%s.usage_in_bytes", size);
            snprintf(f_max, sizeof(f_max), "hugetlb.%s.max_usage_in_bytes", size);
            snprintf(f_fail, sizeof(f_fail), "hugetlb.%s.failcnt", size);
            if (!cg_has_file(h, f_usage))
                continue;
            r = read_u64_opt(h, f_usage, &ent.usage);
            if (r >= 0)
                r = read_u64_opt(h, f_max, &ent.max);
            if (r >= 0)
                r = read_u64_opt(h, f_fail, &ent.failcnt);
        }
        if (r < 0)
            return r;
        st->hugetlb = xreallocarray(st->hugetlb, st->n_hugetlb + 1, sizeof(*st->hugetlb));
        st->hugetlb[st->n_hugetlb++] = ent;
    }
    return 0;
}

int cgroup_stats(const struct cgroup *cg, struct cgroup_stats *out)
{
    memset(out, 0, sizeof(*out));
    int r = stats_cpu(cg, out);
    if (r >= 0)
        r = stats_memory(cg, out);
    if (r >= 0)
        r = stats_pids(cg, out);
    if (r >= 0)
        r = stats_blkio(cg, out);
    if (r >= 0)
        r = stats_hugetlb(cg, out);
    if (r < 0) {
        cgroup_stats_free(out);
        return err_prefix(r, "cgroup: statistics of %s", cg->path);
    }
    return 0;
}

void cgroup_stats_free(struct cgroup_stats *st)
{
    free(st->percpu);
    for (size_t i = 0; i < st->n_mem_raw; i++) {
        free((char *)st->mem_raw[i].key);
        free((char *)st->mem_raw[i].value);
    }
    free(st->mem_raw);
    free(st->blkio_bytes);
    free(st->blkio_ios);
    free(st->hugetlb);
    memset(st, 0, sizeof(*st));
}

/* ---- JSON ---- */

/* Go's omitempty: a zero number is left out. */
static void kv_uint_omitempty(struct jw *w, const char *key, uint64_t v)
{
    if (v)
        jw_kv_uint(w, key, v);
}

static void memory_entry(struct jw *w, const char *key, uint64_t limit, uint64_t usage,
                         uint64_t max, uint64_t failcnt)
{
    jw_key(w, key);
    jw_object_begin(w);
    jw_kv_uint(w, "limit", limit);
    kv_uint_omitempty(w, "usage", usage);
    kv_uint_omitempty(w, "max", max);
    jw_kv_uint(w, "failcnt", failcnt);
    jw_object_end(w);
}

static const char *raw_value(const struct cgroup_stats *st, const char *key)
{
    for (size_t i = 0; i < st->n_mem_raw; i++)
        if (streq(st->mem_raw[i].key, key))
            return st->mem_raw[i].value;
    return NULL;
}

static int cmp_kv_key(const void *a, const void *b)
{
    const struct json_kv *const *x = a, *const *y = b;
    return strcmp((*x)->key, (*y)->key);
}

static void blkio_list(struct jw *w, const char *key, const struct cgroup_blkio_entry *v, size_t n)
{
    if (!n)
        return;
    jw_key(w, key);
    jw_array_begin(w);
    for (size_t i = 0; i < n; i++) {
        jw_object_begin(w);
        kv_uint_omitempty(w, "major", v[i].major);
        kv_uint_omitempty(w, "minor", v[i].minor);
        if (v[i].op[0])
            jw_kv_string(w, "op", v[i].op);
        kv_uint_omitempty(w, "value", v[i].value);
        jw_object_end(w);
    }
    jw_array_end(w);
}

static int cmp_hugetlb(const void *a, const void *b)
{
    const struct cgroup_hugetlb_entry *const *x = a, *const *y = b;
    return strcmp((*x)->page_size, (*y)->page_size);
}

void cgroup_stats_to_json(const struct cgroup_stats *st, struct jw *w)
{
    jw_object_begin(w);

    jw_key(w, "cpu");
    jw_object_begin(w);
    jw_key(w, "usage");
    jw_object_begin(w);
    kv_uint_omitempty(w, "total", st->cpu_total);
    if (st->n_percpu) {
        jw_key(w, "percpu");
        jw_array_begin(w);
        for (size_t i = 0; i < st->n_percpu; i++)
            jw_uint(w, st->percpu[i]);
        jw_array_end(w);
    }
    jw_kv_uint(w, "kernel", st->cpu_kernel);
    jw_kv_uint(w, "user", st->cpu_user);
    jw_object_end(w);
    jw_key(w, "throttling");
    jw_object_begin(w);
    kv_uint_omitempty(w, "periods", st->throttle_periods);
    kv_uint_omitempty(w, "throttledPeriods", st->throttled_periods);
    kv_uint_omitempty(w, "throttledTime", st->throttled_time);
    jw_object_end(w);
    jw_object_end(w);

    jw_key(w, "memory");
    jw_object_begin(w);
    /* runc's "cache": v1 memory.stat cache, v2 file */
    const char *cache = raw_value(st, "cache");
    if (!cache)
        cache = raw_value(st, "file");
    uint64_t cache_v;
    if (cache && parse_u64(cache, &cache_v) == 0)
        kv_uint_omitempty(w, "cache", cache_v);
    memory_entry(w, "usage", st->mem_limit, st->mem_usage, st->mem_max, st->mem_failcnt);
    memory_entry(w, "swap", st->swap_limit, st->swap_usage, st->swap_max, st->swap_failcnt);
    memory_entry(w, "kernel", 0, 0, 0, 0);
    memory_entry(w, "kernelTCP", 0, 0, 0, 0);
    if (st->n_mem_raw) {
        /* the OOM kill count joins raw under the kernel's own name (memory.events /
         * memory.oom_control "oom_kill"): memory.stat does not carry it */
        char oom[32];
        snprintf(oom, sizeof(oom), "%" PRIu64, st->oom_kill);
        const struct json_kv oom_kv = {"oom_kill", oom};
        size_t n = st->n_mem_raw;
        _cleanup_free_ const struct json_kv **sorted = xcalloc(n + 1, sizeof(*sorted));
        for (size_t i = 0; i < st->n_mem_raw; i++)
            sorted[i] = &st->mem_raw[i];
        if (!raw_value(st, "oom_kill"))
            sorted[n++] = &oom_kv;
        qsort(sorted, n, sizeof(*sorted), cmp_kv_key);
        jw_key(w, "raw");
        jw_object_begin(w);
        for (size_t i = 0; i < n; i++) {
            uint64_t v;
            /* raw is map[string]uint64 in runc: numbers only */
            if (parse_u64(sorted[i]->value, &v) == 0)
                jw_kv_uint(w, sorted[i]->key, v);
        }
        jw_object_end(w);
    }
    jw_object_end(w);

    jw_key(w, "pids");
    jw_object_begin(w);
    kv_uint_omitempty(w, "current", st->pids_current);
    kv_uint_omitempty(w, "limit", st->pids_limit);
    jw_object_end(w);

    jw_key(w, "blkio");
    jw_object_begin(w);
    blkio_list(w, "ioServiceBytesRecursive", st->blkio_bytes, st->n_blkio_bytes);
    blkio_list(w, "ioServicedRecursive", st->blkio_ios, st->n_blkio_ios);
    jw_object_end(w);

    jw_key(w, "hugetlb");
    jw_object_begin(w);
    if (st->n_hugetlb) {
        _cleanup_free_ const struct cgroup_hugetlb_entry **sorted =
                xcalloc(st->n_hugetlb, sizeof(*sorted));
        for (size_t i = 0; i < st->n_hugetlb; i++)
            sorted[i] = &st->hugetlb[i];
        qsort(sorted, st->n_hugetlb, sizeof(*sorted), cmp_hugetlb);
        for (size_t i = 0; i < st->n_hugetlb; i++) {
            jw_key(w, sorted[i]->page_size);
            jw_object_begin(w);
            kv_uint_omitempty(w, "usage", sorted[i]->usage);
            kv_uint_omitempty(w, "max", sorted[i]->max);
            jw_kv_uint(w, "failcnt", sorted[i]->failcnt);
            jw_object_end(w);
        }
    }
    jw_object_end(w);

    jw_object_end(w);
}
