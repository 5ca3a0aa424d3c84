/*
 * cgroup/ on the real host (root only): cgroups are created below the test's
 * own cgroup in every hierarchy, limits are proven with real processes
 * (OOM kill, pids limit, cpu quota, freezer, device access), and every cgroup
 * is removed again. Runs on legacy, hybrid and unified hosts; the mode-specific
 * file names are picked at run time.
 *
 * BERTH_TEST_HYBRID_HUGETLB=1 also tests hugepage limits on a hybrid host: that
 * enables hugetlb in the cgroup2 root's cgroup.subtree_control (a host-wide
 * setting), which the test turns off again afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <limits.h>
#include <linux/magic.h>

#include "cgroup/internal.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/util.h"
#include "tests/unit/unit.h"

#define MiB (1024 * 1024)

static enum cgroup_mode host_mode;
static int id_seq;
static char ids[64][64];
static int n_ids;

static const char *new_id(void)
{
    snprintf(ids[n_ids], sizeof(ids[n_ids]), "berth-live-%d-%d", (int)getpid(), ++id_seq);
    return ids[n_ids++];
}

static char *slurp(const char *path)
{
    char *s = NULL;
    if (read_file_at(AT_FDCWD, path, 1 << 20, &s, NULL) < 0)
        return xstrdup("(unreadable)");
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    return s;
}

static char *hfile(const struct cg_hier *h, const char *file)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", h->dir, file);
    return slurp(p);
}

#define CHECK_HFILE(h, file, want)                \
    do {                                          \
        _cleanup_free_ char *_s = hfile(h, file); \
        CHECK_STR(_s, want);                      \
    } while (0)

#define CHECK_OK(expr)                                \
    do {                                              \
        err_clear();                                  \
        int _r = (expr);                              \
        if (_r < 0)                                   \
            printf("#   %s: %s\n", #expr, err_msg()); \
        CHECK_INT(_r, 0);                             \
    } while (0)

static uint64_t now_ms(void)
{
    return cg_now_ms();
}

/* ---- children ---- */

struct child {
    pid_t pid;
    int go;     /* write a byte to let it run */
    int report; /* what it says back */
};

/* fork a child that waits for the go byte, then runs fn */
static struct child spawn(int (*fn)(int report, void *arg), void *arg)
{
    int go[2], rep[2];
    struct child c = {-1, -1, -1};
    if (pipe2(go, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0)
        return c;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char b;
        close(go[1]);
        close(rep[0]);
        if (read(go[0], &b, 1) != 1)
            _exit(90);
        _exit(fn(rep[1], arg));
    }
    close(go[0]);
    close(rep[1]);
    c.pid = pid;
    c.go = go[1];
    c.report = rep[0];
    return c;
}

static void child_go(struct child *c)
{
    char b = 'g';
    CHECK_INT(write(c->go, &b, 1), 1);
}

static void child_close(struct child *c)
{
    if (c->go >= 0)
        close(c->go);
    if (c->report >= 0)
        close(c->report);
    c->go = c->report = -1;
}

/* wait for the child to end; returns the wait status */
static int child_wait(struct child *c)
{
    int status = 0;
    if (c->pid > 0 && waitpid(c->pid, &status, 0) < 0)
        status = -1;
    c->pid = -1;
    child_close(c);
    return status;
}

static bool read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static volatile uint64_t *counter;

/* touch 2 MiB of fresh memory (charged to the new cgroup), say so, then spin */
static int busy_child(int report, void *arg)
{
    char *m = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 91;
    memset(m, 1, 2 * MiB);
    char b = 'r';
    if (write(report, &b, 1) != 1)
        return 92;
    for (;;)
        (*counter)++;
}

static int hog_child(int report, void *arg)
{
    size_t size = (size_t)(uintptr_t)arg;
    char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 91;
    for (size_t i = 0; i < size; i += 4096)
        m[i] = 1;
    return 0; /* survived: the limit did not hold */
}

static int forker_child(int report, void *arg)
{
    int n = 0, err = 0;
    for (int i = 0; i < 1000; i++) {
        pid_t p = fork();
        if (p == 0) {
            for (;;)
                pause();
        }
        if (p < 0) {
            err = errno;
            break;
        }
        n++;
    }
    int msg[2] = {n, err};
    if (write(report, msg, sizeof(msg)) != sizeof(msg))
        return 92;
    for (;;)
        pause();
}

/* ---- cgroup helpers ---- */

static struct cgroup *create(const char *id, const char *path, const struct spec_resources *r)
{
    struct cgroup_params p = {.id = id, .path = path, .resources = r};
    struct cgroup *cg = NULL;
    err_clear();
    int ret = cgroup_create(&p, &cg);
    if (ret < 0)
        printf("#   cgroup_create(%s): %s\n", id, err_msg());
    CHECK_INT(ret, 0);
    return cg;
}

static bool dir_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void check_gone(const struct cgroup *cg)
{
    for (size_t i = 0; i < cg->n_h; i++) {
        if (dir_exists(cg->h[i].dir))
            printf("#   still there: %s\n", cg->h[i].dir);
        CHECK(!dir_exists(cg->h[i].dir));
    }
}

static void destroy(struct cgroup *cg)
{
    if (!cg)
        return;
    CHECK_OK(cgroup_destroy(cg));
    check_gone(cg);
    cgroup_free(cg);
}

static const char *mem_limit_file(const struct cg_hier *h)
{
    return h->unified ? "memory.max" : "memory.limit_in_bytes";
}

static struct spec_resources basic_resources(void)
{
    struct spec_resources r = {0};
    r.memory.limit = (struct opt_i64){32 * MiB, true};
    r.pids = (struct spec_pids){true, 20};
    r.cpu.shares = (struct opt_u64){512, true};
    r.cpu.quota = (struct opt_i64){20000, true};
    r.cpu.period = (struct opt_u64){100000, true};
    return r;
}

static bool proc_cgroup_has(pid_t pid, const struct cg_hier *h)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
    _cleanup_free_ char *s = slurp(path);
    char want[512];
    if (h->unified)
        snprintf(want, sizeof(want), "0::%s", h->rel);
    else
        snprintf(want, sizeof(want), ":%s:%s", h->name, h->rel);
    char *hit = strstr(s, want);
    return hit && (hit[strlen(want)] == '\n' || hit[strlen(want)] == '\0');
}

/* ---- cases ---- */

static void test_mode(void)
{
    CHECK_OK(cgroup_detect_mode(&host_mode));
    printf("# host cgroup mode: %s\n", cgroup_mode_name(host_mode));
}

/* cgroup_state_is_frozen of a written state record (what list uses) */
static bool record_frozen(const char *text, size_t len)
{
    struct arena a = {0};
    struct json *v = NULL;
    bool frozen = false;
    CHECK_OK(json_parse(&a, text, len, "state", &v));
    CHECK_OK(cgroup_state_is_frozen(v, &frozen));
    arena_free(&a);
    return frozen;
}

/* the freezer file state.json keeps for list */
static bool file_frozen(const struct cgroup *cg)
{
    _cleanup_free_ char *f = cgroup_freezer_file(cg);
    bool frozen = false;
    CHECK(f != NULL);
    if (f)
        CHECK_OK(cgroup_freezer_file_frozen(f, &frozen));
    return frozen;
}

static void test_lifecycle(void)
{
    struct spec_resources r = basic_resources();
    const char *id = new_id();
    struct cgroup *cg = create(id, NULL, &r);
    if (!cg)
        return;
    CHECK_INT(cgroup_mode(cg), host_mode);

    /* every hierarchy, below the caller's own cgroup */
    for (size_t i = 0; i < cg->n_h; i++) {
        const struct cg_hier *h = &cg->h[i];
        CHECK(dir_exists(h->dir));
        _cleanup_free_ char *want =
                xasprintf("%s%s/%s", h->mountpoint, streq(h->own, "/") ? "" : h->own, id);
        CHECK_STR(h->dir, want);
        printf("# %s: %s\n", h->unified ? "cgroup2" : h->name, h->dir);
    }
    const struct cg_hier *mem = cg_locate(cg, CG_MEMORY), *pids = cg_locate(cg, CG_PIDS);
    const struct cg_hier *cpu = cg_locate(cg, CG_CPU);
    CHECK(mem && pids && cpu);
    if (!mem || !pids || !cpu) {
        destroy(cg);
        return;
    }
    CHECK_HFILE(mem, mem_limit_file(mem), "33554432");
    CHECK_HFILE(pids, "pids.max", "20");
    if (cpu->unified) {
        CHECK_HFILE(cpu, "cpu.max", "20000 100000");
        CHECK_HFILE(cpu, "cpu.weight", "20");
    } else {
        CHECK_HFILE(cpu, "cpu.cfs_quota_us", "20000");
        CHECK_HFILE(cpu, "cpu.cfs_period_us", "100000");
        CHECK_HFILE(cpu, "cpu.shares", "512");
    }
    const struct cg_hier *dev = cg_locate(cg, CG_DEVICES);
    if (dev && !dev->unified) {
        _cleanup_free_ char *list = hfile(dev, "devices.list");
        CHECK_CONTAINS(list, "c 1:3 rwm");
        CHECK_CONTAINS(list, "c 136:* rwm");
        CHECK(!strstr(list, "a *:* rwm"));
    }

    /* a process enters every hierarchy */
    struct child c = spawn(busy_child, NULL);
    CHECK(c.pid > 0);
    CHECK_OK(cgroup_enter(cg, c.pid));
    child_go(&c);
    char ready;
    CHECK(read_full(c.report, &ready, 1));
    for (size_t i = 0; i < cg->n_h; i++) {
        bool in = proc_cgroup_has(c.pid, &cg->h[i]);
        if (!in)
            printf("#   pid %d not in %s:%s\n", (int)c.pid, cg->h[i].name, cg->h[i].rel);
        CHECK(in);
    }
    _cleanup_free_ pid_t *pv = NULL;
    size_t npv = 0;
    CHECK_OK(cgroup_pids(cg, &pv, &npv));
    CHECK_INT(npv, 1);
    if (npv == 1)
        CHECK_INT(pv[0], c.pid);

    /* state round trip: later commands work from the recorded directories */
    struct jw w;
    jw_init(&w, NULL);
    cgroup_state_write(cg, &w);
    size_t len;
    _cleanup_free_ char *text = jw_steal(&w, &len);
    struct arena a = {0};
    struct json *v = NULL;
    CHECK_OK(json_parse(&a, text, len, "state", &v));
    _cleanup_cgroup_ struct cgroup *cg2 = NULL;
    CHECK_OK(cgroup_state_read(v, &cg2));
    arena_free(&a);
    if (!cg2) {
        kill(c.pid, SIGKILL);
        child_wait(&c);
        destroy(cg);
        return;
    }
    CHECK_STR(cgroup_path(cg2), cgroup_path(cg));
    CHECK_INT(cg2->n_h, cg->n_h);
    _cleanup_free_ pid_t *pv2 = NULL;
    CHECK_OK(cgroup_pids(cg2, &pv2, &npv));
    CHECK_INT(npv, 1);

    /* cpu quota 20000/100000: a busy loop gets about 20% of one cpu */
    struct cgroup_stats s0, s1;
    CHECK_OK(cgroup_stats(cg2, &s0));
    uint64_t t0 = now_ms();
    cg_sleep_ms(2000);
    CHECK_OK(cgroup_stats(cg2, &s1));
    uint64_t t1 = now_ms();
    double share = (double)(s1.cpu_total - s0.cpu_total) / ((double)(t1 - t0) * 1e6);
    printf("# cpu share under quota 20000/100000 over %llu ms: %.3f\n",
           (unsigned long long)(t1 - t0), share);
    CHECK(share > 0.10 && share < 0.30);
    CHECK(s1.throttled_periods > s0.throttled_periods);
    cgroup_stats_free(&s0);

    /* stats */
    CHECK_INT(s1.mem_limit, 32 * MiB);
    CHECK(s1.mem_usage >= 2 * MiB);
    CHECK_INT(s1.pids_current, 1);
    CHECK_INT(s1.pids_limit, 20);
    CHECK(s1.n_mem_raw > 5);
    jw_init(&w, NULL);
    cgroup_stats_to_json(&s1, &w);
    _cleanup_free_ char *js = jw_steal(&w, NULL);
    CHECK_CONTAINS(js, "\"pids\":{\"current\":1,\"limit\":20}");
    CHECK_CONTAINS(js, "\"usage\":{\"limit\":33554432,");
    printf("# stats: %.300s...\n", js);
    cgroup_stats_free(&s1);

    /* freeze: the counter stops; thaw: it moves again */
    CHECK_OK(cgroup_freeze(cg2, true));
    bool frozen = false;
    CHECK_OK(cgroup_is_frozen(cg2, &frozen));
    CHECK(frozen);
    CHECK(record_frozen(text, len));
    CHECK(file_frozen(cg2));
    uint64_t n1 = *counter;
    cg_sleep_ms(300);
    uint64_t n2 = *counter;
    CHECK_INT(n2, n1);
    CHECK_OK(cgroup_freeze(cg2, false));
    CHECK_OK(cgroup_is_frozen(cg2, &frozen));
    CHECK(!frozen);
    CHECK(!record_frozen(text, len));
    CHECK(!file_frozen(cg2));
    cg_sleep_ms(300);
    CHECK(*counter > n2);

    /* update: raise, lower, refuse below usage with checkBeforeUpdate */
    struct spec_resources u = {0};
    u.memory.limit = (struct opt_i64){64 * MiB, true};
    CHECK_OK(cgroup_update(cg2, &u));
    CHECK_HFILE(mem, mem_limit_file(mem), "67108864");
    u.memory.limit.v = 16 * MiB;
    u.pids = (struct spec_pids){true, 30};
    CHECK_OK(cgroup_update(cg2, &u));
    CHECK_HFILE(mem, mem_limit_file(mem), "16777216");
    CHECK_HFILE(pids, "pids.max", "30");
    u = (struct spec_resources){0};
    u.memory.limit = (struct opt_i64){1 * MiB, true};
    u.memory.check_before_update = (struct opt_bool){true, true};
    err_clear();
    CHECK_INT(cgroup_update(cg2, &u), -EBUSY);
    CHECK_CONTAINS(err_msg(), "checkBeforeUpdate");
    CHECK_HFILE(mem, mem_limit_file(mem), "16777216");
    u = (struct spec_resources){0};
    u.cpu.quota = (struct opt_i64){-1, true};
    CHECK_OK(cgroup_update(cg2, &u));
    if (cpu->unified)
        CHECK_HFILE(cpu, "cpu.max", "max 100000");
    else
        CHECK_HFILE(cpu, "cpu.cfs_quota_us", "-1");

    /* delete --force on a paused container: frozen processes are killed and removed */
    CHECK_OK(cgroup_freeze(cg2, true));
    uint64_t d0 = now_ms();
    CHECK_OK(cgroup_destroy(cg2));
    uint64_t d1 = now_ms();
    printf("# destroy of a frozen cgroup with 1 process: %llu ms\n", (unsigned long long)(d1 - d0));
    CHECK(d1 - d0 < 5000);
    check_gone(cg);
    int st = child_wait(&c);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    CHECK_OK(cgroup_destroy(cg2)); /* idempotent */
    CHECK_OK(cgroup_destroy(cg));
    cgroup_free(cg);
}

static void test_oom(void)
{
    struct spec_resources r = {0};
    r.memory.limit = (struct opt_i64){32 * MiB, true};
    r.memory.swap = (struct opt_i64){32 * MiB, true}; /* no swap either */
    struct cgroup *cg = create(new_id(), NULL, &r);
    if (!cg)
        return;
    struct cgroup_stats s0;
    CHECK_OK(cgroup_stats(cg, &s0));
    CHECK_INT(s0.oom_kill, 0);
    cgroup_stats_free(&s0);

    struct child c = spawn(hog_child, (void *)(uintptr_t)(128 * MiB));
    CHECK_OK(cgroup_enter(cg, c.pid));
    child_go(&c);
    int st = child_wait(&c);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    if (!WIFSIGNALED(st))
        printf("#   hog ended with status 0x%x: the limit did not hold\n", st);

    struct cgroup_stats s1;
    CHECK_OK(cgroup_stats(cg, &s1));
    printf("# after the hog: oom_kill %llu, failcnt %llu (memory+swap %llu), max usage %llu\n",
           (unsigned long long)s1.oom_kill, (unsigned long long)s1.mem_failcnt,
           (unsigned long long)s1.swap_failcnt, (unsigned long long)s1.mem_max);
    CHECK(s1.oom_kill >= 1);
    /* failcnt is informational: kernels since 6.12 count it on v1 only for some counters */
    const struct cg_hier *mh = cg_locate(cg, CG_MEMORY);
    if (mh && !mh->unified) {
        _cleanup_free_ char *fc = hfile(mh, "memory.failcnt");
        printf("# memory.failcnt file: %s\n", fc);
    }
    CHECK(s1.mem_max == 0 || s1.mem_max <= 32 * MiB);
    cgroup_stats_free(&s1);
    destroy(cg);
}

static void test_pids_and_destroy(void)
{
    struct spec_resources r = {0};
    r.pids = (struct spec_pids){true, 20};
    struct cgroup *cg = create(new_id(), NULL, &r);
    if (!cg)
        return;
    struct child c = spawn(forker_child, NULL);
    CHECK_OK(cgroup_enter(cg, c.pid));
    child_go(&c);
    int msg[2] = {0, 0};
    CHECK(read_full(c.report, msg, sizeof(msg)));
    printf("# forks before the pids limit: %d (errno %d)\n", msg[0], msg[1]);
    CHECK_INT(msg[0], 19); /* 20 processes including the forker */
    CHECK_INT(msg[1], EAGAIN);

    struct cgroup_stats st;
    CHECK_OK(cgroup_stats(cg, &st));
    CHECK_INT(st.pids_current, 20);
    cgroup_stats_free(&st);
    _cleanup_free_ pid_t *pv = NULL;
    size_t n = 0;
    CHECK_OK(cgroup_pids(cg, &pv, &n));
    CHECK_INT(n, 20);
    for (size_t i = 1; i < n; i++)
        CHECK(pv[i - 1] < pv[i]);

    /* destroy with 20 processes inside */
    uint64_t d0 = now_ms();
    CHECK_OK(cgroup_destroy(cg));
    uint64_t d1 = now_ms();
    printf("# destroy with 20 processes inside: %llu ms\n", (unsigned long long)(d1 - d0));
    CHECK(d1 - d0 < 5000);
    check_gone(cg);
    int ws = child_wait(&c);
    CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
    cgroup_free(cg);
}

static void test_kill(void)
{
    struct cgroup *cg = create(new_id(), NULL, NULL);
    if (!cg)
        return;
    struct child c = spawn(busy_child, NULL);
    CHECK_OK(cgroup_enter(cg, c.pid));
    child_go(&c);
    char b;
    CHECK(read_full(c.report, &b, 1));
    CHECK_OK(cgroup_kill(cg, SIGTERM));
    int st = child_wait(&c);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    destroy(cg);
}

static void test_existing(void)
{
    const char *id = new_id();
    struct cgroup *cg = create(id, NULL, NULL);
    if (!cg)
        return;
    struct child c = spawn(busy_child, NULL);
    CHECK_OK(cgroup_enter(cg, c.pid));
    child_go(&c);
    char b;
    CHECK(read_full(c.report, &b, 1));

    /* in use: refused, and nothing of the first is touched */
    struct cgroup_params p = {.id = id};
    struct cgroup *again = NULL;
    err_clear();
    CHECK_INT(cgroup_create(&p, &again), -EEXIST);
    CHECK_CONTAINS(err_msg(), "already exists and has processes");
    CHECK(again == NULL);
    for (size_t i = 0; i < cg->n_h; i++)
        CHECK(dir_exists(cg->h[i].dir));

    kill(c.pid, SIGKILL);
    child_wait(&c);
    /* empty: reused */
    cg_sleep_ms(50);
    struct spec_resources r = {0};
    r.pids = (struct spec_pids){true, 7};
    struct cgroup *reuse = create(id, NULL, &r);
    if (reuse) {
        CHECK_HFILE(cg_locate(reuse, CG_PIDS), "pids.max", "7");
        destroy(reuse);
    }
    check_gone(cg);
    cgroup_free(cg);
}

static void test_rollback(void)
{
    const char *id = new_id();
    /* an absolute path below our own cgroups, two levels deep: the middle one is ours too */
    struct cgroup probe = {0};
    CHECK_OK(cg_discover(host_mode, &probe));
    const struct cg_hier *mh = NULL;
    for (size_t i = 0; i < probe.n_h; i++)
        if (!probe.h[i].unified && (probe.h[i].ctrls & CG_BIT(CG_MEMORY)))
            mh = &probe.h[i];
    if (!mh)
        mh = cg_unified(&probe);
    _cleanup_free_ char *own = xstrdup(mh && mh->own ? mh->own : "/");

    struct spec_resources r = {0};
    r.memory.limit = (struct opt_i64){32 * MiB, true};
    r.memory.swap = (struct opt_i64){16 * MiB, true}; /* invalid: below the limit */
    _cleanup_free_ char *rel = xasprintf("%s/%s", id, "inner");
    struct cgroup_params p = {.id = id, .path = rel, .resources = &r};
    struct cgroup *cg = NULL;
    err_clear();
    CHECK(cgroup_create(&p, &cg) < 0);
    CHECK_CONTAINS(err_msg(), "memory.swap");
    CHECK(cg == NULL);
    for (size_t i = 0; i < probe.n_h; i++) {
        const struct cg_hier *h = &probe.h[i];
        _cleanup_free_ char *d =
                xasprintf("%s%s/%s", h->mountpoint, streq(h->own, "/") ? "" : h->own, id);
        if (dir_exists(d))
            printf("#   left behind: %s\n", d);
        CHECK(!dir_exists(d));
    }

    /* the same nested path works, and destroy removes the middle level it made */
    struct cgroup *ok = create(id, rel, NULL);
    if (ok) {
        CHECK(strstr(cgroup_path(ok), "/inner") != NULL);
        destroy(ok);
    }
    for (size_t i = 0; i < probe.n_h; i++) {
        const struct cg_hier *h = &probe.h[i];
        _cleanup_free_ char *d =
                xasprintf("%s%s/%s", h->mountpoint, streq(h->own, "/") ? "" : h->own, id);
        CHECK(!dir_exists(d));
    }

    /* no path escapes */
    struct cgroup_params esc = {.id = id, .path = "../../escape"};
    err_clear();
    CHECK(cgroup_create(&esc, &cg) < 0);
    CHECK_CONTAINS(err_msg(), "..");
    for (size_t i = 0; i < probe.n_h; i++) {
        struct cg_hier *h = &probe.h[i];
        free(h->name);
        free(h->mountpoint);
        free(h->mount_root);
        free(h->own);
    }
    free(probe.h);
}

/* opens done by a child inside the cgroup: bit i set when opens[i] succeeded */
struct open_req {
    const char *path;
    int flags;
};

static int opener_child(int report, void *arg)
{
    const struct open_req *req = arg;
    uint32_t ok = 0, eperm = 0;
    for (int i = 0; req[i].path; i++) {
        int fd = open(req[i].path, req[i].flags | O_CLOEXEC);
        if (fd >= 0) {
            ok |= 1u << i;
            close(fd);
        } else if (errno == EPERM) {
            eperm |= 1u << i;
        }
    }
    uint32_t msg[2] = {ok, eperm};
    return write(report, msg, sizeof(msg)) == sizeof(msg) ? 0 : 92;
}

static uint32_t run_opens(struct cgroup *cg, const struct open_req *req, uint32_t *eperm)
{
    struct child c = spawn(opener_child, (void *)req);
    CHECK_OK(cgroup_enter(cg, c.pid));
    child_go(&c);
    uint32_t msg[2] = {0, 0};
    CHECK(read_full(c.report, msg, sizeof(msg)));
    child_wait(&c);
    *eperm = msg[1];
    return msg[0];
}

/* A device outside the standard set that this machine has (its number varies by host). */
static bool other_device(const char **path, struct spec_device_rule *allow)
{
    static const char *const candidates[] = {"/dev/loop-control", "/dev/tty0",
                                             "/dev/cpu_dma_latency", "/dev/mem", "/dev/ttyS0"};
    for (size_t i = 0; i < ARRAY_SIZE(candidates); i++) {
        struct stat st;
        if (stat(candidates[i], &st) < 0 || !S_ISCHR(st.st_mode))
            continue;
        *path = candidates[i];
        *allow = (struct spec_device_rule){.allow = true,
                                           .type = 'c',
                                           .major = major(st.st_rdev),
                                           .minor = minor(st.st_rdev),
                                           .access = "rwm"};
        return true;
    }
    return false;
}

static void test_devices(void)
{
    struct spec_device_rule rules[] = {
            {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
            {.allow = true, .type = 'c', .major = 1, .minor = 11, .access = "r"},
    };
    struct spec_device_rule rules2[1];
    const char *other = NULL;
    if (!other_device(&other, &rules2[0])) {
        printf("# no second device to test with\n");
        unit_case_failed = 1;
        return;
    }
    printf("# second device: %s (c %lld:%lld)\n", other, (long long)rules2[0].major,
           (long long)rules2[0].minor);
    struct spec_resources r = {0};
    r.devices = rules;
    r.n_devices = 2;
    struct cgroup *cg = create(new_id(), NULL, &r);
    if (!cg)
        return;
    /* only EPERM is the device cgroup's answer; a driver may refuse an allowed open otherwise */
    struct open_req req[] = {{"/dev/kmsg", O_RDONLY}, {"/dev/kmsg", O_WRONLY},
                             {"/dev/null", O_RDWR},   {"/dev/full", O_RDWR},
                             {other, O_RDWR},         {NULL, 0}};
    uint32_t eperm, ok = run_opens(cg, req, &eperm);
    printf("# device opens: ok 0x%x eperm 0x%x\n", ok, eperm);
    CHECK_INT(ok & 0xd, 0xd);
    CHECK_INT(eperm, 0x2 | 0x10);

    /* update replaces the rules: the other device now, kmsg no more */
    struct spec_resources u = {0};
    u.devices = rules2;
    u.n_devices = 1;
    CHECK_OK(cgroup_update(cg, &u));
    ok = run_opens(cg, req, &eperm);
    printf("# device opens after update: ok 0x%x eperm 0x%x\n", ok, eperm);
    CHECK_INT(ok & 0xc, 0xc);
    CHECK_INT(eperm, 0x1 | 0x2);
    destroy(cg);
}

static int prog_count(const char *dir)
{
    _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    union bpf_attr attr;
    uint32_t ids_[16];
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = (uint32_t)fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids_;
    attr.query.prog_cnt = 16;
    if (syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)) < 0)
        return -errno;
    return (int)attr.query.prog_cnt;
}

/* The eBPF filter on a live kernel: on a unified host cgroup_create installs it; on a hybrid
 * host the cgroup2 hierarchy accepts device programs too, so load one there directly. */
static void test_bpf_live(void)
{
    struct cg_hier *u;
    struct spec_device_rule open_all[] = {
            {.allow = true, .type = 'a', .major = -1, .minor = -1, .access = "rwm"}};
    struct spec_resources r = {0};
    r.devices = open_all;
    r.n_devices = 1;
    struct cgroup *cg = create(new_id(), NULL, &r);
    if (!cg)
        return;
    u = cg_unified(cg);
    if (!u) {
        printf("# no cgroup2 hierarchy: eBPF filter not testable here\n");
        destroy(cg);
        return;
    }
    CHECK_INT(prog_count(u->dir), host_mode == CGROUP_MODE_UNIFIED ? 1 : 0);

    struct spec_device_rule rules[] = {
            {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
            {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "r"},
            {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rw"},
            {.allow = false, .type = 'c', .major = 1, .minor = 3, .access = "w"},
    };
    _cleanup_free_ struct bpf_insn *insns = NULL;
    size_t n = 0;
    CHECK_OK(cg_bpf_devices_build(rules, 4, false, &insns, &n));
    CHECK_OK(cg_bpf_devices_install(u->dir, insns, n));
    CHECK_INT(prog_count(u->dir), 1); /* replaced, not stacked */

    static const struct open_req req[] = {{"/dev/zero", O_RDONLY}, {"/dev/zero", O_WRONLY},
                                          {"/dev/null", O_RDONLY}, {"/dev/null", O_WRONLY},
                                          {"/dev/full", O_RDONLY}, {NULL, 0}};
    uint32_t eperm, ok = run_opens(cg, req, &eperm);
    printf("# eBPF filter opens: ok 0x%x eperm 0x%x\n", ok, eperm);
    CHECK_INT(ok, 0x1 | 0x4);
    CHECK_INT(eperm, 0x2 | 0x8 | 0x10);

    /* the kernel's verifier accepts what the builder makes of any rule list (the unit tests
     * check the semantics with an interpreter that cannot know the verifier's rules) */
    static const struct spec_device_rule pool[] = {
            {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
            {.allow = true, .type = 'a', .major = -1, .minor = -1, .access = "m"},
            {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "r"},
            {.allow = false, .type = 'c', .major = 1, .minor = -1, .access = "w"},
            {.allow = true, .type = 'b', .major = -1, .minor = 3, .access = "rw"},
            {.allow = false, .type = 'b', .major = 8, .minor = 0, .access = "rwm"},
    };
    for (unsigned set = 0; set < 128; set++) {
        struct spec_device_rule pick[ARRAY_SIZE(pool)];
        size_t np = 0;
        for (size_t i = 0; i < ARRAY_SIZE(pool); i++)
            if (set & (1u << i))
                pick[np++] = pool[i];
        _cleanup_free_ struct bpf_insn *prog = NULL;
        CHECK_OK(cg_bpf_devices_build(pick, np, set & 64, &prog, &n));
        CHECK_OK(cg_bpf_devices_install(u->dir, prog, n));
    }

    _cleanup_free_ struct bpf_insn *all = NULL;
    CHECK_OK(cg_bpf_devices_build(open_all, 1, false, &all, &n));
    CHECK_OK(cg_bpf_devices_install(u->dir, all, n));
    CHECK_INT(prog_count(u->dir), 1);
    ok = run_opens(cg, req, &eperm);
    CHECK_INT(ok, 0x1f);
    destroy(cg);
}

struct mount_job {
    struct cgroup *cg;
    bool cgroupns;
    char dir[256];
};

static int mount_job_child(int report, void *arg)
{
    struct mount_job *j = arg;
    if (j->cgroupns && unshare(CLONE_NEWCGROUP) < 0)
        return 10;
    if (unshare(CLONE_NEWNS) < 0)
        return 11;
    /* nothing of ours may propagate to the host */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 12;
    int fd = open(j->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 13;
    char target[64];
    snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
    if (cgroup_mount_in_container(j->cg, target, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
                                  j->cgroupns) < 0) {
        dprintf(report, "%s", err_msg());
        return 14;
    }
    /* what the container would see */
    const struct cg_hier *mem = cg_locate(j->cg, CG_MEMORY);
    char path[PATH_MAX];
    if (j->cg->mode == CGROUP_MODE_UNIFIED)
        snprintf(path, sizeof(path), "%s/memory.max", j->dir);
    else
        snprintf(path, sizeof(path), "%s/%s/memory.limit_in_bytes", j->dir,
                 strrchr(mem->mountpoint, '/') + 1);
    _cleanup_free_ char *v = slurp(path);
    if (!streq(v, "33554432")) {
        dprintf(report, "%s = %s", path, v);
        return 15;
    }
    snprintf(path, sizeof(path), "%s/cgroup.procs", j->dir);
    if (j->cg->mode != CGROUP_MODE_UNIFIED)
        snprintf(path, sizeof(path), "%s/%s/cgroup.procs", j->dir,
                 strrchr(mem->mountpoint, '/') + 1);
    if (open(path, O_WRONLY | O_CLOEXEC) >= 0 || errno != EROFS) {
        dprintf(report, "%s writable (errno %d)", path, errno);
        return 16;
    }
    if (j->cg->mode != CGROUP_MODE_UNIFIED) {
        struct statfs sf;
        snprintf(path, sizeof(path), "%s/x", j->dir);
        if (mkdir(path, 0755) == 0 || errno != EROFS)
            return 17; /* the tmpfs is read-only too */
        if (j->cg->mode == CGROUP_MODE_HYBRID) {
            snprintf(path, sizeof(path), "%s/unified", j->dir);
            if (statfs(path, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
                return 18;
        }
        /* every v1 hierarchy is there, named as on the host */
        for (size_t i = 0; i < j->cg->n_h; i++) {
            if (j->cg->h[i].unified)
                continue;
            snprintf(path, sizeof(path), "%s/%s/cgroup.procs", j->dir,
                     strrchr(j->cg->h[i].mountpoint, '/') + 1);
            if (access(path, F_OK) < 0) {
                dprintf(report, "missing %s", path);
                return 19;
            }
        }
    }
    return 0;
}

static void test_mount_in_container(void)
{
    struct spec_resources r = {0};
    r.memory.limit = (struct opt_i64){32 * MiB, true};
    struct cgroup *cg = create(new_id(), NULL, &r);
    if (!cg)
        return;
    for (int ns = 0; ns < 2; ns++) {
        struct mount_job j = {.cg = cg, .cgroupns = ns};
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(j.dir, sizeof(j.dir), "%s/berth-live-mnt-XXXXXX", tmp);
        CHECK(mkdtemp(j.dir) != NULL);
        struct child c = spawn(mount_job_child, &j);
        /* the container process sits in its cgroup before it makes a cgroup namespace */
        CHECK_OK(cgroup_enter(cg, c.pid));
        child_go(&c);
        char msg[512] = "";
        ssize_t n = read(c.report, msg, sizeof(msg) - 1);
        msg[n > 0 ? n : 0] = '\0';
        int st = child_wait(&c);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            printf("#   cgroupns=%d: child status 0x%x: %s\n", ns, st, msg);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        CHECK_INT(rmdir(j.dir), 0);
    }
    destroy(cg);
}

static void test_clone_into_cgroup(void)
{
    struct cgroup *cg = create(new_id(), NULL, NULL);
    if (!cg)
        return;
    int fd = cgroup_clone_fd(cg);
    if (host_mode != CGROUP_MODE_UNIFIED) {
        CHECK_INT(fd, -1);
        printf("# %s: no CLONE_INTO_CGROUP (v1 hierarchies need cgroup.procs)\n",
               cgroup_mode_name(host_mode));
        destroy(cg);
        return;
    }
    CHECK(fd >= 0);
    struct clone_args args = {0};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)fd;
    fflush(stdout);
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0) {
        for (;;)
            pause();
    }
    CHECK(pid > 0);
    close(fd);
    if (pid > 0) {
        CHECK(proc_cgroup_has((pid_t)pid, cg_unified(cg)));
        destroy(cg); /* kills it */
        int st;
        waitpid((pid_t)pid, &st, 0);
        CHECK(WIFSIGNALED(st));
    } else {
        destroy(cg);
    }
}

static void test_hugetlb(void)
{
    bool opt_in = getenv("BERTH_TEST_HYBRID_HUGETLB") != NULL;
    if (host_mode == CGROUP_MODE_HYBRID && !opt_in) {
        printf("# hybrid host: hugetlb would have to be enabled in the cgroup2 root; set "
               "BERTH_TEST_HYBRID_HUGETLB=1 to test it\n");
        return;
    }
    struct cgroup probe = {0};
    CHECK_OK(cg_discover(host_mode, &probe));
    struct cg_hier *u = cg_unified(&probe);
    uint32_t root_on = 0;
    if (u)
        cg_v2_read_ctrls(u->mountpoint, "cgroup.subtree_control", &root_on);

    struct spec_hugepage_limit huge[] = {{.page_size = (char *)"2MB", .limit = 4 * MiB}};
    struct spec_resources r = {0};
    r.hugepage_limits = huge;
    r.n_hugepage_limits = 1;
    struct cgroup *cg = create(new_id(), NULL, &r);
    if (cg) {
        const struct cg_hier *h = cg_locate(cg, CG_HUGETLB);
        CHECK(h != NULL);
        if (h)
            CHECK_HFILE(h, h->unified ? "hugetlb.2MB.max" : "hugetlb.2MB.limit_in_bytes",
                        "4194304");
        struct cgroup_stats st;
        CHECK_OK(cgroup_stats(cg, &st));
        CHECK(st.n_hugetlb >= 1);
        cgroup_stats_free(&st);
        destroy(cg);
    }
    if (u && host_mode == CGROUP_MODE_HYBRID && !(root_on & CG_BIT(CG_HUGETLB))) {
        /* put the host back as it was */
        struct cg_hier root = {.dir = u->mountpoint};
        CHECK_OK(cg_write(&probe, &root, "test", "cgroup.subtree_control", "-hugetlb"));
    }
    for (size_t i = 0; i < probe.n_h; i++) {
        free(probe.h[i].name);
        free(probe.h[i].mountpoint);
        free(probe.h[i].mount_root);
        free(probe.h[i].own);
    }
    free(probe.h);
}

static void test_unsupported_named(void)
{
    /* something this host cannot do names the resource and the mode, and leaves nothing */
    struct spec_resources r = {0};
    struct json_kv kv[] = {{"memory.high", "104857600"}};
    r.unified = kv;
    r.n_unified = 1;
    struct cgroup_params p = {.id = new_id(), .resources = &r};
    struct cgroup *cg = NULL;
    err_clear();
    int ret = cgroup_create(&p, &cg);
    if (host_mode == CGROUP_MODE_UNIFIED) {
        /* v2: memory.high via unified is supported */
        CHECK_INT(ret, 0);
        if (cg) {
            CHECK_HFILE(cg_unified(cg), "memory.high", "104857600");
            destroy(cg);
        }
        return;
    }
    CHECK(ret < 0);
    CHECK_CONTAINS(err_msg(), "memory.high");
    CHECK_CONTAINS(err_msg(), cgroup_mode_name(host_mode));
    printf("# %s\n", err_msg());
}

static void test_leftovers(void)
{
    /* nothing named berth-live-<pid>-* below our own cgroup in any hierarchy */
    struct cgroup probe = {0};
    CHECK_OK(cg_discover(host_mode, &probe));
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "berth-live-%d-", (int)getpid());
    for (size_t i = 0; i < probe.n_h; i++) {
        const struct cg_hier *h = &probe.h[i];
        _cleanup_free_ char *d = xasprintf("%s%s", h->mountpoint, streq(h->own, "/") ? "" : h->own);
        _cleanup_closedir_ DIR *dir = opendir(d);
        CHECK(dir != NULL);
        struct dirent *e;
        while (dir && (e = readdir(dir))) {
            if (startswith(e->d_name, prefix))
                printf("#   left behind: %s/%s\n", d, e->d_name);
            CHECK(!startswith(e->d_name, prefix));
        }
    }
    for (size_t i = 0; i < probe.n_h; i++) {
        free(probe.h[i].name);
        free(probe.h[i].mountpoint);
        free(probe.h[i].mount_root);
        free(probe.h[i].own);
    }
    free(probe.h);
}

static uint32_t root_subtree_before;

static void test_root_snapshot(void)
{
    if (host_mode == CGROUP_MODE_LEGACY)
        return;
    const char *root =
            host_mode == CGROUP_MODE_UNIFIED ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
    CHECK_OK(cg_v2_read_ctrls(root, "cgroup.subtree_control", &root_subtree_before));
}

static void test_root_untouched(void)
{
    if (host_mode != CGROUP_MODE_HYBRID)
        return;
    uint32_t now = 0;
    CHECK_OK(cg_v2_read_ctrls("/sys/fs/cgroup/unified", "cgroup.subtree_control", &now));
    CHECK_INT(now, root_subtree_before);
}

int main(void)
{
    if (geteuid() != 0) {
        printf("1..0 # SKIP not root: this test creates real cgroups\n");
        return 77;
    }
    counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    static const struct unit_case cases[] = {
            UNIT(test_mode),
            UNIT(test_root_snapshot),
            UNIT(test_lifecycle),
            UNIT(test_oom),
            UNIT(test_pids_and_destroy),
            UNIT(test_kill),
            UNIT(test_existing),
            UNIT(test_rollback),
            UNIT(test_devices),
            UNIT(test_bpf_live),
            UNIT(test_mount_in_container),
            UNIT(test_clone_into_cgroup),
            UNIT(test_hugetlb),
            UNIT(test_unsupported_named),
            UNIT(test_leftovers),
            UNIT(test_root_untouched),
    };
    size_t n = ARRAY_SIZE(cases);
    int failed = 0;
    printf("1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        unit_case_failed = 0;
        cases[i].fn();
        printf("%s %zu - %s\n", unit_case_failed ? "not ok" : "ok", i + 1, cases[i].name);
        fflush(stdout);
        failed += unit_case_failed;
    }
    return failed ? 1 : 0;
}
