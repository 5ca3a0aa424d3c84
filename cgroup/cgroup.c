/*
 * Host detection, path resolution and the cgroup lifecycle: create, enter,
 * freeze, list, kill, destroy. Resource files are written in resources.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup/internal.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"

#define CGROUP_ROOT    "/sys/fs/cgroup"
#define CGROUP_UNIFIED "/sys/fs/cgroup/unified"
/* How long destroy and freeze wait for the kernel before giving up. */
#define DESTROY_TIMEOUT_MS 5000
#define FREEZE_TIMEOUT_MS  5000
/* Files such as cgroup.procs of a large cgroup stay well below this. */
#define CG_READ_MAX (16u << 20)

const char *cgroup_mode_name(enum cgroup_mode m)
{
    switch (m) {
    case CGROUP_MODE_UNIFIED: return "unified (cgroup v2)";
    case CGROUP_MODE_LEGACY: return "legacy (cgroup v1)";
    case CGROUP_MODE_HYBRID: return "hybrid (cgroup v1 + v2)";
    }
    return "unknown";
}

int cgroup_detect_mode(enum cgroup_mode *out)
{
    struct statfs s;
    if (statfs(CGROUP_ROOT, &s) < 0)
        return err_set(errno, "cgroup: statfs %s (is cgroupfs mounted?)", CGROUP_ROOT);
    if (s.f_type == CGROUP2_SUPER_MAGIC) {
        *out = CGROUP_MODE_UNIFIED;
        return 0;
    }
    if (s.f_type != TMPFS_MAGIC)
        return err_setx(ENOMEDIUM,
                        "cgroup: %s is neither cgroup2 nor a tmpfs holding v1 hierarchies "
                        "(filesystem magic 0x%lx); mount cgroupfs there",
                        CGROUP_ROOT, (unsigned long)s.f_type);
    if (statfs(CGROUP_UNIFIED, &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC)
        *out = CGROUP_MODE_HYBRID;
    else
        *out = CGROUP_MODE_LEGACY;
    return 0;
}

/* ---- small time helpers ---- */

uint64_t cg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cg_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- file access ---- */

static const char *strip_nl(const char *v, char *buf, size_t size)
{
    size_t n = strlen(v);
    if (n == 0 || v[n - 1] != '\n')
        return v;
    snprintf(buf, size, "%.*s", (int)(n - 1), v);
    return buf;
}

int cg_write(const struct cgroup *cg, const struct cg_hier *h, const char *resource,
             const char *file, const char *value)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", h->dir, file);
    char shown[256];
    const char *v = strip_nl(value, shown, sizeof(shown));

    _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return err_setx(ENOENT,
                            "cgroup: %s: %s does not exist on this host (%s); the kernel does "
                            "not offer this setting here",
                            resource, path, cgroup_mode_name(cg->mode));
        return err_set(errno, "cgroup: %s: opening %s", resource, path);
    }
    size_t len = strlen(value);
    ssize_t w = RETRY_EINTR(write(fd, value, len));
    if (w < 0)
        return err_set(errno, "cgroup: %s: writing \"%s\" to %s", resource, v, path);
    if ((size_t)w != len)
        return err_setx(EIO, "cgroup: %s: short write of \"%s\" to %s", resource, v, path);
    return 0;
}

int cg_writef(const struct cgroup *cg, const struct cg_hier *h, const char *resource,
              const char *file, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return err_setx(E2BIG, "cgroup: %s: value for %s too long", resource, file);
    return cg_write(cg, h, resource, file, buf);
}

int cg_read(const struct cg_hier *h, const char *file, char **out)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", h->dir, file);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return -ENOENT;
        return err_set(errno, "cgroup: opening %s", path);
    }
    int r = read_all_fd(fd, CG_READ_MAX, out, NULL);
    if (r < 0)
        return err_set(-r, "cgroup: reading %s", path);
    return 0;
}

int cg_read_u64(const struct cg_hier *h, const char *file, uint64_t *out)
{
    _cleanup_free_ char *s = NULL;
    int r = cg_read(h, file, &s);
    if (r < 0)
        return r;
    s[strcspn(s, "\n")] = '\0';
    if (streq(s, "max")) {
        *out = UINT64_MAX;
        return 0;
    }
    if (parse_u64(s, out) < 0)
        return err_setx(EBADMSG, "cgroup: %s/%s: expected a number, got \"%s\"", h->dir, file, s);
    return 0;
}

bool cg_has_file(const struct cg_hier *h, const char *file)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", h->dir, file);
    return access(path, F_OK) == 0;
}

int cg_unsupported(const struct cgroup *cg, const char *resource, const char *why)
{
    return err_setx(EOPNOTSUPP, "cgroup: %s: not supported on this host (%s): %s", resource,
                    cgroup_mode_name(cg->mode), why);
}

/* ---- discovery ---- */

struct cg_hier *cg_unified(const struct cgroup *cg)
{
    for (size_t i = 0; i < cg->n_h; i++)
        if (cg->h[i].unified)
            return &cg->h[i];
    return NULL;
}

struct cg_hier *cg_locate(const struct cgroup *cg, enum cg_ctrl c)
{
    for (size_t i = 0; i < cg->n_h; i++)
        if (!cg->h[i].unified && (cg->h[i].ctrls & CG_BIT(c)))
            return &cg->h[i];
    struct cg_hier *u = cg_unified(cg);
    if (u && (cg_v2_ctrls(u) & CG_BIT(c)))
        return u;
    return NULL;
}

static uint32_t ctrls_from_words(const char *s, const char *seps, bool v2)
{
    uint32_t m = 0;
    _cleanup_free_ char *copy = xstrdup(s);
    char *save = NULL;
    for (char *t = strtok_r(copy, seps, &save); t; t = strtok_r(NULL, seps, &save)) {
        int c = cg_ctrl_from_name(t, v2);
        if (c >= 0)
            m |= CG_BIT(c);
    }
    return m;
}

int cg_v2_read_ctrls(const char *dir, const char *file, uint32_t *out)
{
    struct cg_hier tmp = {.dir = (char *)dir};
    _cleanup_free_ char *s = NULL;
    int r = cg_read(&tmp, file, &s);
    if (r < 0)
        return r;
    *out = ctrls_from_words(s, " \n", true);
    return 0;
}

int cg_v2_refresh(struct cg_hier *h)
{
    uint32_t m;
    int r = cg_v2_read_ctrls(h->dir, "cgroup.controllers", &m);
    h->ctrls_stale = false;
    if (r < 0)
        return r;
    h->ctrls = m;
    return 0;
}

uint32_t cg_v2_ctrls(struct cg_hier *h)
{
    /* a cgroup already gone simply offers nothing */
    if (h->ctrls_stale && cg_v2_refresh(h) < 0)
        err_clear();
    return h->ctrls;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape_octal(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
}

/* Every item of the comma-separated list a is in b. */
static bool subset(const char *a, const char *b)
{
    for (const char *p = a; p;) {
        const char *e = strchrnul(p, ',');
        size_t n = (size_t)(e - p);
        bool found = false;
        for (const char *q = b; q && !found;) {
            const char *qe = strchrnul(q, ',');
            if ((size_t)(qe - q) == n && strncmp(p, q, n) == 0)
                found = true;
            q = *qe ? qe + 1 : NULL;
        }
        if (!found)
            return false;
        p = *e ? e + 1 : NULL;
    }
    return true;
}

bool cg_same_set(const char *a, const char *b)
{
    return subset(a, b) && subset(b, a);
}

/* The controllers the kernel knows (and has enabled), from /proc/cgroups. */
static char **known_controllers(void)
{
    _cleanup_free_ char *text = NULL;
    char **v = xcalloc(1, sizeof(char *));
    size_t n = 0;
    if (read_file_at(AT_FDCWD, "/proc/cgroups", CG_READ_MAX, &text, NULL) < 0)
        return v;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[64];
        int hier, num, enabled;
        if (line[0] == '#' || sscanf(line, "%63s %d %d %d", name, &hier, &num, &enabled) != 4)
            continue;
        if (!enabled)
            continue;
        v = xreallocarray(v, n + 2, sizeof(char *));
        v[n++] = xstrdup(name);
        v[n] = NULL;
    }
    return v;
}

static void strv_freep(char ***v)
{
    if (*v)
        strv_free(*v);
}

static struct cg_hier *add_hier(struct cgroup *cg)
{
    cg->h = xreallocarray(cg->h, cg->n_h + 1, sizeof(*cg->h));
    struct cg_hier *h = &cg->h[cg->n_h++];
    memset(h, 0, sizeof(*h));
    return h;
}

/* "rw,cpu,cpuacct" -> "cpu,cpuacct"; "rw,xattr,name=systemd" -> "name=systemd". */
char *cg_v1_name_from_superopts(const char *opts, char *const *known)
{
    _cleanup_free_ char *copy = xstrdup(opts);
    char *name = xstrdup("");
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!startswith(t, "name=") && !strv_contains(known, t))
            continue;
        char *n = xasprintf("%s%s%s", name, *name ? "," : "", t);
        free(name);
        name = n;
    }
    return name;
}

static int parse_mountinfo(struct cgroup *cg)
{
    _cleanup_free_ char *text = NULL;
    int r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", CG_READ_MAX, &text, NULL);
    if (r < 0)
        return err_set(-r, "cgroup: reading /proc/self/mountinfo");
    _cleanup_(strv_freep) char **known = known_controllers();

    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[64];
        size_t nf = 0;
        char *s2 = NULL;
        for (char *t = strtok_r(line, " ", &s2); t && nf < ARRAY_SIZE(f);
             t = strtok_r(NULL, " ", &s2))
            f[nf++] = t;
        size_t dash = 0;
        for (size_t i = 6; i < nf; i++)
            if (streq(f[i], "-")) {
                dash = i;
                break;
            }
        if (!dash || dash + 3 >= nf)
            continue;
        const char *fstype = f[dash + 1], *superopts = f[dash + 3];
        char *root = f[3], *mnt = f[4];
        unescape_octal(root);
        unescape_octal(mnt);

        if (streq(fstype, "cgroup2")) {
            const char *want = cg->mode == CGROUP_MODE_UNIFIED  ? CGROUP_ROOT
                               : cg->mode == CGROUP_MODE_HYBRID ? CGROUP_UNIFIED
                                                                : NULL;
            if (!want || !streq(mnt, want) || cg_unified(cg))
                continue;
            struct cg_hier *h = add_hier(cg);
            h->unified = true;
            h->name = xstrdup("");
            h->mountpoint = xstrdup(mnt);
            h->mount_root = xstrdup(root);
            uint32_t m = 0;
            cg_v2_read_ctrls(mnt, "cgroup.controllers", &m);
            h->ctrls = m;
        } else if (streq(fstype, "cgroup") && cg->mode != CGROUP_MODE_UNIFIED) {
            if (!startswith(mnt, CGROUP_ROOT "/"))
                continue;
            _cleanup_free_ char *name = cg_v1_name_from_superopts(superopts, known);
            if (!*name)
                continue;
            bool dup = false;
            for (size_t i = 0; i < cg->n_h; i++)
                if (!cg->h[i].unified && cg_same_set(cg->h[i].name, name))
                    dup = true;
            if (dup)
                continue;
            struct cg_hier *h = add_hier(cg);
            h->ctrls = ctrls_from_words(name, ",", false);
            h->name = TAKE_PTR(name);
            h->mountpoint = xstrdup(mnt);
            h->mount_root = xstrdup(root);
        }
    }
    if (cg->mode == CGROUP_MODE_UNIFIED && !cg_unified(cg))
        return err_setx(ENOENT, "cgroup: /proc/self/mountinfo lists no cgroup2 mount at %s",
                        CGROUP_ROOT);
    if (cg->mode == CGROUP_MODE_HYBRID && !cg_unified(cg))
        return err_setx(ENOENT, "cgroup: /proc/self/mountinfo lists no cgroup2 mount at %s",
                        CGROUP_UNIFIED);
    if (cg->mode != CGROUP_MODE_UNIFIED && cg->n_h == (cg_unified(cg) ? 1u : 0u))
        return err_setx(ENOENT, "cgroup: /proc/self/mountinfo lists no v1 cgroup hierarchy "
                                "below " CGROUP_ROOT);
    return 0;
}

static int parse_self_cgroup(struct cgroup *cg)
{
    _cleanup_free_ char *text = NULL;
    int r = read_file_at(AT_FDCWD, "/proc/self/cgroup", CG_READ_MAX, &text, NULL);
    if (r < 0)
        return err_set(-r, "cgroup: reading /proc/self/cgroup");
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        const char *ctrls = c1 + 1, *path = c2 + 1;
        for (size_t i = 0; i < cg->n_h; i++) {
            struct cg_hier *h = &cg->h[i];
            if (h->own)
                continue;
            bool match = h->unified ? (streq(line, "0") && !*ctrls)
                                    : (*ctrls && cg_same_set(ctrls, h->name));
            if (match)
                h->own = xstrdup(path);
        }
    }
    return 0;
}

int cg_discover(enum cgroup_mode mode, struct cgroup *cg)
{
    cg->mode = mode;
    int r = parse_mountinfo(cg);
    if (r < 0)
        return r;
    return parse_self_cgroup(cg);
}

/* ---- create ---- */

static int set_dir(struct cg_hier *h)
{
    const char *root = h->mount_root;
    const char *below = h->rel;
    if (!streq(root, "/")) {
        size_t n = strlen(root);
        if (strncmp(h->rel, root, n) != 0 || h->rel[n] != '/')
            return err_setx(EXDEV,
                            "cgroup: %s is outside the part of the %s hierarchy mounted at %s "
                            "(its root there is %s)",
                            h->rel, *h->name ? h->name : "cgroup2", h->mountpoint, root);
        below = h->rel + n;
    }
    h->dir = xasprintf("%s%s", h->mountpoint, below);
    return 0;
}

static const char *hier_label(const struct cg_hier *h)
{
    return h->unified ? "cgroup2" : h->name;
}

/* A directory of a v1 cpuset is unusable until it has cpus and mems: copy the parent's. */
/*
 * Giving CPUs to a v1 cpuset that has sched_load_balance set makes the kernel rebuild the
 * sched domains of every cpuset on the host: a create cost that grows with the containers
 * already there. While the hierarchy's root balances across all CPUs the flag of a child
 * changes nothing (cgroup-v1/cpusets.rst 1.7), so a new cpuset is made with it off first.
 */
static void cpuset_v1_skip_rebuild(const struct cg_hier *h, const char *dir)
{
    struct cg_hier root = {.dir = h->mountpoint};
    _cleanup_free_ char *flag = NULL;
    if (cg_read(&root, "cpuset.sched_load_balance", &flag) < 0 || !startswith(flag, "1")) {
        err_clear();
        return;
    }
    _cleanup_free_ char *path = xasprintf("%s/cpuset.sched_load_balance", dir);
    int r = write_string_at(AT_FDCWD, path, "0");
    if (r < 0)
        log_debug("cgroup: %s: %s (left on)", path, strerror(-r));
}

static int cpuset_v1_init(const struct cgroup *cg, const struct cg_hier *h, const char *dir)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    _cleanup_free_ char *parent = xstrdup(dir);
    *strrchr(parent, '/') = '\0';
    struct cg_hier p = {.dir = parent}, c = {.dir = (char *)dir};
    cpuset_v1_skip_rebuild(h, dir);
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        _cleanup_free_ char *cur = NULL, *val = NULL;
        int r = cg_read(&c, files[i], &cur);
        if (r < 0)
            return err_set(-r, "cgroup: cpuset: reading %s/%s", dir, files[i]);
        if (cur[strspn(cur, " \n")] != '\0')
            continue;
        r = cg_read(&p, files[i], &val);
        if (r < 0)
            return err_set(-r, "cgroup: cpuset: reading %s/%s", parent, files[i]);
        r = cg_write(cg, &c, "cpuset", files[i], val);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Processes directly in dir, or child cgroups: either makes an existing cgroup unusable. */
static int check_reusable(const struct cg_hier *h)
{
    _cleanup_free_ char *procs = NULL;
    int r = cg_read(h, "cgroup.procs", &procs);
    if (r < 0)
        return err_set(-r, "cgroup: reading %s/cgroup.procs", h->dir);
    if (procs[strspn(procs, " \n")] != '\0') {
        procs[strcspn(procs, "\n")] = '\0';
        return err_setx(EEXIST,
                        "cgroup: %s already exists and has processes (pid %s, ...); another "
                        "container may be using it: pick another cgroupsPath or delete that "
                        "container",
                        h->dir, procs);
    }
    _cleanup_closedir_ DIR *d = opendir(h->dir);
    if (!d)
        return err_set(errno, "cgroup: opening %s", h->dir);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_type == DT_DIR && !streq(e->d_name, ".") && !streq(e->d_name, ".."))
            return err_setx(EEXIST,
                            "cgroup: %s already exists and has child cgroups (%s); pick another "
                            "cgroupsPath",
                            h->dir, e->d_name);
    return 0;
}

static int make_dirs(const struct cgroup *cg, struct cg_hier *h)
{
    size_t base = strlen(h->mountpoint);
    for (int attempt = 0;; attempt++) {
        _cleanup_free_ char *p = xstrdup(h->dir);
        bool retry = false;
        for (char *s = p + base + 1;; s++) {
            bool leaf = *s == '\0';
            if (*s != '/' && !leaf)
                continue;
            *s = '\0';
            if (mkdir(p, 0755) == 0) {
                if (!h->top)
                    h->top = xstrdup(p);
                if (leaf)
                    h->created = true;
                if (!h->unified && (h->ctrls & CG_BIT(CG_CPUSET))) {
                    int r = cpuset_v1_init(cg, h, p);
                    if (r < 0)
                        return r;
                }
            } else if (errno == EEXIST) {
                if (leaf) {
                    int r = check_reusable(h);
                    if (r < 0)
                        return r;
                }
            } else if (errno == ENOENT && attempt < 5) {
                /* an ancestor vanished under us (another container's delete): again */
                retry = true;
                break;
            } else {
                return err_set(errno, "cgroup: creating %s in the %s hierarchy", p, hier_label(h));
            }
            if (leaf)
                break;
            *s = '/';
        }
        if (!retry)
            return 0;
    }
}

static void rmdir_up_to_top(struct cg_hier *h)
{
    if (!h->top)
        return;
    _cleanup_free_ char *p = xstrdup(h->dir);
    size_t top = strlen(h->top);
    for (;;) {
        char *slash = strrchr(p, '/');
        if (!slash || (size_t)(slash - p) < top)
            break;
        *slash = '\0';
        if (rmdir(p) < 0 && errno != ENOENT)
            break; /* a sibling lives there now, or it is not ours to remove */
    }
}

static void rollback(struct cgroup *cg)
{
    for (size_t i = 0; i < cg->n_h; i++) {
        struct cg_hier *h = &cg->h[i];
        if (h->created && rmdir(h->dir) < 0 && errno != ENOENT)
            log_warn("cgroup: removing %s after a failed create: %s", h->dir, strerror(errno));
        if (h->created || (h->top && !streq(h->top, h->dir)))
            rmdir_up_to_top(h);
        h->created = false;
        free(h->top);
        h->top = NULL;
    }
}

static void ctrl_list(uint32_t m, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int c = 0; c < CG__COUNT; c++)
        if ((m & CG_BIT(c)) && n < size)
            n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " " : "", cg_ctrl_name(c, true));
}

static int enable_one(const struct cgroup *cg, const char *dir, enum cg_ctrl c, bool needed)
{
    char value[32];
    snprintf(value, sizeof(value), "+%s", cg_ctrl_name(c, true));
    _cleanup_free_ char *path = xasprintf("%s/cgroup.subtree_control", dir);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && RETRY_EINTR(write(fd, value, strlen(value))) >= 0)
        return 0;
    int e = errno;
    if (!needed)
        return 0;
    if (e == EBUSY)
        return err_setx(EBUSY,
                        "cgroup: enabling the %s controller: writing \"%s\" to %s: %s: that cgroup "
                        "has processes of its own, and cgroup v2 lets only cgroups without "
                        "processes hand controllers to children (no internal processes rule); "
                        "use a cgroupsPath below a cgroup without processes",
                        cg_ctrl_name(c, true), value, path, strerror(e));
    return err_set(e, "cgroup: enabling the %s controller (host %s): writing \"%s\" to %s",
                   cg_ctrl_name(c, true), cgroup_mode_name(cg->mode), value, path);
}

/* A cgroup with processes in it: on cgroup v2 it may not hand controllers to children (and
 * enabling a threaded controller there would silently turn it into a threaded root). */
static bool v2_populated(const char *dir)
{
    _cleanup_free_ char *procs = NULL;
    _cleanup_free_ char *path = xasprintf("%s/cgroup.procs", dir);
    return read_file_at(AT_FDCWD, path, 1 << 20, &procs, NULL) == 0 && procs[0] != '\0';
}

/*
 * Hand `want` down from the hierarchy root to the leaf's parent. Controllers in
 * `needed` must arrive; the others are best effort (a unified host gets every
 * controller it has, so later updates and stats find them).
 */
static int v2_enable(const struct cgroup *cg, struct cg_hier *h, uint32_t want, uint32_t needed)
{
    _cleanup_free_ char *p = xstrdup(h->dir);
    size_t base = strlen(h->mountpoint);
    char *leaf_slash = strrchr(p, '/');
    if (!leaf_slash || (size_t)(leaf_slash - p) < base)
        return 0;
    *leaf_slash = '\0';

    for (char *s = p + base;; s++) {
        bool last = *s == '\0';
        if (*s != '/' && !last)
            continue;
        char saved = *s;
        *s = '\0';
        const char *dir = *p ? p : "/";
        uint32_t avail = 0, on = 0;
        int r = cg_v2_read_ctrls(dir, "cgroup.controllers", &avail);
        if (r < 0)
            return err_set(-r, "cgroup: reading %s/cgroup.controllers", dir);
        r = cg_v2_read_ctrls(dir, "cgroup.subtree_control", &on);
        if (r < 0)
            return err_set(-r, "cgroup: reading %s/cgroup.subtree_control", dir);
        uint32_t missing_needed = needed & ~avail;
        uint32_t to_enable = want & avail & ~on;
        if (to_enable && (size_t)(s - p) > base && v2_populated(dir)) {
            if (needed & to_enable)
                return err_setx(EBUSY,
                                "cgroup: %s has processes of its own, and cgroup v2 lets only "
                                "cgroups without processes hand controllers to children (no "
                                "internal processes rule); use a cgroupsPath below a cgroup "
                                "without processes",
                                dir);
            want &= ~to_enable; /* best effort only: leave that cgroup as it is */
        }
        if (missing_needed) {
            char names[128];
            ctrl_list(missing_needed, names, sizeof(names));
            return err_setx(EOPNOTSUPP,
                            "cgroup: controller(s) %s not available in %s (host %s); the "
                            "resources that need them cannot be enforced here",
                            names, dir, cgroup_mode_name(cg->mode));
        }
        for (int c = 0; c < CG__COUNT; c++) {
            if (!(want & avail & CG_BIT(c)) || (on & CG_BIT(c)))
                continue;
            r = enable_one(cg, dir, c, needed & CG_BIT(c));
            if (r < 0)
                return r;
        }
        *s = saved;
        if (last)
            break;
    }
    return 0;
}

/* The controllers resources written to the cgroup2 hierarchy need there. */
static uint32_t v2_needed(const struct cgroup *cg, const struct spec_resources *r)
{
    uint32_t need = cg_resources_need(r);
    uint32_t m = cg_resources_need_unified(r);
    for (int c = 0; c < CG__COUNT; c++) {
        if (!(need & CG_BIT(c)))
            continue;
        bool on_v1 = false;
        for (size_t i = 0; i < cg->n_h; i++)
            if (!cg->h[i].unified && (cg->h[i].ctrls & CG_BIT(c)))
                on_v1 = true;
        if (!on_v1)
            m |= CG_BIT(c);
    }
    /* devices go through eBPF on cgroup2, no controller */
    return m & ~CG_BIT(CG_DEVICES) & ~CG_BIT(CG_FREEZER);
}

static int v2_prepare(struct cgroup *cg, const struct spec_resources *r)
{
    struct cg_hier *u = cg_unified(cg);
    if (!u)
        return 0;
    uint32_t needed = v2_needed(cg, r);
    uint32_t root_avail = 0;
    cg_v2_read_ctrls(u->mountpoint, "cgroup.controllers", &root_avail);
    /* on hybrid hosts touch only what the container asks for: the unified hierarchy there
     * belongs to the host's init, which may not expect controllers to appear */
    uint32_t want = cg->mode == CGROUP_MODE_UNIFIED ? root_avail | needed : needed;
    int ret = v2_enable(cg, u, want, needed);
    if (ret < 0)
        return ret;
    cg_v2_refresh(u);
    return 0;
}

/*
 * Where a relative cgroupsPath starts. berth's own cgroup has berth in it, and on cgroup v2 a
 * cgroup with processes cannot give controllers to children; so there, as runc does, relative
 * paths start at the parent of berth's cgroup (under systemd: the unit's slice). On v1 they
 * start at berth's own cgroup.
 */
static char *relative_base(const struct cg_hier *h)
{
    const char *own = h->own ? h->own : "/";
    if (!h->unified || streq(own, "/"))
        return xstrdup(own);
    /* own is relative to the hierarchy's root; the mount may show only a part of it */
    const char *root = h->mount_root ? h->mount_root : "/";
    size_t n = streq(root, "/") ? 0 : strlen(root);
    if (n && strncmp(own, root, n) != 0)
        return xstrdup(own);
    _cleanup_free_ char *dir = xasprintf("%s%s", h->mountpoint, own + n);
    if (!v2_populated(dir))
        return xstrdup(own);
    char *parent = xstrdup(own);
    char *slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = '\0';
    else
        *slash = '\0';
    return parent;
}

static int resolve_paths(struct cgroup *cg, const struct cgroup_params *p)
{
    for (size_t i = 0; i < cg->n_h; i++) {
        struct cg_hier *h = &cg->h[i];
        bool relative = str_empty(p->path) || p->path[0] != '/';
        if (relative && !h->own)
            return err_setx(ENOENT,
                            "cgroup: /proc/self/cgroup has no entry for the %s hierarchy, so a "
                            "relative cgroupsPath cannot be placed there; use an absolute one",
                            hier_label(h));
        _cleanup_free_ char *base = relative_base(h);
        int r = cg_resolve_path(base, p->path, p->id, &h->rel);
        if (r < 0)
            return r;
        r = set_dir(h);
        if (r < 0)
            return r;
    }
    return 0;
}

static const struct cg_hier *main_hier(const struct cgroup *cg)
{
    const struct cg_hier *u = cg_unified(cg);
    if (cg->mode == CGROUP_MODE_UNIFIED && u)
        return u;
    for (size_t i = 0; i < cg->n_h; i++)
        if (!cg->h[i].unified && (cg->h[i].ctrls & CG_BIT(CG_MEMORY)))
            return &cg->h[i];
    for (size_t i = 0; i < cg->n_h; i++)
        if (!cg->h[i].unified)
            return &cg->h[i];
    return cg->n_h ? &cg->h[0] : NULL;
}

int cgroup_create(const struct cgroup_params *p, struct cgroup **out)
{
    if (p->systemd || cg_is_systemd_path(p->path))
        return err_setx(ENOTSUP,
                        "cgroup: the systemd cgroup driver was requested (%s), but berth does "
                        "not implement it yet; use the cgroupfs driver: drop --systemd-cgroup "
                        "and give cgroupsPath as a path (\"/berth/<id>\" or relative)",
                        p->systemd ? "--systemd-cgroup" : p->path);

    _cleanup_cgroup_ struct cgroup *cg = xzalloc(sizeof(*cg));
    enum cgroup_mode mode;
    int r = cgroup_detect_mode(&mode);
    if (r < 0)
        return r;
    r = cg_discover(mode, cg);
    if (r < 0)
        return r;
    r = resolve_paths(cg, p);
    if (r < 0)
        return r;
    cg->path = xstrdup(main_hier(cg)->rel);

    /* refuse what this host cannot enforce before anything exists */
    r = cg_resources_check(cg, p->resources);
    if (r < 0)
        return r;

    for (size_t i = 0; i < cg->n_h && r >= 0; i++)
        r = make_dirs(cg, &cg->h[i]);
    if (r >= 0)
        r = v2_prepare(cg, p->resources);
    if (r >= 0 && p->resources)
        r = cg_resources_apply(cg, p->resources, false);
    if (r >= 0)
        r = cg_devices_apply(cg, p->resources ? p->resources->devices : NULL,
                             p->resources ? p->resources->n_devices : 0);
    if (r < 0) {
        rollback(cg);
        return r;
    }
    *out = TAKE_PTR(cg);
    return 0;
}

int cgroup_update(struct cgroup *cg, const struct spec_resources *r)
{
    if (!r)
        return 0;
    int ret = cg_resources_check(cg, r);
    if (ret < 0)
        return ret;
    struct cg_hier *u = cg_unified(cg);
    if (u) {
        uint32_t needed = v2_needed(cg, r);
        if (needed & ~cg_v2_ctrls(u)) {
            ret = v2_enable(cg, u, needed, needed);
            if (ret < 0)
                return ret;
            cg_v2_refresh(u);
        }
    }
    ret = cg_resources_apply(cg, r, true);
    if (ret < 0)
        return ret;
    if (r->n_devices > 0)
        return cg_devices_apply(cg, r->devices, r->n_devices);
    return 0;
}

/* ---- processes ---- */

int cgroup_clone_fd(const struct cgroup *cg)
{
    if (cg->mode != CGROUP_MODE_UNIFIED)
        return -1;
    const struct cg_hier *u = cg_unified(cg);
    int fd = open(u->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        err_set(errno, "cgroup: opening %s for clone3(CLONE_INTO_CGROUP)", u->dir);
        return -1;
    }
    return fd;
}

int cgroup_enter(const struct cgroup *cg, pid_t pid)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    for (size_t i = 0; i < cg->n_h; i++) {
        int r = cg_write(cg, &cg->h[i], "cgroup.procs", "cgroup.procs", buf);
        if (r < 0)
            return err_prefix(r, "cgroup: moving pid %d into the %s hierarchy", (int)pid,
                              hier_label(&cg->h[i]));
    }
    return 0;
}

static bool sub_name_ok(const char *name)
{
    if (!*name || name[0] == '/')
        return false;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += n;
        if (*p == '/')
            p++;
    }
    return true;
}

int cgroup_enter_sub(const struct cgroup *cg, const char *sub, pid_t pid)
{
    const char *colon = strchr(sub, ':');
    _cleanup_free_ char *ctrl = colon ? xstrndup(sub, (size_t)(colon - sub)) : NULL;
    const char *name = colon ? colon + 1 : sub;
    if (!sub_name_ok(name))
        return err_setx(EINVAL, "--cgroup \"%s\": expected a path inside the container's cgroup",
                        sub);
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    bool matched = false;
    for (size_t i = 0; i < cg->n_h; i++) {
        const struct cg_hier *h = &cg->h[i];
        bool here = !ctrl || (*ctrl ? !h->unified && subset(ctrl, h->name) : h->unified);
        _cleanup_free_ char *file = here ? xasprintf("%s/%s/cgroup.procs", h->dir, name)
                                         : xasprintf("%s/cgroup.procs", h->dir);
        matched |= here;
        int r = write_string_at(AT_FDCWD, file, buf);
        if (r < 0)
            return err_set(r, "--cgroup %s: move pid %d into %s", sub, (int)pid, file);
    }
    if (!matched)
        return err_setx(ENOENT, "--cgroup %s: the container has no %s hierarchy", sub, ctrl);
    return 0;
}

static const struct cg_hier *procs_hier(const struct cgroup *cg)
{
    if (cg->mode == CGROUP_MODE_UNIFIED)
        return cg_unified(cg);
    for (size_t i = 0; i < cg->n_h; i++)
        if (!cg->h[i].unified && (cg->h[i].ctrls & CG_BIT(CG_PIDS)))
            return &cg->h[i];
    return main_hier(cg);
}

struct pidv {
    pid_t *v;
    size_t n, cap;
};

static void pidv_add(struct pidv *p, pid_t pid)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 32;
        p->v = xreallocarray(p->v, p->cap, sizeof(pid_t));
    }
    p->v[p->n++] = pid;
}

/* Processes of dir and every cgroup below it (children first would not matter here). */
static int collect_pids(const char *dir, struct pidv *out, int depth)
{
    struct cg_hier at = {.dir = (char *)dir};
    _cleanup_free_ char *procs = NULL;
    int r = cg_read(&at, "cgroup.procs", &procs);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    char *save = NULL;
    for (char *t = strtok_r(procs, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
        int pid;
        if (parse_int(t, &pid) == 0 && pid > 0)
            pidv_add(out, pid);
    }
    if (depth >= 64)
        return 0;
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : err_set(errno, "cgroup: opening %s", dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || streq(e->d_name, ".") || streq(e->d_name, ".."))
            continue;
        _cleanup_free_ char *sub = xasprintf("%s/%s", dir, e->d_name);
        r = collect_pids(sub, out, depth + 1);
        if (r < 0)
            return r;
    }
    return 0;
}

static int cmp_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

int cgroup_pids(const struct cgroup *cg, pid_t **out, size_t *n)
{
    struct pidv p = {0};
    int r = collect_pids(procs_hier(cg)->dir, &p, 0);
    if (r < 0) {
        free(p.v);
        return r;
    }
    qsort(p.v, p.n, sizeof(pid_t), cmp_pid);
    size_t w = 0;
    for (size_t i = 0; i < p.n; i++)
        if (w == 0 || p.v[w - 1] != p.v[i])
            p.v[w++] = p.v[i];
    *out = p.v;
    *n = w;
    return 0;
}

int cgroup_kill(const struct cgroup *cg, int sig)
{
    _cleanup_free_ pid_t *pids = NULL;
    size_t n = 0;
    int r = cgroup_pids(cg, &pids, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        if (pids[i] == getpid())
            continue;
        if (kill(pids[i], sig) < 0 && errno != ESRCH)
            return err_set(errno, "cgroup: sending signal %d to pid %d of %s", sig, (int)pids[i],
                           cg->path);
    }
    return 0;
}

/* ---- freezer ---- */

static const struct cg_hier *freezer_v1(const struct cgroup *cg)
{
    for (size_t i = 0; i < cg->n_h; i++)
        if (!cg->h[i].unified && (cg->h[i].ctrls & CG_BIT(CG_FREEZER)))
            return &cg->h[i];
    return NULL;
}

static int read_word(const struct cg_hier *h, const char *file, char *buf, size_t size)
{
    _cleanup_free_ char *s = NULL;
    int r = cg_read(h, file, &s);
    if (r < 0)
        return r == -ENOENT ? err_set(ENOENT, "cgroup: reading %s/%s", h->dir, file) : r;
    s[strcspn(s, " \n")] = '\0';
    snprintf(buf, size, "%s", s);
    return 0;
}

static int freeze_v1(struct cgroup *cg, const struct cg_hier *h, bool frozen)
{
    char state[32];
    if (!frozen) {
        int r = cg_write(cg, h, "freezer", "freezer.state", "THAWED");
        return r;
    }
    uint64_t deadline = cg_now_ms() + FREEZE_TIMEOUT_MS;
    unsigned delay = 1;
    for (unsigned i = 1;; i++) {
        int r = cg_write(cg, h, "freezer", "freezer.state", "FROZEN");
        if (r < 0)
            return r;
        r = read_word(h, "freezer.state", state, sizeof(state));
        if (r < 0)
            return r;
        if (streq(state, "FROZEN"))
            return 0;
        if (cg_now_ms() > deadline) {
            cg_write(cg, h, "freezer", "freezer.state", "THAWED");
            return err_setx(ETIMEDOUT,
                            "cgroup: freezer: %s/freezer.state still %s after %d ms; thawed it "
                            "again (a process may be stuck in an uninterruptible sleep)",
                            h->dir, state, FREEZE_TIMEOUT_MS);
        }
        /* a task racing with fork can leave the v1 freezer stuck in FREEZING: kick it */
        if (i % 25 == 0)
            cg_write(cg, h, "freezer", "freezer.state", "THAWED");
        cg_sleep_ms(delay);
        if (delay < 20)
            delay *= 2;
    }
}

static int freeze_v2(struct cgroup *cg, const struct cg_hier *h, bool frozen)
{
    int r = cg_write(cg, h, "freezer", "cgroup.freeze", frozen ? "1" : "0");
    if (r < 0)
        return r;
    uint64_t deadline = cg_now_ms() + FREEZE_TIMEOUT_MS;
    unsigned delay = 1;
    for (;;) {
        _cleanup_free_ char *ev = NULL;
        uint64_t v;
        r = cg_read(h, "cgroup.events", &ev);
        if (r < 0)
            return r == -ENOENT ? err_set(ENOENT, "cgroup: reading %s/cgroup.events", h->dir) : r;
        if (cg_keyed_u64(ev, "frozen", &v) == 0 && (v != 0) == frozen)
            return 0;
        if (cg_now_ms() > deadline) {
            if (frozen)
                cg_write(cg, h, "freezer", "cgroup.freeze", "0");
            return err_setx(ETIMEDOUT,
                            "cgroup: freezer: %s/cgroup.events does not report frozen %d after "
                            "%d ms%s",
                            h->dir, frozen, FREEZE_TIMEOUT_MS, frozen ? "; thawed it again" : "");
        }
        cg_sleep_ms(delay);
        if (delay < 20)
            delay *= 2;
    }
}

int cgroup_freeze(struct cgroup *cg, bool frozen)
{
    const struct cg_hier *h = freezer_v1(cg);
    if (h)
        return freeze_v1(cg, h, frozen);
    h = cg_unified(cg);
    if (h && cg_has_file(h, "cgroup.freeze"))
        return freeze_v2(cg, h, frozen);
    return cg_unsupported(cg, "freezer",
                          "there is no v1 freezer hierarchy and no cgroup.freeze (kernel < 5.2)");
}

int cgroup_is_frozen(const struct cgroup *cg, bool *frozen)
{
    char state[32];
    const struct cg_hier *h = freezer_v1(cg);
    if (h) {
        int r = read_word(h, "freezer.state", state, sizeof(state));
        if (r < 0)
            return r;
        *frozen = !streq(state, "THAWED");
        return 0;
    }
    h = cg_unified(cg);
    if (h && cg_has_file(h, "cgroup.freeze")) {
        int r = read_word(h, "cgroup.freeze", state, sizeof(state));
        if (r < 0)
            return r;
        *frozen = streq(state, "1");
        return 0;
    }
    *frozen = false;
    return 0;
}

char *cgroup_freezer_file(const struct cgroup *cg)
{
    const struct cg_hier *h = freezer_v1(cg);
    if (h)
        return xstrjoin(h->dir, "/freezer.state");
    h = cg_unified(cg);
    return h ? xstrjoin(h->dir, "/cgroup.freeze") : NULL;
}

int cgroup_freezer_file_frozen(const char *path, bool *frozen)
{
    char buf[32];
    const char *base = strrchr(path, '/');
    bool v1 = base && streq(base + 1, "freezer.state");
    *frozen = false;
    if (path[0] != '/' || (!v1 && !(base && streq(base + 1, "cgroup.freeze"))))
        return -EINVAL;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT && !v1 ? 0 : -errno;
    /* a cgroup file's whole (short) content comes in one read */
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    buf[strcspn(buf, " \n")] = '\0';
    *frozen = v1 ? !streq(buf, "THAWED") : streq(buf, "1");
    return 0;
}

/* ---- destroy ---- */

/* rmdir dir after every cgroup below it; 0 when gone, -EBUSY/-ENOTEMPTY while busy. */
static int rmdir_tree(const char *dir, int depth)
{
    if (depth < 64) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
            return errno == ENOENT ? 0 : err_set(errno, "cgroup: opening %s", dir);
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_type != DT_DIR || streq(e->d_name, ".") || streq(e->d_name, ".."))
                continue;
            _cleanup_free_ char *sub = xasprintf("%s/%s", dir, e->d_name);
            int r = rmdir_tree(sub, depth + 1);
            if (r < 0)
                return r;
        }
    }
    if (rmdir(dir) == 0 || errno == ENOENT)
        return 0;
    if (errno == EBUSY || errno == ENOTEMPTY)
        return -errno;
    return err_set(errno, "cgroup: removing %s", dir);
}

/* v1: a frozen task cannot die, and a child cgroup frozen by itself stays frozen when its
 * parent thaws: thaw the whole tree */
static void thaw_v1_tree(const struct cgroup *cg, const char *dir, int depth)
{
    struct cg_hier at = {.dir = (char *)dir};
    char state[32];
    if (read_word(&at, "freezer.state", state, sizeof(state)) == 0 && !streq(state, "THAWED"))
        cg_write(cg, &at, "freezer", "freezer.state", "THAWED");
    _cleanup_closedir_ DIR *d = depth < 64 ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_type != DT_DIR || streq(e->d_name, ".") || streq(e->d_name, ".."))
            continue;
        _cleanup_free_ char *sub = xasprintf("%s/%s", dir, e->d_name);
        thaw_v1_tree(cg, sub, depth + 1);
    }
}

static void thaw_for_destroy(struct cgroup *cg)
{
    const struct cg_hier *h = freezer_v1(cg);
    if (h && access(h->dir, F_OK) == 0)
        thaw_v1_tree(cg, h->dir, 0);
    const struct cg_hier *u = cg_unified(cg);
    if (u && cg_has_file(u, "cgroup.freeze"))
        cg_write(cg, u, "freezer", "cgroup.freeze", "0");
}

static void kill_all(struct cgroup *cg, size_t *n_left, pid_t *example)
{
    *n_left = 0;
    for (size_t i = 0; i < cg->n_h; i++) {
        struct pidv p = {0};
        if (collect_pids(cg->h[i].dir, &p, 0) < 0)
            err_clear();
        for (size_t j = 0; j < p.n; j++) {
            if (p.v[j] == getpid())
                continue;
            kill(p.v[j], SIGKILL);
            *example = p.v[j];
            (*n_left)++;
        }
        free(p.v);
    }
}

int cgroup_destroy(struct cgroup *cg)
{
    thaw_for_destroy(cg);
    const struct cg_hier *u = cg_unified(cg);
    if (u && cg_has_file(u, "cgroup.kill"))
        cg_write(cg, u, "cgroup.kill", "cgroup.kill", "1");
    err_clear();

    uint64_t deadline = cg_now_ms() + DESTROY_TIMEOUT_MS;
    unsigned delay = 1;
    for (;;) {
        bool busy = false;
        const char *busy_dir = NULL;
        for (size_t i = 0; i < cg->n_h; i++) {
            int r = rmdir_tree(cg->h[i].dir, 0);
            if (r == -EBUSY || r == -ENOTEMPTY) {
                busy = true;
                busy_dir = cg->h[i].dir;
            } else if (r < 0) {
                return r;
            }
        }
        if (!busy)
            break;
        size_t left = 0;
        pid_t example = 0;
        kill_all(cg, &left, &example);
        if (cg_now_ms() > deadline) {
            if (left)
                return err_setx(EBUSY,
                                "cgroup: removing %s: still busy after %d ms, %zu process(es) "
                                "left (e.g. pid %d, which SIGKILL did not end: stuck in the "
                                "kernel?)",
                                busy_dir, DESTROY_TIMEOUT_MS, left, (int)example);
            return err_setx(EBUSY, "cgroup: removing %s: still busy after %d ms", busy_dir,
                            DESTROY_TIMEOUT_MS);
        }
        cg_sleep_ms(delay);
        if (delay < 100)
            delay *= 2;
    }
    for (size_t i = 0; i < cg->n_h; i++)
        rmdir_up_to_top(&cg->h[i]);
    return 0;
}

/* ---- accessors ---- */

const char *cgroup_path(const struct cgroup *cg)
{
    return cg->path;
}

enum cgroup_mode cgroup_mode(const struct cgroup *cg)
{
    return cg->mode;
}

void cgroup_free(struct cgroup *cg)
{
    if (!cg)
        return;
    for (size_t i = 0; i < cg->n_h; i++) {
        struct cg_hier *h = &cg->h[i];
        free(h->name);
        free(h->mountpoint);
        free(h->mount_root);
        free(h->own);
        free(h->rel);
        free(h->dir);
        free(h->top);
    }
    free(cg->h);
    free(cg->path);
    free(cg);
}
