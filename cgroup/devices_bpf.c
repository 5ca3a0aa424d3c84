/*
 * The cgroup v2 device filter: a BPF_PROG_TYPE_CGROUP_DEVICE program written
 * as raw instructions (no libbpf, no compiler), attached with
 * BPF_F_ALLOW_MULTI so a parent's policy still applies on top.
 *
 * Semantics match v1's ordered rule list as runc emulates it: the default is
 * deny and the last rule matching a device decides. Rules are evaluated from
 * last to first and per access bit: a request such as read|write is allowed
 * only when, for each bit, the last rule that matches the device and names that
 * bit is an allow rule. A deny rule naming any requested bit still unresolved
 * denies at once; an allow rule resolves the bits it names.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"

#define DEVCG_ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

/* Registers of the program: r1 ctx, r2 unresolved access bits, r3 type, r4 major, r5 minor. */
enum { R0, R1, R2, R3, R4, R5 };

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

/*
 * Every verdict jumps to one of two shared exits at the end ("r0 = 0; exit" and "r0 = 1;
 * exit"). The verifier checks each exit once and prunes every later path that reaches it; with
 * an exit per rule it re-checked the return value along the whole path at each one, which made
 * loading the standard rules cost 0.5-0.7 ms on a 2.5 GHz host.
 */
struct prog {
    struct bpf_insn *v;
    size_t n, cap;
    size_t *to_deny, n_deny, *to_allow, n_allow;
};

static size_t emit(struct prog *p, struct bpf_insn i)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
    }
    p->v[p->n] = i;
    return p->n++;
}

static void emit_verdict_jump(struct prog *p, struct bpf_insn jump, bool allow)
{
    size_t **list = allow ? &p->to_allow : &p->to_deny;
    size_t *n = allow ? &p->n_allow : &p->n_deny;
    *list = xreallocarray(*list, *n + 1, sizeof(**list));
    (*list)[(*n)++] = emit(p, jump);
}

/* "if reg != value goto next rule" (the offset patched later), tested on a copy: a test on reg
 * itself would pin reg to value on the matching path, and the verifier would then check every
 * later rule once more for each such narrower state. */
static size_t emit_differs(struct prog *p, int reg, int32_t value)
{
    emit(p, insn(BPF_ALU64 | BPF_MOV | BPF_X, R0, (uint8_t)reg, 0, 0));
    emit(p, insn(BPF_ALU64 | BPF_XOR | BPF_K, R0, 0, 0, value));
    return emit(p, insn(BPF_JMP | BPF_JNE | BPF_K, R0, 0, 0, 0));
}

static int emit_rule(struct prog *p, const struct spec_device_rule *r)
{
    uint32_t acc;
    if (cg_device_access_bits(r->access, &acc) < 0)
        return err_setx(EINVAL, "cgroup: devices: invalid access \"%s\" (expected letters of rwm)",
                        r->access);
    if (r->major < -1 || r->minor < -1 || r->major > INT32_MAX || r->minor > INT32_MAX)
        return err_setx(EINVAL, "cgroup: devices: invalid device number %" PRId64 ":%" PRId64,
                        r->major, r->minor);

    /* jumps to the next rule are patched once the block's length is known */
    size_t skips[4], n_skips = 0;
    switch (r->type) {
    case 'a': break;
    case 'b': skips[n_skips++] = emit_differs(p, R3, BPF_DEVCG_DEV_BLOCK); break;
    case 'c': skips[n_skips++] = emit_differs(p, R3, BPF_DEVCG_DEV_CHAR); break;
    default:
        return err_setx(EINVAL, "cgroup: devices: invalid type '%c' (expected a, b or c)", r->type);
    }
    if (r->major >= 0)
        skips[n_skips++] = emit_differs(p, R4, (int32_t)r->major);
    if (r->minor >= 0)
        skips[n_skips++] = emit_differs(p, R5, (int32_t)r->minor);

    /* deny: it names a bit still undecided. allow: it decides the bits it names; all decided? */
    if (r->allow) {
        emit(p, insn(BPF_ALU64 | BPF_AND | BPF_K, R2, 0, 0, (int32_t)~acc));
        emit_verdict_jump(p, insn(BPF_JMP | BPF_JEQ | BPF_K, R2, 0, 0, 0), true);
    } else {
        emit(p, insn(BPF_ALU64 | BPF_MOV | BPF_X, R0, R2, 0, 0));
        emit(p, insn(BPF_ALU64 | BPF_AND | BPF_K, R0, 0, 0, (int32_t)acc));
        emit_verdict_jump(p, insn(BPF_JMP | BPF_JNE | BPF_K, R0, 0, 0, 0), false);
    }
    for (size_t i = 0; i < n_skips; i++)
        p->v[skips[i]].off = (int16_t)(p->n - skips[i] - 1);
    return 0;
}

static int emit_rules(struct prog *p, const struct spec_device_rule *rules, size_t n,
                      bool with_defaults)
{
    /* last match wins: the standard set comes after the spec's rules, so test it first */
    if (with_defaults)
        for (size_t i = cg_n_default_devices; i-- > 0;) {
            int r = emit_rule(p, &cg_default_devices[i]);
            if (r < 0)
                return r;
        }
    for (size_t i = n; i-- > 0;) {
        int r = emit_rule(p, &rules[i]);
        if (r < 0)
            return err_prefix(r, "linux.resources.devices[%zu]", i);
    }
    return 0;
}

/* The two exits, and every jump to them. */
static int emit_verdicts(struct prog *p)
{
    size_t deny = emit(p, insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0));
    emit(p, insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    size_t allow = p->n;
    if (p->n_allow) { /* the verifier refuses unreachable code */
        emit(p, insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 1));
        emit(p, insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    }
    if (p->n > INT16_MAX)
        return err_setx(E2BIG, "cgroup: devices: too many device rules for one eBPF program");
    for (size_t i = 0; i < p->n_deny; i++)
        p->v[p->to_deny[i]].off = (int16_t)(deny - p->to_deny[i] - 1);
    for (size_t i = 0; i < p->n_allow; i++)
        p->v[p->to_allow[i]].off = (int16_t)(allow - p->to_allow[i] - 1);
    return 0;
}

int cg_bpf_devices_build(const struct spec_device_rule *rules, size_t n, bool with_defaults,
                         struct bpf_insn **insns, size_t *n_insns)
{
    struct prog p = {0};

    /* bpf_cgroup_dev_ctx: access_type = (access << 16) | type, then major, minor */
    emit(&p, insn(BPF_LDX | BPF_MEM | BPF_W, R2, R1, 0, 0));
    emit(&p, insn(BPF_ALU | BPF_MOV | BPF_X, R3, R2, 0, 0));
    emit(&p, insn(BPF_ALU | BPF_AND | BPF_K, R3, 0, 0, 0xffff));
    emit(&p, insn(BPF_ALU | BPF_RSH | BPF_K, R2, 0, 0, 16));
    emit(&p, insn(BPF_LDX | BPF_MEM | BPF_W, R4, R1, 4, 0));
    emit(&p, insn(BPF_LDX | BPF_MEM | BPF_W, R5, R1, 8, 0));
    /* A bit that no rule can name is never decided: deny it at once. Masking r2 then tells the
     * verifier which bits it holds, so that an allow rule naming all of them ends every path
     * through it. */
    emit(&p, insn(BPF_ALU64 | BPF_MOV | BPF_X, R0, R2, 0, 0));
    emit(&p, insn(BPF_ALU64 | BPF_AND | BPF_K, R0, 0, 0, ~(int32_t)DEVCG_ACC_ALL));
    emit_verdict_jump(&p, insn(BPF_JMP | BPF_JNE | BPF_K, R0, 0, 0, 0), false);
    emit(&p, insn(BPF_ALU64 | BPF_AND | BPF_K, R2, 0, 0, DEVCG_ACC_ALL));

    int r = emit_rules(&p, rules, n, with_defaults);
    if (r >= 0)
        r = emit_verdicts(&p); /* falling through every rule: deny */
    free(p.to_deny);
    free(p.to_allow);
    if (r < 0) {
        free(p.v);
        return r;
    }
    *insns = p.v;
    *n_insns = p.n;
    return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int prog_load(const struct bpf_insn *insns, size_t n, int *out)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = (uint32_t)n;
    attr.license = (uint64_t)(uintptr_t) "GPL";
    int fd = sys_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0) {
        *out = fd;
        return 0;
    }
    int e = errno;
    if (e == EPERM || e == ENOSYS)
        return err_set(e, "cgroup: devices: loading the eBPF device filter (bpf(2) "
                          "BPF_PROG_LOAD; needs CAP_SYS_ADMIN or CAP_BPF)");

    /* load again with the verifier's log so the message says why */
    char log[4096] = "";
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = sizeof(log);
    attr.log_level = 1;
    fd = sys_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0) {
        *out = fd;
        return 0;
    }
    size_t len = strnlen(log, sizeof(log) - 1);
    while (len > 0 && log[len - 1] == '\n')
        log[--len] = '\0';
    const char *last = strrchr(log, '\n');
    return err_set(e,
                   "cgroup: devices: the kernel rejected the eBPF device filter (%zu "
                   "instructions; verifier: %s)",
                   n, last ? last + 1 : log);
}

/* The ids of programs attached directly to the cgroup (not inherited). */
static int prog_query(int cgfd, uint32_t *ids, uint32_t *n)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = (uint32_t)cgfd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.query.prog_cnt = *n;
    if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
        return -errno;
    *n = attr.query.prog_cnt;
    return 0;
}

static int prog_detach_id(int cgfd, uint32_t id)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_id = id;
    _cleanup_close_ int pfd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
    if (pfd < 0)
        return errno == ENOENT ? 0 : -errno;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgfd;
    attr.attach_bpf_fd = (uint32_t)pfd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int cg_bpf_devices_install(const char *cgroup_dir, const struct bpf_insn *insns, size_t n)
{
    _cleanup_close_ int cgfd = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgfd < 0)
        return err_set(errno, "cgroup: devices: opening %s", cgroup_dir);

    /* the programs attached before ours are an earlier policy (update): replaced below */
    uint32_t old[64];
    uint32_t n_old = ARRAY_SIZE(old);
    int r = prog_query(cgfd, old, &n_old);
    if (r == -ENOSPC)
        return err_setx(ENOSPC,
                        "cgroup: devices: more than %zu device programs are attached to "
                        "%s; refusing to guess which to replace",
                        ARRAY_SIZE(old), cgroup_dir);
    if (r < 0)
        n_old = 0; /* old kernels without query: nothing to replace */

    _cleanup_close_ int pfd = -1;
    r = prog_load(insns, n, &pfd);
    if (r < 0)
        return r;

    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgfd;
    attr.attach_bpf_fd = (uint32_t)pfd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
        return err_set(errno, "cgroup: devices: attaching the eBPF device filter to %s",
                       cgroup_dir);

    /* the new policy is in force before the old one goes: no window without a filter */
    for (uint32_t i = 0; i < n_old; i++) {
        r = prog_detach_id(cgfd, old[i]);
        if (r < 0)
            return err_set(-r,
                           "cgroup: devices: detaching the previous device filter (program "
                           "id %" PRIu32 ") from %s",
                           old[i], cgroup_dir);
    }
    return 0;
}
