/* benchtool: the timing loops of bench/run.sh that a shell cannot time precisely.
 *
 * It drives any OCI runtime CLI (berth, runc, crun) through fork+exec, timing each command
 * with CLOCK_MONOTONIC, and makes itself a child subreaper so that a container's process,
 * once the runtime that spawned it has exited, is reparented here and can be waited for.
 *
 *   benchtool cycle -n ITER [-w WARMUP] -o OUT.tsv -- RT [-- RT ...]
 *       create + start + wait for the process + delete, ITER times per runtime, interleaved
 *       (iteration i starts with runtime i mod #RT, so no runtime always runs first).
 *       RT = LABEL ROOT BUNDLE CGDIR BIN [CREATE-ARGS...]; CGDIR is the container's memory
 *       cgroup directory ("-": none): its usage is read while the container is `created`
 *       and its peak once the process has exited, before delete.
 *       OUT: label iter create_ms start_ms wait_ms delete_ms total_ms mem_created mem_peak
 *
 *   benchtool fill -N MAX -c N1,N2,... -o PREFIX -P PARENTCG -- LABEL ROOT BUNDLE% BIN [ARGS...]
 *       create + start containers 1..MAX (BUNDLE% has "%d" for the index), with `list` and
 *       `state` timed 7 times each and memory sampled at every checkpoint, then
 *       `delete --force` of all of them.  PREFIX.start.tsv: i create_ms start_ms;
 *       PREFIX.points.tsv: n list_ms state_ms list_count memavail_kb slab_kb cg_bytes;
 *       PREFIX.delete.tsv: i delete_ms.  PARENTCG: memory cgroup dir whose usage is
 *       sampled ("-": none).
 *
 *   benchtool reap -- CMD [ARGS...]
 *       run CMD as a subreaper; container processes it leaves are killed and reaped after.
 *
 *   benchtool conc -M PER -o OUT.tsv -- LABEL ROOT BUNDLE% BIN
 *       one creator making 2*PER containers, then two concurrent creators making PER each
 *       in the same root, then two creators racing for the same PER ids; after each phase
 *       every container must be listed and its state valid, then all are deleted.
 *
 * Every runtime command's stderr goes to a temporary file that is printed if it fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXARGS 64
/* list and state timings at each density point: the median of this many */
#define LIST_REPS 11

static char errlog[] = "/tmp/benchtool-err.XXXXXX";
static int errfd = -1;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("benchtool: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Reap whatever container processes were reparented to us and have exited. */
static int orphans(void);

static void reap_orphans(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

static void dump_errlog(void)
{
    char buf[4096];
    ssize_t n;
    lseek(errfd, 0, SEEK_SET);
    while ((n = read(errfd, buf, sizeof buf)) > 0)
        fwrite(buf, 1, (size_t)n, stderr);
}

/* Run argv with stdin /dev/null, stdout to out_fd (-1: /dev/null), stderr to the error log.
 * Returns the exit status (128+N for signal N). */
static int run_cmd(char **argv, int out_fd)
{
    if (ftruncate(errfd, 0) < 0 || lseek(errfd, 0, SEEK_SET) < 0)
        die("error log: %m");
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %m");
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(null, 0);
        dup2(out_fd >= 0 ? out_fd : null, 1);
        dup2(errfd, 2);
        execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %m\n", argv[0]);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %m");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct rt {
    const char *label, *root, *bundle, *cgdir, *bin;
    char **extra; /* create args */
    int n_extra;
};

/* argv = BIN --root ROOT <words...> */
static int rt_cmd(const struct rt *r, int out_fd, const char *w0, ...)
{
    char *argv[MAXARGS];
    int n = 0;
    argv[n++] = (char *)r->bin;
    argv[n++] = "--root";
    argv[n++] = (char *)r->root;
    va_list ap;
    va_start(ap, w0);
    for (const char *w = w0; w; w = va_arg(ap, const char *)) {
        if (strcmp(w, "@extra") == 0) {
            for (int i = 0; i < r->n_extra && n < MAXARGS - 1; i++)
                argv[n++] = r->extra[i];
            continue;
        }
        if (n < MAXARGS - 1)
            argv[n++] = (char *)w;
    }
    va_end(ap);
    argv[n] = NULL;
    return run_cmd(argv, out_fd);
}

static void must(int rc, const struct rt *r, const char *what, const char *id)
{
    if (rc == 0)
        return;
    fprintf(stderr, "benchtool: %s: %s %s failed (exit %d):\n", r->label, what, id, rc);
    dump_errlog();
    rt_cmd(r, -1, "delete", "--force", id, NULL);
    exit(1);
}

static long long read_ll(const char *dir, const char *file)
{
    if (!dir || strcmp(dir, "-") == 0)
        return -1;
    char path[4096], buf[64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    return strtoll(buf, NULL, 10);
}

/* v1 names first, then v2 */
static long long cg_usage(const char *dir)
{
    long long v = read_ll(dir, "memory.usage_in_bytes");
    return v >= 0 ? v : read_ll(dir, "memory.current");
}

static long long cg_peak(const char *dir)
{
    long long v = read_ll(dir, "memory.max_usage_in_bytes");
    return v >= 0 ? v : read_ll(dir, "memory.peak");
}

static pid_t read_pidfile(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        die("pid file %s: %m", path);
    long p = 0;
    if (fscanf(f, "%ld", &p) != 1 || p <= 0)
        die("pid file %s: no pid", path);
    fclose(f);
    unlink(path);
    return (pid_t)p;
}

/* Wait for a container process that was reparented to us (we are its subreaper). */
static void wait_container(pid_t pid)
{
    int st;
    for (;;) {
        pid_t w = waitpid(pid, &st, 0);
        if (w == pid)
            return;
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == ECHILD) {
            /* not (yet) ours: the runtime's intermediate process has not exited; poll */
            if (kill(pid, 0) < 0 && errno == ESRCH)
                return;
            usleep(200);
            continue;
        }
        die("waitpid %d: %m", pid);
    }
}

/* What a shim does: SIGKILL through the runtime, reap the process, delete. (`delete --force`
 * would do, but runc's sleeps 100 ms before it looks again.) Phase times go to t[3] if set. */
static void kill_wait_delete(const struct rt *r, const char *id, pid_t pid, double *t)
{
    double a = now_ms();
    must(rt_cmd(r, -1, "kill", id, "KILL", NULL), r, "kill", id);
    double b = now_ms();
    wait_container(pid);
    double c = now_ms();
    must(rt_cmd(r, -1, "delete", id, NULL), r, "delete", id);
    if (t) {
        t[0] = b - a;
        t[1] = c - b;
        t[2] = now_ms() - c;
    }
}

static int parse_rts(int argc, char **argv, int i, struct rt *rts, int max, int minfields)
{
    int n = 0;
    /* getopt consumed the first "--" */
    bool first = i > 0 && strcmp(argv[i - 1], "--") == 0;
    while (i < argc) {
        if (!first && strcmp(argv[i], "--") != 0)
            die("expected -- before a runtime spec");
        if (!first)
            i++;
        first = false;
        int j = i;
        while (j < argc && strcmp(argv[j], "--") != 0)
            j++;
        if (j - i < minfields)
            die("a runtime spec needs at least %d words", minfields);
        if (n == max)
            die("too many runtimes");
        struct rt *r = &rts[n++];
        r->label = argv[i];
        r->root = argv[i + 1];
        r->bundle = argv[i + 2];
        if (minfields == 5) {
            r->cgdir = argv[i + 3];
            r->bin = argv[i + 4];
        } else {
            r->cgdir = "-";
            r->bin = argv[i + 3];
        }
        r->extra = &argv[i + minfields];
        r->n_extra = j - i - minfields;
        i = j;
    }
    return n;
}

/* ------------------------------------------------------------------ cycle */

static int cmd_cycle(int argc, char **argv)
{
    int iters = 50, warm = 3, opt;
    const char *out = NULL;
    while ((opt = getopt(argc, argv, "+n:w:o:")) != -1) {
        switch (opt) {
        case 'n': iters = atoi(optarg); break;
        case 'w': warm = atoi(optarg); break;
        case 'o': out = optarg; break;
        default: die("cycle: bad option");
        }
    }
    struct rt rts[8];
    int nrt = parse_rts(argc, argv, optind, rts, 8, 5);
    if (!out || nrt == 0)
        die("usage: benchtool cycle -n ITER [-w WARMUP] -o OUT -- LABEL ROOT BUNDLE CGDIR BIN "
            "[ARGS] [-- ...]");
    FILE *fo = fopen(out, "we");
    if (!fo)
        die("%s: %m", out);
    fprintf(fo, "label\titer\tcreate_ms\tstart_ms\twait_ms\tdelete_ms\ttotal_ms\tmem_created\tmem_"
                "peak\n");
    char pidfile[64];
    snprintf(pidfile, sizeof pidfile, "/tmp/benchtool-%d.pid", getpid());
    for (int it = -warm; it < iters; it++) {
        for (int k = 0; k < nrt; k++) {
            const struct rt *r = &rts[((it + warm) + k) % nrt];
            char id[64];
            snprintf(id, sizeof id, "bc-%s", r->label);
            double t0 = now_ms();
            must(rt_cmd(r, -1, "create", "--bundle", r->bundle, "--pid-file", pidfile, "@extra", id,
                        NULL),
                 r, "create", id);
            double t1 = now_ms();
            long long mc = cg_usage(r->cgdir);
            pid_t pid = read_pidfile(pidfile);
            double t1b = now_ms();
            must(rt_cmd(r, -1, "start", id, NULL), r, "start", id);
            double t2 = now_ms();
            wait_container(pid);
            double t3 = now_ms();
            long long mp = cg_peak(r->cgdir);
            must(rt_cmd(r, -1, "delete", id, NULL), r, "delete", id);
            double t4 = now_ms();
            reap_orphans();
            if (it >= 0)
                fprintf(fo, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%lld\t%lld\n", r->label, it,
                        t1 - t0, t2 - t1b, t3 - t2, t4 - t3, (t1 - t0) + (t4 - t1b), mc, mp);
        }
    }
    fclose(fo);
    return 0;
}

/* ------------------------------------------------------------------- fill */

static long meminfo_kb(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "re");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = atol(line + kl + 1);
            break;
        }
    if (f)
        fclose(f);
    return v;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Count the lines of `list -q`. */
static int list_count(const struct rt *r)
{
    char tmpl[] = "/tmp/benchtool-list.XXXXXX";
    int fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd < 0)
        die("mkstemp: %m");
    unlink(tmpl);
    must(rt_cmd(r, fd, "list", "-q", NULL), r, "list", "-q");
    lseek(fd, 0, SEEK_SET);
    FILE *f = fdopen(fd, "r");
    int n = 0, c, last = '\n';
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n' && last != '\n')
            n++;
        last = c;
    }
    if (last != '\n')
        n++;
    fclose(f);
    return n;
}

static char *bundle_for(const char *tmpl, int i)
{
    char *b;
    const char *p = strstr(tmpl, "%d");
    if (!p) {
        b = strdup(tmpl);
    } else if (asprintf(&b, "%.*s%d%s", (int)(p - tmpl), tmpl, i, p + 2) < 0) {
        die("oom");
    }
    return b;
}

static int cmd_fill(int argc, char **argv)
{
    int max = 100, opt;
    const char *prefix = NULL, *points = "100", *parentcg = "-";
    while ((opt = getopt(argc, argv, "+N:c:o:P:")) != -1) {
        switch (opt) {
        case 'N': max = atoi(optarg); break;
        case 'c': points = optarg; break;
        case 'o': prefix = optarg; break;
        case 'P': parentcg = optarg; break;
        default: die("fill: bad option");
        }
    }
    struct rt rts[1];
    if (!prefix || parse_rts(argc, argv, optind, rts, 1, 4) != 1)
        die("usage: benchtool fill -N MAX -c N1,N2 -o PREFIX [-P PARENTCG] -- LABEL ROOT BUNDLE%% "
            "BIN [ARGS]");
    const struct rt *r = &rts[0];
    char path[4096];
    snprintf(path, sizeof path, "%s.start.tsv", prefix);
    FILE *fs = fopen(path, "we");
    snprintf(path, sizeof path, "%s.points.tsv", prefix);
    FILE *fp = fopen(path, "we");
    snprintf(path, sizeof path, "%s.delete.tsv", prefix);
    FILE *fd = fopen(path, "we");
    if (!fs || !fp || !fd)
        die("%s: %m", prefix);
    fprintf(fs, "i\tcreate_ms\tstart_ms\n");
    fprintf(fp, "n\tlist_ms\tstate_ms\tlist_count\tmemavail_kb\tslab_kb\tcg_bytes\n");
    fprintf(fd, "i\tdelete_ms\tkill_ms\twait_ms\trm_ms\n");
    char *pts = strdup(points);
    long base_avail = meminfo_kb("MemAvailable"), base_slab = meminfo_kb("Slab");
    long long base_cg = cg_usage(parentcg);
    fprintf(fp, "0\t-\t-\t0\t%ld\t%ld\t%lld\n", base_avail, base_slab, base_cg);
    char pidfile[64];
    snprintf(pidfile, sizeof pidfile, "/tmp/benchtool-%d.pid", getpid());
    pid_t *pids = calloc((size_t)max + 1, sizeof *pids);
    char *save = NULL;
    char *tok = strtok_r(pts, ",", &save);
    int next_point = tok ? atoi(tok) : max;
    for (int i = 1; i <= max; i++) {
        char id[64];
        snprintf(id, sizeof id, "f%s-%d", r->label, i);
        char *bundle = bundle_for(r->bundle, i);
        double t0 = now_ms();
        must(rt_cmd(r, -1, "create", "--bundle", bundle, "--pid-file", pidfile, "@extra", id, NULL),
             r, "create", id);
        double t1 = now_ms();
        must(rt_cmd(r, -1, "start", id, NULL), r, "start", id);
        double t2 = now_ms();
        pids[i] = read_pidfile(pidfile);
        free(bundle);
        fprintf(fs, "%d\t%.3f\t%.3f\n", i, t1 - t0, t2 - t1);
        if (i == next_point) {
            /* settle: let asynchronous kernel work of the last starts finish (freeing of
             * namespaces and cgroups after RCU, timers of new interfaces). 200 ms was too
             * short: berth's list over 1100 containers took 62 ms at once, 35 ms 2 s later. */
            sleep(2);
            double lt[LIST_REPS], st[LIST_REPS];
            char sid[64];
            snprintf(sid, sizeof sid, "f%s-%d", r->label, (i + 1) / 2);
            for (int k = 0; k < LIST_REPS; k++) {
                double a = now_ms();
                must(rt_cmd(r, -1, "list", NULL), r, "list", "");
                double b = now_ms();
                must(rt_cmd(r, -1, "state", sid, NULL), r, "state", sid);
                double c = now_ms();
                lt[k] = b - a;
                st[k] = c - b;
            }
            int cnt = list_count(r);
            fprintf(fp, "%d\t%.3f\t%.3f\t%d\t%ld\t%ld\t%lld\n", i, median(lt, LIST_REPS),
                    median(st, LIST_REPS), cnt, meminfo_kb("MemAvailable"), meminfo_kb("Slab"),
                    cg_usage(parentcg));
            fflush(fp);
            fprintf(stderr, "  %s: %d containers, list %.1f ms, state %.1f ms\n", r->label, i,
                    median(lt, LIST_REPS), median(st, LIST_REPS));
            if (cnt != i) {
                fprintf(stderr, "benchtool: %s: list shows %d containers, expected %d\n", r->label,
                        cnt, i);
                exit(1);
            }
            tok = strtok_r(NULL, ",", &save);
            next_point = tok ? atoi(tok) : max + 1;
        }
    }
    fflush(fs);
    double t0 = now_ms();
    for (int i = 1; i <= max; i++) {
        char id[64];
        snprintf(id, sizeof id, "f%s-%d", r->label, i);
        double a = now_ms(), t[3];
        kill_wait_delete(r, id, pids[i], t);
        fprintf(fd, "%d\t%.3f\t%.3f\t%.3f\t%.3f\n", i, now_ms() - a, t[0], t[1], t[2]);
    }
    fprintf(stderr, "  %s: deleted %d containers in %.2f s\n", r->label, max,
            (now_ms() - t0) / 1e3);
    /* every container process was ours (subreaper): none may be left */
    usleep(100000);
    reap_orphans();
    int orph = orphans();
    if (orph) {
        fprintf(stderr, "benchtool: %s: %d container processes left after delete\n", r->label,
                orph);
        return 1;
    }
    int left = list_count(r);
    fclose(fs);
    fclose(fp);
    fclose(fd);
    if (left) {
        fprintf(stderr, "benchtool: %s: %d containers still listed after delete\n", r->label, left);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------- conc */

/* Create ids PREFIX0..PREFIX(n-1) (bundle index base+k); returns the number created. */
static int creator(const struct rt *r, const char *prefix, int base, int n, bool expect_all)
{
    int ok = 0;
    for (int k = 0; k < n; k++) {
        char id[64];
        snprintf(id, sizeof id, "%s%d", prefix, k);
        char *bundle = bundle_for(r->bundle, base + k);
        int rc = rt_cmd(r, -1, "create", "--bundle", bundle, "@extra", id, NULL);
        free(bundle);
        if (rc == 0)
            ok++;
        else if (expect_all)
            must(rc, r, "create", id);
    }
    return ok;
}

/* Every id must be listed and its state must be valid JSON naming it, status created. */
static int verify(const struct rt *r, const char *const *prefixes, int nprefix, int n, pid_t *pids)
{
    int bad = 0;
    int cnt = list_count(r);
    if (cnt != nprefix * n) {
        fprintf(stderr, "benchtool: %s: list shows %d containers, expected %d\n", r->label, cnt,
                nprefix * n);
        bad++;
    }
    char tmpl[] = "/tmp/benchtool-state.XXXXXX";
    int fd = mkostemp(tmpl, O_CLOEXEC);
    unlink(tmpl);
    for (int p = 0; p < nprefix; p++)
        for (int k = 0; k < n; k++) {
            char id[64], buf[8192];
            snprintf(id, sizeof id, "%s%d", prefixes[p], k);
            if (ftruncate(fd, 0) < 0)
                die("ftruncate: %m");
            lseek(fd, 0, SEEK_SET);
            int rc = rt_cmd(r, fd, "state", id, NULL);
            ssize_t len = pread(fd, buf, sizeof buf - 1, 0);
            buf[len > 0 ? len : 0] = 0;
            char want[96];
            snprintf(want, sizeof want, "\"%s\"", id);
            if (rc != 0 || !strstr(buf, want) || !strstr(buf, "\"created\"") ||
                !strstr(buf, "\"pid\"")) {
                fprintf(stderr, "benchtool: %s: state %s invalid (exit %d): %.200s\n", r->label, id,
                        rc, buf);
                if (rc)
                    dump_errlog();
                bad++;
            }
            const char *pp = strstr(buf, "\"pid\"");
            pids[p * n + k] = pp ? (pid_t)atol(pp + 5 + strspn(pp + 5, " :")) : 0;
        }
    close(fd);
    return bad;
}

/* Best effort: a container whose state is gone cannot be deleted through the runtime; it
 * is counted, and its process is found by orphans(). Returns the number of failures. */
static int delete_all(const struct rt *r, const char *const *prefixes, int nprefix, int n,
                      const pid_t *pids)
{
    int failed = 0;
    for (int p = 0; p < nprefix; p++)
        for (int k = 0; k < n; k++) {
            char id[64];
            snprintf(id, sizeof id, "%s%d", prefixes[p], k);
            pid_t pid = pids[p * n + k];
            if (pid > 0 && rt_cmd(r, -1, "kill", id, "KILL", NULL) == 0) {
                wait_container(pid);
                if (rt_cmd(r, -1, "delete", id, NULL) == 0)
                    continue;
            }
            if (rt_cmd(r, -1, "delete", "--force", id, NULL) != 0)
                failed++;
            reap_orphans();
        }
    usleep(50000);
    reap_orphans();
    return failed;
}

/* Container processes still alive after every container was deleted: they were reparented
 * to us (subreaper), so they are our children. Killed, reaped and counted. */
static int orphans(void)
{
    int n = 0;
    char path[64], buf[65536];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", getpid());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0)
        return 0;
    buf[len] = 0;
    for (char *p = strtok(buf, " \n"); p; p = strtok(NULL, " \n")) {
        pid_t pid = (pid_t)atoi(p);
        if (pid > 0 && kill(pid, SIGKILL) == 0) {
            waitpid(pid, NULL, 0);
            n++;
        }
    }
    return n;
}

/* Run creator() in two children at once; returns the total created. */
static int two_creators(const struct rt *r, const char *pa, int ba, const char *pb, int bb, int n,
                        bool expect_all)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        die("pipe: %m");
    pid_t kids[2];
    for (int c = 0; c < 2; c++) {
        kids[c] = fork();
        if (kids[c] < 0)
            die("fork: %m");
        if (kids[c] == 0) {
            /* own error log: the parent's is shared by offset */
            char t[] = "/tmp/benchtool-err.XXXXXX";
            errfd = mkostemp(t, O_CLOEXEC);
            unlink(t);
            int ok = creator(r, c ? pb : pa, c ? bb : ba, n, expect_all);
            if (write(pfd[1], &ok, sizeof ok) != sizeof ok)
                _exit(2);
            _exit(0);
        }
    }
    close(pfd[1]);
    int total = 0, ok, st, fail = 0;
    for (int c = 0; c < 2; c++) {
        while (waitpid(kids[c], &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            fail = 1;
    }
    while (read(pfd[0], &ok, sizeof ok) == sizeof ok)
        total += ok;
    close(pfd[0]);
    if (fail)
        die("%s: a creator failed", r->label);
    return total;
}

static int cmd_conc(int argc, char **argv)
{
    int per = 100, opt;
    const char *out = NULL;
    while ((opt = getopt(argc, argv, "+M:o:")) != -1) {
        switch (opt) {
        case 'M': per = atoi(optarg); break;
        case 'o': out = optarg; break;
        default: die("conc: bad option");
        }
    }
    struct rt rts[1];
    if (!out || parse_rts(argc, argv, optind, rts, 1, 4) != 1)
        die("usage: benchtool conc -M PER -o OUT -- LABEL ROOT BUNDLE%% BIN");
    const struct rt *r = &rts[0];
    FILE *fo = fopen(out, "we");
    if (!fo)
        die("%s: %m", out);
    fprintf(fo, "phase\tcontainers\tseconds\tper_s\tcreated\tinvalid\tundeletable\torphans\n");
    int bad = 0;
    pid_t *pids = calloc(2 * (size_t)per, sizeof *pids);

    /* 1: one creator, 2*PER containers */
    const char *p1[] = {"c1-"};
    double t0 = now_ms();
    int made = creator(r, "c1-", 0, 2 * per, true);
    double t1 = now_ms();
    int inv = verify(r, p1, 1, 2 * per, pids);
    int und = delete_all(r, p1, 1, 2 * per, pids);
    int orph = orphans();
    bad += inv + und + orph;
    fprintf(fo, "one\t%d\t%.3f\t%.1f\t%d\t%d\t%d\t%d\n", 2 * per, (t1 - t0) / 1e3,
            2 * per / ((t1 - t0) / 1e3), made, inv, und, orph);

    /* 2: two creators, PER each, distinct ids, same root */
    const char *p2[] = {"ca-", "cb-"};
    t0 = now_ms();
    made = two_creators(r, "ca-", 0, "cb-", per, per, true);
    t1 = now_ms();
    inv = verify(r, p2, 2, per, pids);
    und = delete_all(r, p2, 2, per, pids);
    orph = orphans();
    bad += inv + und + orph;
    fprintf(fo, "two\t%d\t%.3f\t%.1f\t%d\t%d\t%d\t%d\n", 2 * per, (t1 - t0) / 1e3,
            2 * per / ((t1 - t0) / 1e3), made, inv, und, orph);

    /* 3: two creators racing for the same PER ids: exactly one may win each */
    const char *p3[] = {"cr-"};
    t0 = now_ms();
    made = two_creators(r, "cr-", 0, "cr-", 0, per, false);
    t1 = now_ms();
    inv = verify(r, p3, 1, per, pids);
    if (made != per) {
        fprintf(stderr, "benchtool: %s: racing creators made %d containers for %d ids\n", r->label,
                made, per);
        inv++;
    }
    und = delete_all(r, p3, 1, per, pids);
    orph = orphans();
    if (orph)
        fprintf(stderr, "benchtool: %s: %d container processes left without a container\n",
                r->label, orph);
    bad += inv + und + orph;
    fprintf(fo, "race\t%d\t%.3f\t%.1f\t%d\t%d\t%d\t%d\n", per, (t1 - t0) / 1e3,
            2 * per / ((t1 - t0) / 1e3), made, inv, und, orph);
    fclose(fo);
    int left = list_count(r);
    if (left) {
        fprintf(stderr, "benchtool: %s: %d containers left after delete\n", r->label, left);
        bad++;
    }
    return bad ? 1 : 0;
}

/* benchtool reap -- CMD...: run CMD as a subreaper, so that containers it starts detached
 * are our children; once CMD exits, whatever is left of them is killed and reaped. */
static int cmd_reap(int argc, char **argv)
{
    int i = 1;
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc)
        die("usage: benchtool reap -- CMD [ARGS...]");
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %m");
    if (pid == 0) {
        execvp(argv[i], &argv[i]);
        fprintf(stderr, "benchtool: exec %s: %m\n", argv[i]);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %m");
    usleep(100000);
    reap_orphans();
    int left = orphans();
    if (left)
        fprintf(stderr, "benchtool: reap: killed %d leftover processes\n", left);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: benchtool cycle|fill|conc ...");
    errfd = mkostemp(errlog, O_CLOEXEC);
    if (errfd < 0)
        die("mkstemp: %m");
    unlink(errlog);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        die("PR_SET_CHILD_SUBREAPER: %m");
    signal(SIGPIPE, SIG_IGN);
    const char *cmd = argv[1];
    argv++;
    argc--;
    if (strcmp(cmd, "cycle") == 0)
        return cmd_cycle(argc, argv);
    if (strcmp(cmd, "fill") == 0)
        return cmd_fill(argc, argv);
    if (strcmp(cmd, "conc") == 0)
        return cmd_conc(argc, argv);
    if (strcmp(cmd, "reap") == 0)
        return cmd_reap(argc, argv);
    die("unknown command %s", cmd);
}
