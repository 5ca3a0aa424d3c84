/* Unit tests for runtime/seccomp.c: profiles are built by hand, and behaviour is
 * checked in forked children that load the filter and report what syscalls did. */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/arena.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/macros.h"
#include "runtime/seccomp.h"
#include "tests/unit/unit.h"

#define STRV(...)  ((char *[]){__VA_ARGS__})
#define NAMES(...) .names = STRV(__VA_ARGS__), .n_names = ARRAY_SIZE(STRV(__VA_ARGS__))
#define ARGS(...)                                       \
    .args = ((struct spec_seccomp_arg[]){__VA_ARGS__}), \
    .n_args = ARRAY_SIZE(((struct spec_seccomp_arg[]){__VA_ARGS__}))
#define RULES(...)                                           \
    .syscalls = ((struct spec_syscall_rule[]){__VA_ARGS__}), \
    .n_syscalls = ARRAY_SIZE(((struct spec_syscall_rule[]){__VA_ARGS__}))
#define ERRNO_RET(e) .errno_ret = {.v = (e), .set = true}

/* Exit codes of a child that could not get as far as its probes. */
#define CHILD_NNP_FAILED  250
#define CHILD_LOAD_FAILED 251
#define CHILD_IO_FAILED   252

/* A syscall made under the filter, and the errno it should end with (0: success). */
struct probe {
    long nr;
    unsigned long a0, a1, a2;
    int expect;
};

static const char no_dir[] = "/nonexistent-berth-seccomp-test/dir";

static struct seccomp_filter *build_ok(const struct spec_seccomp *s)
{
    struct seccomp_filter *f = NULL;
    err_clear();
    int r = seccomp_filter_build(s, &f);
    if (r < 0)
        printf("#   seccomp_filter_build: %s\n", err_msg());
    CHECK_INT(r, 0);
    return f;
}

/* Leave a child with a bare exit_group. Under ASan every call of a noreturn
 * function first runs __asan_handle_no_return, which makes syscalls
 * (sigaltstack, mmap) that allow-list profiles deny; the volatile keeps the
 * compiler from inferring noreturn here. It never returns. */
static volatile int child_exit_retry = 1;

static void child_exit(int code)
{
    while (child_exit_retry)
        syscall(SYS_exit_group, code);
}

static void child_setup(void)
{
    /* SIGSYS would dump core into the working directory. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_exit(CHILD_NNP_FAILED);
}

static void child_load(struct seccomp_filter *f, int *notify_fd)
{
    if (seccomp_filter_load(f, notify_fd) < 0) {
        fprintf(stderr, "child: %s\n", err_msg());
        child_exit(CHILD_LOAD_FAILED);
    }
}

static int wait_child(pid_t pid)
{
    int status = 0;
    if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
        return -1;
    return status;
}

static void check_exited(int status, int code)
{
    if (!WIFEXITED(status))
        printf("#   child did not exit: status 0x%x (signal %d)\n", status,
               WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    CHECK(WIFEXITED(status));
    if (WIFEXITED(status))
        CHECK_INT(WEXITSTATUS(status), code);
}

static void check_killed(int status, int sig)
{
    if (!WIFSIGNALED(status))
        printf("#   child was not killed: status 0x%x (exit %d)\n", status,
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    CHECK(WIFSIGNALED(status));
    if (WIFSIGNALED(status))
        CHECK_INT(WTERMSIG(status), sig);
}

/* Load the filter in a child, run the probes there, and compare the errnos.
 * The profile must allow write and exit_group. */
static void check_probes(const struct spec_seccomp *s, const struct probe *p, size_t n)
{
    struct seccomp_filter *f = build_ok(s);
    if (!f)
        return;
    CHECK(!seccomp_filter_has_notify(f));

    int pfd[2];
    CHECK_INT(pipe2(pfd, O_CLOEXEC), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int results[64];
        int nfd;
        close(pfd[0]);
        child_setup();
        child_load(f, &nfd);
        if (nfd != -1)
            child_exit(CHILD_IO_FAILED);
        for (size_t i = 0; i < n && i < ARRAY_SIZE(results); i++) {
            long r = syscall(p[i].nr, p[i].a0, p[i].a1, p[i].a2);
            results[i] = r < 0 ? errno : 0;
        }
        ssize_t w = write(pfd[1], results, n * sizeof(int));
        child_exit(w == (ssize_t)(n * sizeof(int)) ? 0 : CHILD_IO_FAILED);
    }
    close(pfd[1]);
    int results[64] = {0};
    ssize_t got = RETRY_EINTR(read(pfd[0], results, sizeof(results)));
    close(pfd[0]);
    check_exited(wait_child(pid), 0);
    CHECK_INT(got, (ssize_t)(n * sizeof(int)));
    for (size_t i = 0; got == (ssize_t)(n * sizeof(int)) && i < n; i++) {
        if (results[i] != p[i].expect)
            printf("#   probe %zu (syscall %ld, arg0 0x%lx): errno %d, expected %d\n", i, p[i].nr,
                   p[i].a0, results[i], p[i].expect);
        CHECK_INT(results[i], p[i].expect);
    }
    seccomp_filter_free(f);
}

/* Load the filter in a child and make one syscall; return the wait status. */
static int run_one(const struct spec_seccomp *s, long nr, unsigned long a0)
{
    struct seccomp_filter *f = build_ok(s);
    if (!f)
        return -1;
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int nfd;
        child_setup();
        child_load(f, &nfd);
        long r = syscall(nr, a0);
        child_exit(r < 0 ? errno : 0);
    }
    seccomp_filter_free(f);
    return wait_child(pid);
}

#define MKDIRAT(expect)                                                             \
    {                                                                               \
        SYS_mkdirat, (unsigned long)AT_FDCWD, (unsigned long)no_dir, 0700, (expect) \
    }

/* ---- actions and errno ---- */

static void test_errno_default_eperm(void)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("mkdir", "mkdirat"), .action = SECCOMP_ACT_ERRNO}),
    };
    const struct probe p[] = {MKDIRAT(EPERM), {SYS_getppid, 0, 0, 0, 0}};
    check_probes(&s, p, ARRAY_SIZE(p));
}

static void test_errno_ret(void)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("mkdir", "mkdirat"), .action = SECCOMP_ACT_ERRNO, ERRNO_RET(ENOSPC)},
                  {NAMES("getppid"), .action = SECCOMP_ACT_ERRNO, ERRNO_RET(0)}),
    };
    /* Without the filter mkdirat would fail with ENOENT. */
    const struct probe p[] = {MKDIRAT(ENOSPC), {SYS_getppid, 0, 0, 0, 0}};
    check_probes(&s, p, ARRAY_SIZE(p));
}

static void test_default_errno_ret(void)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ERRNO,
            .default_errno_ret = {.v = ENOSPC, .set = true},
            RULES({NAMES("write", "exit_group"), .action = SECCOMP_ACT_ALLOW}),
    };
    const struct probe p[] = {{SYS_getppid, 0, 0, 0, ENOSPC}, MKDIRAT(ENOSPC)};
    check_probes(&s, p, ARRAY_SIZE(p));
}

static void test_allow_list(void)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ERRNO,
            RULES({NAMES("write", "exit_group", "exit", "getppid", "getpid", "rt_sigreturn"),
                   .action = SECCOMP_ACT_ALLOW},
                  /* Same action as the default: skipped, libseccomp would refuse it. */
                  {NAMES("getuid"), .action = SECCOMP_ACT_ERRNO},
                  {NAMES("getgid"), .action = SECCOMP_ACT_ERRNO, ERRNO_RET(EPERM)}),
    };
    const struct probe p[] = {
            {SYS_getppid, 0, 0, 0, 0},    {SYS_getpid, 0, 0, 0, 0}, {SYS_getuid, 0, 0, 0, EPERM},
            {SYS_getgid, 0, 0, 0, EPERM}, MKDIRAT(EPERM),
    };
    check_probes(&s, p, ARRAY_SIZE(p));
}

static void test_log_action(void)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("getppid"), .action = SECCOMP_ACT_LOG}),
    };
    const struct probe p[] = {{SYS_getppid, 0, 0, 0, 0}};
    check_probes(&s, p, ARRAY_SIZE(p));
}

static void test_kill_process(void)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("getppid"), .action = SECCOMP_ACT_KILL_PROCESS}),
    };
    check_killed(run_one(&s, SYS_getppid, 0), SIGSYS);
}

static void test_kill_thread(void)
{
    /* The only thread being killed ends the process with SIGSYS too. */
    enum seccomp_action actions[] = {SECCOMP_ACT_KILL, SECCOMP_ACT_KILL_THREAD};
    for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
        struct spec_seccomp s = {
                .default_action = SECCOMP_ACT_ALLOW,
                RULES({NAMES("getppid"), .action = actions[i]}),
        };
        check_killed(run_one(&s, SYS_getppid, 0), SIGSYS);
    }
}

static volatile sig_atomic_t trapped_syscall = -1, trapped_code = -1;

static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
    trapped_syscall = si->si_syscall;
    trapped_code = si->si_code;
}

static void test_trap(void)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("getppid"), .action = SECCOMP_ACT_TRAP}),
    };
    /* Unhandled, TRAP ends the process with SIGSYS. */
    check_killed(run_one(&s, SYS_getppid, 0), SIGSYS);

    struct seccomp_filter *f = build_ok(&s);
    if (!f)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
        int nfd;
        child_setup();
        sigaction(SIGSYS, &sa, NULL);
        child_load(f, &nfd);
        syscall(SYS_getppid);
        child_exit(trapped_syscall == SYS_getppid && trapped_code == 1 /* SYS_SECCOMP */ ? 0 : 1);
    }
    seccomp_filter_free(f);
    check_exited(wait_child(pid), 0);
}

static void test_trace_without_tracer(void)
{
    /* With no tracer attached the kernel fails a TRACE'd syscall with ENOSYS. */
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("getppid"), .action = SECCOMP_ACT_TRACE}),
    };
    const struct probe p[] = {{SYS_getppid, 0, 0, 0, ENOSYS}};
    check_probes(&s, p, ARRAY_SIZE(p));
}

/* ---- arguments ---- */

static void test_args_personality(void)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ERRNO,
            RULES({NAMES("write", "exit_group"), .action = SECCOMP_ACT_ALLOW},
                  {NAMES("personality"), .action = SECCOMP_ACT_ALLOW,
                   ARGS({.index = 0, .value = 0xffffffff, .op = SECCOMP_OP_EQ})}),
    };
    const struct probe p[] = {
            {SYS_personality, 0xffffffff, 0, 0, 0},
            {SYS_personality, 8, 0, 0, EPERM},
            {SYS_personality, 0, 0, 0, EPERM},
    };
    check_probes(&s, p, ARRAY_SIZE(p));
}

/* getppid ignores its arguments, but the filter sees the registers. */
#define PPID(a0, a1, expect)                 \
    {                                        \
        SYS_getppid, (a0), (a1), 0, (expect) \
    }

static void test_args_ops(void)
{
    static const struct {
        enum seccomp_op op;
        int expect[3]; /* for arg0 = 9, 10, 11 */
    } cases[] = {
            {SECCOMP_OP_NE, {ENOSPC, 0, ENOSPC}}, {SECCOMP_OP_LT, {ENOSPC, 0, 0}},
            {SECCOMP_OP_LE, {ENOSPC, ENOSPC, 0}}, {SECCOMP_OP_EQ, {0, ENOSPC, 0}},
            {SECCOMP_OP_GE, {0, ENOSPC, ENOSPC}}, {SECCOMP_OP_GT, {0, 0, ENOSPC}},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct spec_seccomp s = {
                .default_action = SECCOMP_ACT_ALLOW,
                RULES({NAMES("getppid"), .action = SECCOMP_ACT_ERRNO, ERRNO_RET(ENOSPC),
                       ARGS({.index = 0, .value = 10, .op = cases[i].op})}),
        };
        const struct probe p[] = {
                PPID(9, 0, cases[i].expect[0]),
                PPID(10, 0, cases[i].expect[1]),
                PPID(11, 0, cases[i].expect[2]),
        };
        printf("# op %d\n", (int)cases[i].op);
        check_probes(&s, p, ARRAY_SIZE(p));
    }

    /* Comparisons are on all 64 bits. */
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("getppid"), .action = SECCOMP_ACT_ERRNO, ERRNO_RET(ENOSPC),
                   ARGS({.index = 0, .value = 10, .op = SECCOMP_OP_EQ})}),
    };
    const struct probe p[] = {PPID(0x10000000aUL, 0, 0), PPID(10, 0, ENOSPC)};
    check_probes(&s, p, ARRAY_SIZE(p));
}

static void test_args_masked_eq(void)
{
    /* value is the mask, valueTwo the datum: deny when (arg0 & 0xff00) == 0x1200. */
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("getppid"), .action = SECCOMP_ACT_ERRNO, ERRNO_RET(ENOSPC),
                   ARGS({.index = 0,
                         .value = 0xff00,
                         .value_two = 0x1200,
                         .op = SECCOMP_OP_MASKED_EQ})}),
    };
    const struct probe p[] = {
            PPID(0x1234, 0, ENOSPC),
            PPID(0x12ff, 0, ENOSPC),
            PPID(0x1334, 0, 0),
            PPID(0x0012, 0, 0),
    };
    check_probes(&s, p, ARRAY_SIZE(p));
}

static void test_args_distinct_and(void)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("getppid"), .action = SECCOMP_ACT_ERRNO, ERRNO_RET(ENOSPC),
                   ARGS({.index = 0, .value = 1, .op = SECCOMP_OP_EQ},
                        {.index = 1, .value = 2, .op = SECCOMP_OP_EQ})}),
    };
    const struct probe p[] = {
            PPID(1, 2, ENOSPC),
            PPID(1, 3, 0),
            PPID(4, 2, 0),
    };
    check_probes(&s, p, ARRAY_SIZE(p));
}

static void test_args_repeated_or(void)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("getppid"), .action = SECCOMP_ACT_ERRNO, ERRNO_RET(ENOSPC),
                   ARGS({.index = 0, .value = 1, .op = SECCOMP_OP_EQ},
                        {.index = 0, .value = 2, .op = SECCOMP_OP_EQ},
                        {.index = 1, .value = 7, .op = SECCOMP_OP_EQ})}),
    };
    const struct probe p[] = {
            PPID(1, 0, ENOSPC),
            PPID(2, 0, ENOSPC),
            PPID(3, 7, ENOSPC),
            PPID(3, 0, 0),
    };
    check_probes(&s, p, ARRAY_SIZE(p));
}

/* ---- names, architectures and errors ---- */

static void test_unknown_syscall_skipped(void)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("berth_no_such_syscall"), .action = SECCOMP_ACT_KILL_PROCESS},
                  {NAMES("berth_no_such_syscall2", "mkdirat", "mkdir"), .action = SECCOMP_ACT_ERRNO,
                   ERRNO_RET(ENOSPC)}),
    };
    const struct probe p[] = {MKDIRAT(ENOSPC)};
    check_probes(&s, p, ARRAY_SIZE(p));
}

#if defined(__x86_64__)
#define ARCHES "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"
#elif defined(__aarch64__)
#define ARCHES "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"
#else
#define ARCHES "SCMP_ARCH_NATIVE_UNKNOWN_TO_TEST"
#endif

static void test_architectures(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            .architectures = STRV(ARCHES),
            .n_architectures = ARRAY_SIZE(STRV(ARCHES)),
            /* socketcall exists only on the 32-bit arches. */
            RULES({NAMES("mkdirat", "mkdir", "socketcall"), .action = SECCOMP_ACT_ERRNO,
                   ERRNO_RET(ENOSPC)}),
    };
    const struct probe p[] = {MKDIRAT(ENOSPC)};
    check_probes(&s, p, ARRAY_SIZE(p));
#endif
}

static void test_unknown_architecture(void)
{
    struct seccomp_filter *f = NULL;
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            .architectures = STRV("SCMP_ARCH_X86_64", "SCMP_ARCH_BERTH9000"),
            .n_architectures = 2,
    };
    CHECK_INT(seccomp_filter_build(&s, &f), -EINVAL);
    CHECK(f == NULL);
    CHECK_CONTAINS(err_msg(), ".linux.seccomp.architectures[1]");
    CHECK_CONTAINS(err_msg(), "SCMP_ARCH_BERTH9000");
    CHECK_CONTAINS(err_msg(), "not supported by libseccomp");

    char *bad[] = {"x86_64"};
    s.architectures = bad;
    s.n_architectures = 1;
    CHECK_INT(seccomp_filter_build(&s, &f), -EINVAL);
    CHECK_CONTAINS(err_msg(), "\"x86_64\"");
}

static void test_invalid_profiles(void)
{
    struct seccomp_filter *f = NULL;

    struct spec_seccomp notify_default = {.default_action = SECCOMP_ACT_NOTIFY};
    CHECK_INT(seccomp_filter_build(&notify_default, &f), -EINVAL);
    CHECK_CONTAINS(err_msg(), ".linux.seccomp.defaultAction");

    struct spec_seccomp big_errno = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("getppid"), .action = SECCOMP_ACT_ERRNO, ERRNO_RET(70000)}),
    };
    CHECK_INT(seccomp_filter_build(&big_errno, &f), -EINVAL);
    CHECK_CONTAINS(err_msg(), ".linux.seccomp.syscalls[0].errnoRet");

    struct spec_seccomp big_index = {
            .default_action = SECCOMP_ACT_ALLOW,
            RULES({NAMES("getppid"), .action = SECCOMP_ACT_ERRNO},
                  {NAMES("getppid"), .action = SECCOMP_ACT_ERRNO,
                   ARGS({.index = 0, .op = SECCOMP_OP_EQ}, {.index = 6, .op = SECCOMP_OP_EQ})}),
    };
    CHECK_INT(seccomp_filter_build(&big_index, &f), -EINVAL);
    CHECK_CONTAINS(err_msg(), ".linux.seccomp.syscalls[1].args[1].index");
    CHECK(f == NULL);
}

/* ---- flags ---- */

static void test_flags(void)
{
    static const unsigned flag_sets[] = {
            SECCOMP_FLAG_LOG,
            SECCOMP_FLAG_SPEC_ALLOW,
            SECCOMP_FLAG_TSYNC,              /* ignored */
            SECCOMP_FLAG_WAIT_KILLABLE_RECV, /* no listener: ignored */
            SECCOMP_FLAG_LOG | SECCOMP_FLAG_SPEC_ALLOW | SECCOMP_FLAG_TSYNC,
    };
    for (size_t i = 0; i < ARRAY_SIZE(flag_sets); i++) {
        struct spec_seccomp s = {
                .default_action = SECCOMP_ACT_ALLOW,
                .flags = flag_sets[i],
                RULES({NAMES("mkdirat", "mkdir"), .action = SECCOMP_ACT_ERRNO, ERRNO_RET(ENOSPC)}),
        };
        const struct probe p[] = {MKDIRAT(ENOSPC)};
        printf("# flags 0x%x\n", flag_sets[i]);
        check_probes(&s, p, ARRAY_SIZE(p));
    }
}

static void test_load_without_nnp(void)
{
    /* Without no_new_privs a process lacking CAP_SYS_ADMIN may not load a
     * filter, and the message must say what is missing; a child that became
     * nobody has no capabilities. */
    struct spec_seccomp s = {.default_action = SECCOMP_ACT_ALLOW};
    struct seccomp_filter *f = build_ok(&s);
    if (!f)
        return;
    int pfd[2];
    CHECK_INT(pipe2(pfd, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int nfd;
        close(pfd[0]);
        if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
            child_exit(CHILD_NNP_FAILED);
        int r = seccomp_filter_load(f, &nfd);
        const char *m = err_msg();
        if (write(pfd[1], m, strlen(m)) < 0)
            child_exit(CHILD_IO_FAILED);
        child_exit(-r);
    }
    close(pfd[1]);
    char msg[512] = "";
    ssize_t n = RETRY_EINTR(read(pfd[0], msg, sizeof(msg) - 1));
    if (n > 0)
        msg[n] = '\0';
    close(pfd[0]);
    seccomp_filter_free(f);
    check_exited(wait_child(pid), EACCES);
    CHECK_CONTAINS(msg, "no_new_privs");
}

/* ---- notify and the listener socket ---- */

static int make_listener(char *dir, char *path, size_t size)
{
    if (!mkdtemp(dir))
        return -1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(path, size, "%s/agent.sock", dir);
    memcpy(sa.sun_path, path, size < sizeof(sa.sun_path) ? size : sizeof(sa.sun_path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void remove_listener(const char *dir, const char *path)
{
    unlink(path);
    rmdir(dir);
}

static bool wait_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return RETRY_EINTR(poll(&pfd, 1, timeout_ms)) == 1;
}

/* Accept one agent connection; return the fd received and the payload. */
static int receive_listener(int lfd, char *buf, size_t size, size_t *len)
{
    if (!wait_readable(lfd, 10000))
        return -1;
    _cleanup_close_ int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return -1;

    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = buf, .iov_len = size - 1};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    ssize_t n = RETRY_EINTR(recvmsg(conn, &msg, MSG_CMSG_CLOEXEC));
    if (n <= 0)
        return -1;
    int fd = -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
    *len = (size_t)n;
    /* The rest of the payload, if the stream split it. */
    while (*len < size - 1) {
        n = RETRY_EINTR(read(conn, buf + *len, size - 1 - *len));
        if (n <= 0)
            break;
        *len += (size_t)n;
    }
    buf[*len] = '\0';
    return fd;
}

static const char *json_str(const struct json *v, const char *key)
{
    const struct json *m = json_get(v, key);
    return m && m->type == JSON_STRING ? m->string : NULL;
}

static void check_listener_payload(const char *buf, size_t len, pid_t pid, const char *metadata)
{
    struct arena a = {0};
    struct json *root = NULL;
    int r = json_parse(&a, buf, len, "listener message", &root);
    if (r < 0)
        printf("#   %s\n#   payload: %s\n", err_msg(), buf);
    CHECK_INT(r, 0);
    if (r == 0) {
        CHECK_STR(json_str(root, "ociVersion"), "1.3.0");
        const struct json *fds = json_get(root, "fds");
        CHECK(fds && fds->type == JSON_ARRAY && fds->n == 1);
        if (fds && fds->type == JSON_ARRAY && fds->n == 1)
            CHECK_STR(fds->items[0]->type == JSON_STRING ? fds->items[0]->string : NULL,
                      "seccompFd");
        const struct json *p = json_get(root, "pid");
        char want[32];
        snprintf(want, sizeof(want), "%d", (int)pid);
        CHECK(p && p->type == JSON_NUMBER);
        if (p && p->type == JSON_NUMBER)
            CHECK_STR(p->number, want);
        if (metadata)
            CHECK_STR(json_str(root, "metadata"), metadata);
        else
            CHECK(json_get(root, "metadata") == NULL);
        const struct json *state = json_get(root, "state");
        CHECK(state && state->type == JSON_OBJECT);
        CHECK_STR(json_str(state, "id"), "c1");
        CHECK_STR(json_str(state, "status"), "creating");
    }
    arena_free(&a);
}

static bool is_seccomp_listener(int fd)
{
    char link[64], target[128] = "";
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n > 0)
        target[n] = '\0';
    if (!streq(target, "anon_inode:seccomp notify"))
        printf("#   fd %d is %s\n", fd, target);
    return streq(target, "anon_inode:seccomp notify");
}

static const char state_json[] =
        "{\"ociVersion\":\"1.3.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":1,"
        "\"bundle\":\"/b\"}\n";

/* The child loads a notify filter, hands the listener to the "agent" (us) with
 * seccomp_send_listener(), then calls mkdirat; we answer ENOSPC. */
static void notify_roundtrip(unsigned flags, const char *metadata)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ALLOW,
            .flags = flags,
            RULES({NAMES("mkdir", "mkdirat"), .action = SECCOMP_ACT_NOTIFY},
                  {NAMES("getppid"), .action = SECCOMP_ACT_ERRNO, ERRNO_RET(ENOSPC)}),
    };
    struct seccomp_filter *f = build_ok(&s);
    if (!f)
        return;
    CHECK(seccomp_filter_has_notify(f));

    char dir[] = "/tmp/berth-seccomp-test.XXXXXX",
         path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int lfd = make_listener(dir, path, sizeof(path));
    CHECK(lfd >= 0);
    if (lfd < 0) {
        seccomp_filter_free(f);
        return;
    }

    pid_t pid = fork();
    if (pid == 0) {
        int nfd;
        close(lfd);
        child_setup();
        child_load(f, &nfd);
        if (nfd < 0)
            child_exit(CHILD_LOAD_FAILED);
        if (seccomp_send_listener(path, metadata, nfd, getpid(), state_json) < 0) {
            fprintf(stderr, "child: %s\n", err_msg());
            child_exit(CHILD_IO_FAILED);
        }
        close(nfd);
        long r = syscall(SYS_mkdirat, AT_FDCWD, no_dir, 0700);
        child_exit(r < 0 ? errno : 0);
    }
    seccomp_filter_free(f);

    char buf[4096];
    size_t len = 0;
    _cleanup_close_ int nfd = receive_listener(lfd, buf, sizeof(buf), &len);
    close(lfd);
    remove_listener(dir, path);
    CHECK(nfd >= 0);
    bool answered = false;
    if (nfd >= 0) {
        check_listener_payload(buf, len, pid, metadata);
        CHECK(is_seccomp_listener(nfd));

        struct seccomp_notif req;
        memset(&req, 0, sizeof(req));
        bool readable = wait_readable(nfd, 10000);
        CHECK(readable);
        if (readable && ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0) {
            CHECK_INT(req.pid, pid);
            CHECK_INT(req.data.nr, SYS_mkdirat);
            struct seccomp_notif_resp resp = {.id = req.id, .error = -ENOSPC};
            CHECK_INT(ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0);
            answered = true;
        } else {
            printf("#   SECCOMP_IOCTL_NOTIF_RECV: %s\n", strerror(errno));
            CHECK(0);
        }
    }
    if (!answered)
        kill(pid, SIGKILL);
    int status = wait_child(pid);
    if (answered)
        check_exited(status, ENOSPC);
}

static void test_notify(void)
{
    notify_roundtrip(0, "MKNOD=/dev/null;BPF=hash");
}

static void test_notify_flags(void)
{
    notify_roundtrip(SECCOMP_FLAG_WAIT_KILLABLE_RECV | SECCOMP_FLAG_LOG, NULL);
}

static void test_send_listener_errors(void)
{
    int fds[2];
    CHECK_INT(pipe2(fds, O_CLOEXEC), 0);
    CHECK_INT(seccomp_send_listener("/nonexistent-berth/agent.sock", "", fds[0], 1, "{}"), -ENOENT);
    CHECK_CONTAINS(err_msg(), "/nonexistent-berth/agent.sock");

    char long_path[200];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    CHECK_INT(seccomp_send_listener(long_path, "", fds[0], 1, "{}"), -ENAMETOOLONG);
    CHECK_CONTAINS(err_msg(), "aaaa");
    close(fds[0]);
    close(fds[1]);
}

/* ---- a Docker-default-sized profile ---- */

static char *docker_sized_names[] = {
        "accept",
        "accept4",
        "access",
        "adjtimex",
        "alarm",
        "bind",
        "brk",
        "cachestat",
        "capget",
        "capset",
        "chdir",
        "chmod",
        "chown",
        "chown32",
        "clock_adjtime",
        "clock_adjtime64",
        "clock_getres",
        "clock_getres_time64",
        "clock_gettime",
        "clock_gettime64",
        "clock_nanosleep",
        "clock_nanosleep_time64",
        "close",
        "close_range",
        "connect",
        "copy_file_range",
        "creat",
        "dup",
        "dup2",
        "dup3",
        "epoll_create",
        "epoll_create1",
        "epoll_ctl",
        "epoll_ctl_old",
        "epoll_pwait",
        "epoll_pwait2",
        "epoll_wait",
        "epoll_wait_old",
        "eventfd",
        "eventfd2",
        "execve",
        "execveat",
        "exit",
        "exit_group",
        "faccessat",
        "faccessat2",
        "fadvise64",
        "fadvise64_64",
        "fallocate",
        "fanotify_mark",
        "fchdir",
        "fchmod",
        "fchmodat",
        "fchmodat2",
        "fchown",
        "fchown32",
        "fchownat",
        "fcntl",
        "fcntl64",
        "fdatasync",
        "fgetxattr",
        "flistxattr",
        "flock",
        "fork",
        "fremovexattr",
        "fsetxattr",
        "fstat",
        "fstat64",
        "fstatat64",
        "fstatfs",
        "fstatfs64",
        "fsync",
        "ftruncate",
        "ftruncate64",
        "futex",
        "futex_requeue",
        "futex_time64",
        "futex_wait",
        "futex_waitv",
        "futex_wake",
        "futimesat",
        "getcpu",
        "getcwd",
        "getdents",
        "getdents64",
        "getegid",
        "getegid32",
        "geteuid",
        "geteuid32",
        "getgid",
        "getgid32",
        "getgroups",
        "getgroups32",
        "getitimer",
        "getpeername",
        "getpgid",
        "getpgrp",
        "getpid",
        "getppid",
        "getpriority",
        "getrandom",
        "getresgid",
        "getresgid32",
        "getresuid",
        "getresuid32",
        "getrlimit",
        "get_robust_list",
        "getrusage",
        "getsid",
        "getsockname",
        "getsockopt",
        "get_thread_area",
        "gettid",
        "gettimeofday",
        "getuid",
        "getuid32",
        "getxattr",
        "inotify_add_watch",
        "inotify_init",
        "inotify_init1",
        "inotify_rm_watch",
        "io_cancel",
        "ioctl",
        "io_destroy",
        "io_getevents",
        "io_pgetevents",
        "io_pgetevents_time64",
        "ioprio_get",
        "ioprio_set",
        "io_setup",
        "io_submit",
        "ipc",
        "kill",
        "landlock_add_rule",
        "landlock_create_ruleset",
        "landlock_restrict_self",
        "lchown",
        "lchown32",
        "lgetxattr",
        "link",
        "linkat",
        "listen",
        "listxattr",
        "llistxattr",
        "_llseek",
        "lremovexattr",
        "lseek",
        "lsetxattr",
        "lstat",
        "lstat64",
        "madvise",
        "map_shadow_stack",
        "membarrier",
        "memfd_create",
        "memfd_secret",
        "mincore",
        "mkdir",
        "mkdirat",
        "mknod",
        "mknodat",
        "mlock",
        "mlock2",
        "mlockall",
        "mmap",
        "mmap2",
        "mprotect",
        "mq_getsetattr",
        "mq_notify",
        "mq_open",
        "mq_timedreceive",
        "mq_timedreceive_time64",
        "mq_timedsend",
        "mq_timedsend_time64",
        "mq_unlink",
        "mremap",
        "msgctl",
        "msgget",
        "msgrcv",
        "msgsnd",
        "msync",
        "munlock",
        "munlockall",
        "munmap",
        "name_to_handle_at",
        "nanosleep",
        "newfstatat",
        "_newselect",
        "open",
        "openat",
        "openat2",
        "pause",
        "pidfd_open",
        "pidfd_send_signal",
        "pipe",
        "pipe2",
        "pkey_alloc",
        "pkey_free",
        "pkey_mprotect",
        "poll",
        "ppoll",
        "ppoll_time64",
        "prctl",
        "pread64",
        "preadv",
        "preadv2",
        "prlimit64",
        "process_mrelease",
        "pselect6",
        "pselect6_time64",
        "pwrite64",
        "pwritev",
        "pwritev2",
        "read",
        "readahead",
        "readlink",
        "readlinkat",
        "readv",
        "recv",
        "recvfrom",
        "recvmmsg",
        "recvmmsg_time64",
        "recvmsg",
        "remap_file_pages",
        "removexattr",
        "rename",
        "renameat",
        "renameat2",
        "restart_syscall",
        "rmdir",
        "rseq",
        "rt_sigaction",
        "rt_sigpending",
        "rt_sigprocmask",
        "rt_sigqueueinfo",
        "rt_sigreturn",
        "rt_sigsuspend",
        "rt_sigtimedwait",
        "rt_sigtimedwait_time64",
        "rt_tgsigqueueinfo",
        "sched_getaffinity",
        "sched_getattr",
        "sched_getparam",
        "sched_get_priority_max",
        "sched_get_priority_min",
        "sched_getscheduler",
        "sched_rr_get_interval",
        "sched_rr_get_interval_time64",
        "sched_setaffinity",
        "sched_setattr",
        "sched_setparam",
        "sched_setscheduler",
        "sched_yield",
        "seccomp",
        "select",
        "semctl",
        "semget",
        "semop",
        "semtimedop",
        "semtimedop_time64",
        "send",
        "sendfile",
        "sendfile64",
        "sendmmsg",
        "sendmsg",
        "sendto",
        "setfsgid",
        "setfsgid32",
        "setfsuid",
        "setfsuid32",
        "setgid",
        "setgid32",
        "setgroups",
        "setgroups32",
        "setitimer",
        "setpgid",
        "setpriority",
        "setregid",
        "setregid32",
        "setresgid",
        "setresgid32",
        "setresuid",
        "setresuid32",
        "setreuid",
        "setreuid32",
        "setrlimit",
        "set_robust_list",
        "setsid",
        "setsockopt",
        "set_thread_area",
        "set_tid_address",
        "setuid",
        "setuid32",
        "setxattr",
        "shmat",
        "shmctl",
        "shmdt",
        "shmget",
        "shutdown",
        "sigaltstack",
        "signalfd",
        "signalfd4",
        "sigprocmask",
        "sigreturn",
        "socketcall",
        "socketpair",
        "splice",
        "stat",
        "stat64",
        "statfs",
        "statfs64",
        "statx",
        "symlink",
        "symlinkat",
        "sync",
        "sync_file_range",
        "syncfs",
        "sysinfo",
        "tee",
        "tgkill",
        "time",
        "timer_create",
        "timer_delete",
        "timer_getoverrun",
        "timer_gettime",
        "timer_gettime64",
        "timer_settime",
        "timer_settime64",
        "timerfd_create",
        "timerfd_gettime",
        "timerfd_gettime64",
        "timerfd_settime",
        "timerfd_settime64",
        "times",
        "tkill",
        "truncate",
        "truncate64",
        "ugetrlimit",
        "umask",
        "uname",
        "unlink",
        "unlinkat",
        "utime",
        "utimensat",
        "utimensat_time64",
        "utimes",
        "vfork",
        "vmsplice",
        "wait4",
        "waitid",
        "waitpid",
        "write",
        "writev",
        "arch_prctl",
        "modify_ldt",
        "chroot",
        "clone",
        "clone3",
};

static double elapsed_us(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e6 + (double)(b->tv_nsec - a->tv_nsec) / 1e3;
}

static void test_docker_sized_profile(void)
{
    struct spec_seccomp s = {
            .default_action = SECCOMP_ACT_ERRNO,
            .architectures = STRV(ARCHES),
            .n_architectures = ARRAY_SIZE(STRV(ARCHES)),
            RULES({.names = docker_sized_names,
                   .n_names = ARRAY_SIZE(docker_sized_names),
                   .action = SECCOMP_ACT_ALLOW},
                  {NAMES("personality"), .action = SECCOMP_ACT_ALLOW,
                   ARGS({.index = 0, .value = 0x0, .op = SECCOMP_OP_EQ})},
                  {NAMES("personality"), .action = SECCOMP_ACT_ALLOW,
                   ARGS({.index = 0, .value = 0x8, .op = SECCOMP_OP_EQ})},
                  {NAMES("personality"), .action = SECCOMP_ACT_ALLOW,
                   ARGS({.index = 0, .value = 0xffffffff, .op = SECCOMP_OP_EQ})},
                  {NAMES("socket"), .action = SECCOMP_ACT_ALLOW,
                   ARGS({.index = 0, .value = 40 /* AF_VSOCK */, .op = SECCOMP_OP_NE})},
                  {NAMES("clone"), .action = SECCOMP_ACT_ERRNO,
                   ARGS({.index = 0,
                         .value = 0x7e020000,
                         .value_two = 0,
                         .op = SECCOMP_OP_MASKED_EQ})}),
    };
#if !defined(__x86_64__) && !defined(__aarch64__)
    s.n_architectures = 0;
#endif
    printf("# profile: %zu syscall names\n", ARRAY_SIZE(docker_sized_names));
    /* BERTH_TEST_DEBUG=1 shows the compiled program's size. */
    if (getenv("BERTH_TEST_DEBUG"))
        log_setup(NULL, false, true);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct seccomp_filter *f = build_ok(&s);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!f)
        return;
    printf("# seccomp_filter_build: %.0f us\n", elapsed_us(&t0, &t1));

    enum { ROUNDS = 5 };
    for (int round = 0; round < ROUNDS; round++) {
        int pfd[2];
        CHECK_INT(pipe2(pfd, O_CLOEXEC), 0);
        pid_t pid = fork();
        if (pid == 0) {
            struct timespec a, b;
            int nfd;
            close(pfd[0]);
            child_setup();
            clock_gettime(CLOCK_MONOTONIC, &a);
            child_load(f, &nfd);
            clock_gettime(CLOCK_MONOTONIC, &b);
            /* Allowed, argument-allowed, and left to the default. */
            int res[4] = {(int)(elapsed_us(&a, &b) * 1000), syscall(SYS_getppid) > 0 ? 0 : errno,
                          syscall(SYS_personality, 0xffffffffUL) >= 0 ? 0 : errno,
                          syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0) >= 0
                                  ? 0
                                  : errno};
            child_exit(write(pfd[1], res, sizeof(res)) == sizeof(res) ? 0 : CHILD_IO_FAILED);
        }
        close(pfd[1]);
        int res[4] = {0};
        ssize_t n = RETRY_EINTR(read(pfd[0], res, sizeof(res)));
        close(pfd[0]);
        check_exited(wait_child(pid), 0);
        CHECK_INT(n, sizeof(res));
        CHECK_INT(res[1], 0);
        CHECK_INT(res[2], 0);
        CHECK_INT(res[3], EPERM);
        printf("# seccomp_filter_load (round %d): %.1f us\n", round + 1, res[0] / 1000.0);
    }
    seccomp_filter_free(f);
}

UNIT_MAIN(UNIT(test_errno_default_eperm), UNIT(test_errno_ret), UNIT(test_default_errno_ret),
          UNIT(test_allow_list), UNIT(test_log_action), UNIT(test_kill_process),
          UNIT(test_kill_thread), UNIT(test_trap), UNIT(test_trace_without_tracer),
          UNIT(test_args_personality), UNIT(test_args_ops), UNIT(test_args_masked_eq),
          UNIT(test_args_distinct_and), UNIT(test_args_repeated_or),
          UNIT(test_unknown_syscall_skipped), UNIT(test_architectures),
          UNIT(test_unknown_architecture), UNIT(test_invalid_profiles), UNIT(test_flags),
          UNIT(test_load_without_nnp), UNIT(test_notify), UNIT(test_notify_flags),
          UNIT(test_send_listener_errors), UNIT(test_docker_sized_profile))
