/*
 * linux.seccomp with libseccomp in the parent and one seccomp(2) in the child.
 *
 * libseccomp is used only as a compiler: the profile becomes a classic BPF
 * program once, in the runtime before the container exists, and the libseccomp
 * context is released. The container process then loads the program with a
 * single seccomp(2) call, so nothing between its last setup step and execve
 * allocates, parses or depends on libseccomp's own loading policy (it would
 * also set no_new_privs and probe the kernel, which berth decides itself).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/sock.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runtime/seccomp.h"

/* Older uapi headers lack the newer flags; the values are kernel ABI. */
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

/* seccomp(2) refuses a single program longer than this (BPF_MAXINSNS). */
#define SECCOMP_MAX_INSNS 4096
/* Syscalls take at most six arguments (SCMP_A0..SCMP_A5). */
#define SECCOMP_MAX_ARGS 6
/* The errno/trace data field of a seccomp return value is 16 bits. */
#define SECCOMP_MAX_RET_DATA 0xffffu

struct seccomp_filter {
    struct sock_filter *insns;
    unsigned short n_insns;
    unsigned int flags; /* SECCOMP_FILTER_FLAG_* passed to seccomp(2) */
    bool has_notify;
};

static const char *const action_names[] = {
        [SECCOMP_ACT_KILL] = "SCMP_ACT_KILL",
        [SECCOMP_ACT_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
        [SECCOMP_ACT_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
        [SECCOMP_ACT_TRAP] = "SCMP_ACT_TRAP",
        [SECCOMP_ACT_ERRNO] = "SCMP_ACT_ERRNO",
        [SECCOMP_ACT_TRACE] = "SCMP_ACT_TRACE",
        [SECCOMP_ACT_ALLOW] = "SCMP_ACT_ALLOW",
        [SECCOMP_ACT_LOG] = "SCMP_ACT_LOG",
        [SECCOMP_ACT_NOTIFY] = "SCMP_ACT_NOTIFY",
};

static const char *action_name(enum seccomp_action a)
{
    if ((size_t)a < ARRAY_SIZE(action_names) && action_names[a])
        return action_names[a];
    return "unknown action";
}

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
    if (*ctx)
        seccomp_release(*ctx);
}

/* The libseccomp action for an OCI action; errno_ret is already range checked. */
static int action_value(enum seccomp_action a, struct opt_u32 errno_ret, uint32_t *out)
{
    uint32_t data = errno_ret.set ? errno_ret.v : EPERM;

    switch (a) {
    case SECCOMP_ACT_KILL:
    case SECCOMP_ACT_KILL_THREAD: *out = SCMP_ACT_KILL_THREAD; return 0;
    case SECCOMP_ACT_KILL_PROCESS: *out = SCMP_ACT_KILL_PROCESS; return 0;
    case SECCOMP_ACT_TRAP: *out = SCMP_ACT_TRAP; return 0;
    case SECCOMP_ACT_ERRNO: *out = SCMP_ACT_ERRNO(data); return 0;
    case SECCOMP_ACT_TRACE: *out = SCMP_ACT_TRACE(data); return 0;
    case SECCOMP_ACT_ALLOW: *out = SCMP_ACT_ALLOW; return 0;
    case SECCOMP_ACT_LOG: *out = SCMP_ACT_LOG; return 0;
    case SECCOMP_ACT_NOTIFY: *out = SCMP_ACT_NOTIFY; return 0;
    }
    return -EINVAL;
}

static int check_errno_ret(struct opt_u32 errno_ret, const char *where)
{
    if (errno_ret.set && errno_ret.v > SECCOMP_MAX_RET_DATA)
        return err_setx(EINVAL,
                        "%s: %" PRIu32
                        " does not fit the 16-bit seccomp return data; use an errno number",
                        where, errno_ret.v);
    return 0;
}

static int compare_op(enum seccomp_op op, enum scmp_compare *out)
{
    switch (op) {
    case SECCOMP_OP_NE: *out = SCMP_CMP_NE; return 0;
    case SECCOMP_OP_LT: *out = SCMP_CMP_LT; return 0;
    case SECCOMP_OP_LE: *out = SCMP_CMP_LE; return 0;
    case SECCOMP_OP_EQ: *out = SCMP_CMP_EQ; return 0;
    case SECCOMP_OP_GE: *out = SCMP_CMP_GE; return 0;
    case SECCOMP_OP_GT: *out = SCMP_CMP_GT; return 0;
    case SECCOMP_OP_MASKED_EQ: *out = SCMP_CMP_MASKED_EQ; return 0;
    }
    return -EINVAL;
}

/*
 * OCI architecture names are libseccomp's macro names; libseccomp resolves its
 * own lower-case spelling ("SCMP_ARCH_X86_64" -> "x86_64"), so every arch this
 * libseccomp knows works without a table of ours going stale.
 */
static int add_architecture(scmp_filter_ctx ctx, const char *name, size_t i)
{
    static const char prefix[] = "SCMP_ARCH_";
    char lower[64];

    if (!startswith(name, prefix) || strlen(name) - strlen(prefix) >= sizeof(lower))
        return err_setx(EINVAL,
                        ".linux.seccomp.architectures[%zu]: unknown architecture \"%s\"; expected "
                        "a name such as SCMP_ARCH_X86_64",
                        i, name);
    size_t n = 0;
    for (const char *p = name + strlen(prefix); *p; p++)
        lower[n++] = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
    lower[n] = '\0';

    uint32_t token = seccomp_arch_resolve_name(lower);
    if (token == 0)
        return err_setx(EINVAL,
                        ".linux.seccomp.architectures[%zu]: architecture \"%s\" is not supported "
                        "by libseccomp %u.%u.%u; remove it from the profile or upgrade libseccomp",
                        i, name, seccomp_version()->major, seccomp_version()->minor,
                        seccomp_version()->micro);
    int r = seccomp_arch_add(ctx, token);
    /* The native architecture is always in a new context. */
    if (r < 0 && r != -EEXIST)
        return err_set(-r, ".linux.seccomp.architectures[%zu]: adding architecture %s", i, name);
    return 0;
}

static int build_conditions(const struct spec_syscall_rule *rule, size_t ri,
                            struct scmp_arg_cmp *cmps, bool *distinct)
{
    unsigned seen = 0;

    *distinct = true;
    for (size_t j = 0; j < rule->n_args; j++) {
        const struct spec_seccomp_arg *a = &rule->args[j];
        enum scmp_compare op;

        if (a->index >= SECCOMP_MAX_ARGS)
            return err_setx(EINVAL,
                            ".linux.seccomp.syscalls[%zu].args[%zu].index: %u is out of range; "
                            "syscalls have arguments 0 to %d",
                            ri, j, a->index, SECCOMP_MAX_ARGS - 1);
        if (compare_op(a->op, &op) < 0)
            return err_setx(EINVAL,
                            ".linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator %d", ri, j,
                            (int)a->op);
        if (seen & (1u << a->index))
            *distinct = false;
        seen |= 1u << a->index;
        /* For MASKED_EQ the OCI value is the mask and valueTwo the datum,
         * which is libseccomp's (datum_a, datum_b) order. */
        cmps[j] = (struct scmp_arg_cmp){
                .arg = a->index, .op = op, .datum_a = a->value, .datum_b = a->value_two};
    }
    return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t default_act, const struct spec_syscall_rule *rule,
                    size_t ri, bool *used_notify)
{
    char where[64];
    uint32_t act;
    int r;

    snprintf(where, sizeof(where), ".linux.seccomp.syscalls[%zu].errnoRet", ri);
    r = check_errno_ret(rule->errno_ret, where);
    if (r < 0)
        return r;
    if (action_value(rule->action, rule->errno_ret, &act) < 0)
        return err_setx(EINVAL, ".linux.seccomp.syscalls[%zu].action: unknown action %d", ri,
                        (int)rule->action);

    /* A condition list with a repeated argument index is one rule per
     * condition (any matches), as runc does; it cannot be one AND rule
     * anyway when more than six conditions are given. */
    _cleanup_free_ struct scmp_arg_cmp *cmps =
            xcalloc(rule->n_args ? rule->n_args : 1, sizeof(*cmps));
    bool distinct;
    r = build_conditions(rule, ri, cmps, &distinct);
    if (r < 0)
        return r;

    if (act == default_act) {
        /* libseccomp refuses a rule that repeats the default action; it
         * would change nothing anyway. */
        log_debug("seccomp: .linux.seccomp.syscalls[%zu]: action %s equals the default action, "
                  "skipped",
                  ri, action_name(rule->action));
        return 0;
    }

    for (size_t k = 0; k < rule->n_names; k++) {
        const char *name = rule->names[k];
        int nr = seccomp_syscall_resolve_name(name);

        if (nr == __NR_SCMP_ERROR) {
            /* Profiles list syscalls newer than this libseccomp or kernel. */
            log_debug("seccomp: unknown syscall \"%s\" skipped", name);
            continue;
        }
        if (distinct) {
            r = seccomp_rule_add_array(ctx, act, nr, (unsigned)rule->n_args, cmps);
        } else {
            r = 0;
            for (size_t j = 0; j < rule->n_args && r == 0; j++)
                r = seccomp_rule_add_array(ctx, act, nr, 1, &cmps[j]);
        }
        if (r < 0)
            return err_set(-r, ".linux.seccomp.syscalls[%zu]: adding %s rule for syscall \"%s\"",
                           ri, action_name(rule->action), name);
        if (rule->action == SECCOMP_ACT_NOTIFY)
            *used_notify = true;
    }
    return 0;
}

/* Compile ctx to classic BPF. libseccomp 2.5 exports only to an fd, hence the memfd. */
static int export_program(scmp_filter_ctx ctx, struct sock_filter **out, unsigned short *n_out)
{
    _cleanup_close_ int fd = memfd_create("berth-seccomp-bpf", MFD_CLOEXEC);
    if (fd < 0)
        return err_set(errno, "creating a memfd for the seccomp program");

    int r = seccomp_export_bpf(ctx, fd);
    if (r < 0)
        return err_set(-r, "compiling the seccomp profile to BPF");

    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_set(errno, "reading the compiled seccomp program");
    size_t size = (size_t)st.st_size;
    if (size == 0 || size % sizeof(struct sock_filter) != 0)
        return err_setx(EINVAL, "libseccomp produced a malformed BPF program of %zu bytes", size);
    size_t n = size / sizeof(struct sock_filter);
    if (n > SECCOMP_MAX_INSNS)
        return err_setx(E2BIG,
                        "the seccomp profile compiles to %zu BPF instructions, more than the "
                        "kernel's limit of %d; use fewer rules or architectures",
                        n, SECCOMP_MAX_INSNS);

    struct sock_filter *insns = xmalloc(size);
    size_t done = 0;
    while (done < size) {
        ssize_t k = pread(fd, (char *)insns + done, size - done, (off_t)done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : EIO;
            free(insns);
            return err_set(e, "reading the compiled seccomp program");
        }
        done += (size_t)k;
    }
    *out = insns;
    *n_out = (unsigned short)n;
    return 0;
}

static unsigned kernel_flags(const struct spec_seccomp *s, bool has_notify)
{
    unsigned flags = 0;

    if (s->flags & SECCOMP_FLAG_LOG)
        flags |= SECCOMP_FILTER_FLAG_LOG;
    if (s->flags & SECCOMP_FLAG_SPEC_ALLOW)
        flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    if (has_notify)
        flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    /* The kernel refuses WAIT_KILLABLE_RECV without a listener; with no
     * notify rule there is nothing for it to change. */
    if (s->flags & SECCOMP_FLAG_WAIT_KILLABLE_RECV) {
        if (has_notify)
            flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        else
            log_debug("seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no SCMP_ACT_NOTIFY "
                      "rule");
    }
    /* TSYNC is meaningless here: the container process is single-threaded
     * when it loads the filter. */
    return flags;
}

int seccomp_filter_build(const struct spec_seccomp *s, struct seccomp_filter **out)
{
    _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
    uint32_t default_act;
    bool has_notify = false;
    int r;

    *out = NULL;
    if (s->default_action == SECCOMP_ACT_NOTIFY)
        return err_setx(EINVAL, ".linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the "
                                "default action; use it in syscalls rules");
    r = check_errno_ret(s->default_errno_ret, ".linux.seccomp.defaultErrnoRet");
    if (r < 0)
        return r;
    if (action_value(s->default_action, s->default_errno_ret, &default_act) < 0)
        return err_setx(EINVAL, ".linux.seccomp.defaultAction: unknown action %d",
                        (int)s->default_action);

    ctx = seccomp_init(default_act);
    if (!ctx)
        return err_setx(EINVAL,
                        ".linux.seccomp.defaultAction: libseccomp refused %s (not supported by "
                        "this kernel?)",
                        action_name(s->default_action));

    /* Only the BPF is used, but keep the context honest about what berth
     * does: no_new_privs is berth's decision and one thread loads it. */
    r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (r == 0)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 0);
    if (r < 0)
        return err_set(-r, "configuring the libseccomp filter context");

    for (size_t i = 0; i < s->n_architectures; i++) {
        r = add_architecture(ctx, s->architectures[i], i);
        if (r < 0)
            return r;
    }

    for (size_t i = 0; i < s->n_syscalls; i++) {
        r = add_rule(ctx, default_act, &s->syscalls[i], i, &has_notify);
        if (r < 0)
            return r;
    }

    struct seccomp_filter *f = xzalloc(sizeof(*f));
    r = export_program(ctx, &f->insns, &f->n_insns);
    if (r < 0) {
        free(f);
        return r;
    }
    f->has_notify = has_notify;
    f->flags = kernel_flags(s, has_notify);
    log_debug("seccomp: profile compiled to %u BPF instructions (flags 0x%x)", f->n_insns,
              f->flags);
    *out = f;
    return 0;
}

bool seccomp_filter_has_notify(const struct seccomp_filter *f)
{
    return f && f->has_notify;
}

static const struct {
    unsigned flag;
    const char *name;
} flag_names[] = {
        {SECCOMP_FILTER_FLAG_LOG, "SECCOMP_FILTER_FLAG_LOG"},
        {SECCOMP_FILTER_FLAG_SPEC_ALLOW, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"},
        {SECCOMP_FILTER_FLAG_NEW_LISTENER, "SECCOMP_FILTER_FLAG_NEW_LISTENER (SCMP_ACT_NOTIFY)"},
        {SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"},
};

/*
 * seccomp(2) checks flags before it reads the program, so a NULL program
 * fails with EFAULT for a supported flag and EINVAL for an unknown one,
 * without installing anything.
 */
static int load_einval_error(const struct seccomp_filter *f)
{
    for (size_t i = 0; i < ARRAY_SIZE(flag_names); i++) {
        unsigned flag = flag_names[i].flag;
        if (!(f->flags & flag))
            continue;
        unsigned probe = flag;
        if (flag == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
            probe |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, probe, NULL) < 0 && errno == EINVAL)
            return err_setx(EINVAL,
                            "loading the seccomp filter: this kernel does not support %s; remove "
                            "the flag from linux.seccomp.flags or upgrade the kernel",
                            flag_names[i].name);
    }
    return err_set(EINVAL, "loading the seccomp filter (%u BPF instructions, flags 0x%x)",
                   f->n_insns, f->flags);
}

int seccomp_filter_load(struct seccomp_filter *f, int *notify_fd)
{
    struct sock_fprog prog = {.len = f->n_insns, .filter = f->insns};

    *notify_fd = -1;
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &prog);
    if (r < 0) {
        switch (errno) {
        case EINVAL: return load_einval_error(f);
        case EACCES:
            return err_set(
                    EACCES,
                    "loading the seccomp filter: the process needs no_new_privs or CAP_SYS_ADMIN");
        default: return err_set(errno, "loading the seccomp filter");
        }
    }
    if (f->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)
        *notify_fd = (int)r;
    return 0;
}

void seccomp_filter_free(struct seccomp_filter *f)
{
    if (!f)
        return;
    free(f->insns);
    free(f);
}

static char *listener_message(const char *metadata, pid_t pid, const char *state_json, size_t *len)
{
    struct jw w;

    jw_init(&w, NULL);
    jw_object_begin(&w);
    jw_kv_string(&w, "ociVersion", BERTH_SPEC_VERSION);
    jw_key(&w, "fds");
    jw_array_begin(&w);
    jw_string(&w, "seccompFd");
    jw_array_end(&w);
    jw_kv_int(&w, "pid", pid);
    /* Optional in the spec; runc omits it when empty. */
    if (!str_empty(metadata))
        jw_kv_string(&w, "metadata", metadata);
    jw_key(&w, "state");
    if (state_json)
        jw_raw(&w, state_json, strlen(state_json));
    else
        jw_null(&w);
    jw_object_end(&w);
    return jw_steal(&w, len);
}

int seccomp_send_listener(const char *listener_path, const char *metadata, int notify_fd, pid_t pid,
                          const char *state_json)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (strlen(listener_path) >= sizeof(sa.sun_path))
        return err_setx(ENAMETOOLONG,
                        "seccomp listenerPath %s: longer than the %zu bytes a unix socket path may "
                        "have; use a shorter path",
                        listener_path, sizeof(sa.sun_path) - 1);
    memcpy(sa.sun_path, listener_path, strlen(listener_path) + 1);

    _cleanup_close_ int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return err_set(errno, "creating a socket for seccomp listenerPath %s", listener_path);
    if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return err_set(
                errno,
                "connecting to seccomp listenerPath %s (is the seccomp agent listening there?)",
                listener_path);

    size_t len;
    _cleanup_free_ char *msg = listener_message(metadata, pid, state_json, &len);
    int r = sock_send_fd(sock, msg, len, notify_fd);
    if (r < 0)
        return err_set(-r, "sending the seccomp listener fd to listenerPath %s", listener_path);
    return 0;
}
