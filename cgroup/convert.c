/*
 * Pure conversions between OCI resource values and cgroup file contents. No
 * I/O here, so every mapping is unit-tested without privileges.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cgroup/internal.h"
#include "lib/err.h"
#include "lib/util.h"

static const char *const ctrl_names_v1[CG__COUNT] = {
        [CG_CPU] = "cpu",         [CG_CPUACCT] = "cpuacct",
        [CG_CPUSET] = "cpuset",   [CG_MEMORY] = "memory",
        [CG_DEVICES] = "devices", [CG_FREEZER] = "freezer",
        [CG_BLKIO] = "blkio",     [CG_PIDS] = "pids",
        [CG_HUGETLB] = "hugetlb", [CG_RDMA] = "rdma",
        [CG_NET_CLS] = "net_cls", [CG_NET_PRIO] = "net_prio",
        [CG_MISC] = "misc",       [CG_PERF_EVENT] = "perf_event",
};

const char *cg_ctrl_name(enum cg_ctrl c, bool v2)
{
    if (v2 && c == CG_BLKIO)
        return "io";
    return ctrl_names_v1[c];
}

int cg_ctrl_from_name(const char *name, bool v2)
{
    if (v2 && streq(name, "io"))
        return CG_BLKIO;
    if (v2 && streq(name, "blkio"))
        return -1;
    for (int c = 0; c < CG__COUNT; c++)
        if (streq(name, ctrl_names_v1[c]))
            return c;
    return -1;
}

/* ln and exp by their series, for the one formula below: libm would cost every berth
 * command one more shared object (~400 KiB of RSS). Checked equal to libm's log2/pow
 * result for every shares value the kernel accepts. */
#define LN2  0.693147180559945309417232121458
#define LN10 2.302585092994045684017991454684

static double series_ln(double x) /* x > 0 */
{
    int e = 0;
    for (; x >= 2; x /= 2)
        e++;
    for (; x < 1; x *= 2)
        e--;
    /* ln x = 2 atanh((x - 1) / (x + 1)), |z| <= 1/3 */
    double z = (x - 1) / (x + 1), z2 = z * z, term = z, sum = 0;
    for (int k = 1; k < 80; k += 2) {
        sum += term / k;
        term *= z2;
    }
    return 2 * sum + e * LN2;
}

static double series_exp(double y)
{
    /* y = k ln2 + r with |r| <= ln2 / 2, e^y = 2^k e^r */
    long k = (long)(y / LN2 + (y >= 0 ? 0.5 : -0.5));
    double r = y - (double)k * LN2, term = 1, sum = 1;
    for (int n = 1; n < 30; n++) {
        term *= r / n;
        sum += term;
    }
    for (; k > 0; k--)
        sum *= 2;
    for (; k < 0; k++)
        sum /= 2;
    return sum;
}

uint64_t cg_shares_to_weight(uint64_t shares)
{
    if (shares == 0)
        return 0;
    /* the kernel clamps shares to [2, 262144]; clamp first so the result stays in [1, 10000] */
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    /* the quadratic conversion runc (1.3.2) and crun (1.23) use: it maps the default 1024
     * shares to the default weight 100, which the old linear formula (39) did not */
    double l = series_ln((double)shares) / LN2;
    double f = series_exp(((l * l + 125.0 * l) / 612.0 - 7.0 / 34.0) * LN10);
    /* ceil, blind to the series' last bits: 1024 shares must give exactly 100 */
    uint64_t w = (uint64_t)f;
    if ((double)w < f - 1e-12 * f)
        w++;
    if (w < 1)
        return 1;
    return w > 10000 ? 10000 : w;
}

uint64_t cg_blkio_weight_to_io_weight(uint64_t weight)
{
    if (weight == 0)
        return 0;
    if (weight < 10)
        weight = 10;
    if (weight > 1000)
        weight = 1000;
    return 1 + ((weight - 10) * 9999) / 990;
}

void cg_format_cpu_max(char *buf, size_t size, bool quota_set, int64_t quota, uint64_t period)
{
    char q[32];
    if (quota_set && quota > 0)
        snprintf(q, sizeof(q), "%" PRId64, quota);
    else
        snprintf(q, sizeof(q), "max");
    if (period > 0)
        snprintf(buf, size, "%s %" PRIu64, q, period);
    else
        snprintf(buf, size, "%s", q);
}

int cg_parse_cpu_max(const char *s, int64_t *quota, uint64_t *period)
{
    char q[32];
    unsigned long long p;
    if (sscanf(s, "%31s %llu", q, &p) != 2)
        return -EINVAL;
    if (streq(q, "max")) {
        *quota = -1;
    } else {
        int r = parse_i64(q, quota);
        if (r < 0)
            return r;
    }
    *period = p;
    return 0;
}

static const char *const io_max_keys[THROTTLE__COUNT] = {
        [THROTTLE_READ_BPS] = "rbps",
        [THROTTLE_WRITE_BPS] = "wbps",
        [THROTTLE_READ_IOPS] = "riops",
        [THROTTLE_WRITE_IOPS] = "wiops",
};

void cg_format_io_max(char *buf, size_t size, const struct cg_io_max *l)
{
    int n = snprintf(buf, size, "%" PRId64 ":%" PRId64, l->major, l->minor);
    for (int k = 0; k < THROTTLE__COUNT && n >= 0 && (size_t)n < size; k++) {
        if (!l->set[k])
            continue;
        /* v1 treats a rate of 0 as "no limit"; io.max spells that "max" */
        if (l->rate[k] == 0)
            n += snprintf(buf + n, size - (size_t)n, " %s=max", io_max_keys[k]);
        else
            n += snprintf(buf + n, size - (size_t)n, " %s=%" PRIu64, io_max_keys[k], l->rate[k]);
    }
}

size_t cg_io_max_collect(const struct spec_block_io *b, struct cg_io_max **out)
{
    size_t total = 0, n = 0;
    for (int k = 0; k < THROTTLE__COUNT; k++)
        total += b->n_throttle[k];
    struct cg_io_max *lines = total ? xcalloc(total, sizeof(*lines)) : NULL;

    for (int k = 0; k < THROTTLE__COUNT; k++) {
        for (size_t i = 0; i < b->n_throttle[k]; i++) {
            const struct spec_throttle_device *t = &b->throttle[k][i];
            size_t j;
            for (j = 0; j < n; j++)
                if (lines[j].major == t->major && lines[j].minor == t->minor)
                    break;
            if (j == n) {
                lines[n].major = t->major;
                lines[n].minor = t->minor;
                n++;
            }
            /* a device listed twice for one kind: the later entry wins, as on v1 */
            lines[j].set[k] = true;
            lines[j].rate[k] = t->rate;
        }
    }
    *out = lines;
    return n;
}

void cg_hugepage_size_name(uint64_t kb, char *buf, size_t size)
{
    static const char *const units[] = {"KB", "MB", "GB", "TB", "PB"};
    size_t u = 0;
    while (kb >= 1024 && kb % 1024 == 0 && u + 1 < ARRAY_SIZE(units)) {
        kb /= 1024;
        u++;
    }
    snprintf(buf, size, "%" PRIu64 "%s", kb, units[u]);
}

int cg_hugepage_size_parse(const char *name, uint64_t *bytes)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } units[] = {{"KB", 10}, {"MB", 20}, {"GB", 30}, {"TB", 40}, {"PB", 50}};
    size_t len = strlen(name);
    if (len < 3)
        return -EINVAL;
    for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
        if (!endswith(name, units[i].suffix))
            continue;
        _cleanup_free_ char *num = xstrndup(name, len - 2);
        uint64_t v;
        if (parse_u64(num, &v) < 0 || v == 0 || num[0] == '0' || num[0] == '+')
            return -EINVAL;
        if (v > (UINT64_MAX >> units[i].shift))
            return -ERANGE;
        *bytes = v << units[i].shift;
        return 0;
    }
    return -EINVAL;
}

int cg_swap_to_v2(int64_t limit, int64_t swap, uint64_t *swap_only, bool *max_out)
{
    *max_out = false;
    *swap_only = 0;
    if (swap == -1) {
        *max_out = true;
        return 0;
    }
    if (swap < 0)
        return -EINVAL;
    /* OCI swap is memory+swap: without a finite memory limit there is no swap share */
    if (limit <= 0)
        return -EDOM;
    if (swap < limit)
        return -ERANGE;
    *swap_only = (uint64_t)(swap - limit);
    return 0;
}

bool cg_v1_swap_first(uint64_t current_limit, int64_t new_swap)
{
    /* memsw >= limit must hold after each write: if the new memsw already covers the
     * current limit, memsw can go first; otherwise the limit must come down first */
    return new_swap == -1 || (new_swap >= 0 && (uint64_t)new_swap >= current_limit);
}

bool cg_is_systemd_path(const char *path)
{
    if (str_empty(path) || path[0] == '/')
        return false;
    const char *a = strchr(path, ':');
    if (!a)
        return false;
    const char *b = strchr(a + 1, ':');
    return b && !strchr(b + 1, ':');
}

static bool valid_component(const char *s, size_t n)
{
    if (n == 0 || n > 255)
        return false;
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || s[i] == '\n' || s[i] == '\0')
            return false;
    return true;
}

/* Append the components of path to buf, rejecting "..", dropping "." and empty ones. */
static int append_components(char **buf, const char *path)
{
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchrnul(p, '/');
        size_t n = (size_t)(e - p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return -EPERM;
        if (!(n == 1 && p[0] == '.')) {
            if (n > 255 || memchr(p, '\n', n))
                return -EINVAL;
            char *nb = xasprintf("%s/%.*s", *buf, (int)n, p);
            free(*buf);
            *buf = nb;
        }
        p = e;
    }
    return 0;
}

int cg_resolve_path(const char *own, const char *cgroups_path, const char *id, char **out)
{
    if (cg_is_systemd_path(cgroups_path))
        return err_setx(ENOTSUP,
                        "cgroup: cgroupsPath \"%s\" is in the systemd form (slice:prefix:name), "
                        "but berth's systemd cgroup driver is not implemented yet; use a path such "
                        "as \"/berth/<id>\" or a relative one",
                        cgroups_path);

    _cleanup_free_ char *base = NULL;
    const char *rest;
    if (str_empty(cgroups_path)) {
        if (str_empty(id) || !valid_component(id, strlen(id)))
            return err_setx(EINVAL,
                            "cgroup: no cgroupsPath and the container id \"%s\" cannot name a "
                            "cgroup",
                            id ? id : "");
        rest = id;
    } else {
        rest = cgroups_path;
    }
    if (!str_empty(cgroups_path) && cgroups_path[0] == '/') {
        base = xstrdup("");
    } else {
        if (str_empty(own) || own[0] != '/')
            return err_setx(EINVAL, "cgroup: the caller's own cgroup \"%s\" is not absolute",
                            own ? own : "");
        base = xstrdup("");
        int r = append_components(&base, own);
        if (r < 0)
            return err_setx(EINVAL, "cgroup: the caller's own cgroup \"%s\" is not usable", own);
    }
    size_t base_len = strlen(base);
    int r = append_components(&base, rest);
    if (r == -EPERM)
        return err_setx(EINVAL,
                        "cgroup: cgroupsPath \"%s\" has a \"..\" component; cgroup paths may not "
                        "climb out of their hierarchy",
                        rest);
    if (r < 0)
        return err_setx(EINVAL, "cgroup: cgroupsPath \"%s\" has an invalid component", rest);
    if (strlen(base) == base_len)
        return err_setx(EINVAL,
                        "cgroup: cgroupsPath \"%s\" names %s; a container needs a cgroup of its "
                        "own",
                        rest, base_len ? "the caller's own cgroup" : "the root cgroup");
    *out = TAKE_PTR(base);
    return 0;
}

/* runc's allowed device set: mknod of anything, and the devices every container has. */
/* No "c *:* m": a container may only mknod what its rules or linux.devices allow. */
const struct spec_device_rule cg_default_devices[] = {
        {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},    /* null */
        {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "rwm"},    /* zero */
        {.allow = true, .type = 'c', .major = 1, .minor = 7, .access = "rwm"},    /* full */
        {.allow = true, .type = 'c', .major = 1, .minor = 8, .access = "rwm"},    /* random */
        {.allow = true, .type = 'c', .major = 1, .minor = 9, .access = "rwm"},    /* urandom */
        {.allow = true, .type = 'c', .major = 5, .minor = 0, .access = "rwm"},    /* tty */
        {.allow = true, .type = 'c', .major = 5, .minor = 1, .access = "rwm"},    /* console */
        {.allow = true, .type = 'c', .major = 5, .minor = 2, .access = "rwm"},    /* ptmx */
        {.allow = true, .type = 'c', .major = 136, .minor = -1, .access = "rwm"}, /* pts */
};
const size_t cg_n_default_devices = ARRAY_SIZE(cg_default_devices);

int cg_device_access_bits(const char *access, uint32_t *bits)
{
    uint32_t b = 0;
    if (!access || !*access) {
        /* runc reads an empty access as "rwm" */
        *bits = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
        return 0;
    }
    for (const char *p = access; *p; p++) {
        switch (*p) {
        case 'r': b |= BPF_DEVCG_ACC_READ; break;
        case 'w': b |= BPF_DEVCG_ACC_WRITE; break;
        case 'm': b |= BPF_DEVCG_ACC_MKNOD; break;
        default: return -EINVAL;
        }
    }
    *bits = b;
    return 0;
}

static void access_string(uint32_t bits, char out[4])
{
    size_t n = 0;
    if (bits & BPF_DEVCG_ACC_READ)
        out[n++] = 'r';
    if (bits & BPF_DEVCG_ACC_WRITE)
        out[n++] = 'w';
    if (bits & BPF_DEVCG_ACC_MKNOD)
        out[n++] = 'm';
    out[n] = '\0';
}

static void format_num(char *buf, size_t size, int64_t v)
{
    if (v < 0)
        snprintf(buf, size, "*");
    else
        snprintf(buf, size, "%" PRId64, v);
}

int cg_device_rule_v1(const struct spec_device_rule *r, char lines[2][64], size_t *n)
{
    uint32_t bits;
    if (cg_device_access_bits(r->access, &bits) < 0)
        return err_setx(EINVAL, "cgroup: devices: invalid access \"%s\" (expected letters of rwm)",
                        r->access);
    if (r->type != 'a' && r->type != 'b' && r->type != 'c')
        return err_setx(EINVAL, "cgroup: devices: invalid type '%c' (expected a, b or c)", r->type);
    if (r->major < -1 || r->minor < -1 || r->major > UINT32_MAX || r->minor > UINT32_MAX)
        return err_setx(EINVAL, "cgroup: devices: invalid device number %" PRId64 ":%" PRId64,
                        r->major, r->minor);

    char acc[4], maj[24], min[24];
    access_string(bits, acc);
    format_num(maj, sizeof(maj), r->major);
    format_num(min, sizeof(min), r->minor);
    const uint32_t all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

    if (r->type == 'a' && r->major < 0 && r->minor < 0 && bits == all) {
        /* the kernel reads any "a" line as "everything", whatever follows */
        snprintf(lines[0], 64, "a *:* rwm");
        *n = 1;
    } else if (r->type == 'a') {
        /* "a" with numbers or partial access would widen to everything on v1: spell it
         * as the char and block rules it means */
        snprintf(lines[0], 64, "c %s:%s %s", maj, min, acc);
        snprintf(lines[1], 64, "b %s:%s %s", maj, min, acc);
        *n = 2;
    } else {
        snprintf(lines[0], 64, "%c %s:%s %s", r->type, maj, min, acc);
        *n = 1;
    }
    return 0;
}
