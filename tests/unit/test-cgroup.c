/*
 * cgroup/ without privileges: the pure conversions, path resolution, the eBPF
 * device program (run through a small interpreter against a reference model),
 * state round trips, the stats JSON, and every resource mapping written into
 * fake hierarchies (plain directories standing in for cgroupfs).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/util.h"
#include "tests/unit/unit.h"

static void test_shares_to_weight(void)
{
    CHECK_INT(cg_shares_to_weight(2), 1);
    CHECK_INT(cg_shares_to_weight(1024), 100); /* the defaults meet */
    CHECK_INT(cg_shares_to_weight(262144), 10000);
    CHECK_INT(cg_shares_to_weight(0), 0); /* unset stays unset */
    CHECK_INT(cg_shares_to_weight(1), 1); /* clamped like the kernel */
    CHECK_INT(cg_shares_to_weight(1000000), 10000);
    CHECK_INT(cg_shares_to_weight(512), 59);
    CHECK_INT(cg_shares_to_weight(2048), 174);
    CHECK_INT(cg_blkio_weight_to_io_weight(10), 1);
    CHECK_INT(cg_blkio_weight_to_io_weight(1000), 10000);
    CHECK_INT(cg_blkio_weight_to_io_weight(500), 4950);
    CHECK_INT(cg_blkio_weight_to_io_weight(0), 0);
}

/* berth computes the formula without libm: the same answer as libm for every value */
static void test_shares_to_weight_matches_libm(void)
{
    uint64_t mismatches = 0, first = 0;
    for (uint64_t s = 2; s <= 262144; s++) {
        double l = log2((double)s);
        double w = ceil(pow(10.0, (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0));
        uint64_t ref = w < 1 ? 1 : w > 10000 ? 10000 : (uint64_t)w;
        if (cg_shares_to_weight(s) != ref && !mismatches++)
            first = s;
    }
    CHECK_INT(mismatches, 0);
    CHECK_INT(first, 0);
}

static void test_cpu_max(void)
{
    char buf[64];
    cg_format_cpu_max(buf, sizeof(buf), false, 0, 100000);
    CHECK_STR(buf, "max 100000");
    cg_format_cpu_max(buf, sizeof(buf), true, -1, 100000);
    CHECK_STR(buf, "max 100000");
    cg_format_cpu_max(buf, sizeof(buf), true, 20000, 100000);
    CHECK_STR(buf, "20000 100000");
    cg_format_cpu_max(buf, sizeof(buf), true, 50000, 0);
    CHECK_STR(buf, "50000");
    cg_format_cpu_max(buf, sizeof(buf), true, -1, 0);
    CHECK_STR(buf, "max");

    int64_t q;
    uint64_t p;
    CHECK_INT(cg_parse_cpu_max("max 100000\n", &q, &p), 0);
    CHECK_INT(q, -1);
    CHECK_INT(p, 100000);
    CHECK_INT(cg_parse_cpu_max("20000 50000", &q, &p), 0);
    CHECK_INT(q, 20000);
    CHECK_INT(p, 50000);
    CHECK(cg_parse_cpu_max("garbage", &q, &p) < 0);
}

static void test_io_max(void)
{
    struct spec_throttle_device rbps[] = {{8, 0, 1048576}, {8, 16, 0}};
    struct spec_throttle_device wiops[] = {{8, 0, 100}};
    struct spec_throttle_device riops[] = {{259, 1, 5}, {259, 1, 7}};
    struct spec_block_io b = {0};
    b.throttle[THROTTLE_READ_BPS] = rbps;
    b.n_throttle[THROTTLE_READ_BPS] = 2;
    b.throttle[THROTTLE_WRITE_IOPS] = wiops;
    b.n_throttle[THROTTLE_WRITE_IOPS] = 1;
    b.throttle[THROTTLE_READ_IOPS] = riops;
    b.n_throttle[THROTTLE_READ_IOPS] = 2;

    _cleanup_free_ struct cg_io_max *l = NULL;
    size_t n = cg_io_max_collect(&b, &l);
    CHECK_INT(n, 3);
    char buf[256];
    cg_format_io_max(buf, sizeof(buf), &l[0]);
    CHECK_STR(buf, "8:0 rbps=1048576 wiops=100");
    cg_format_io_max(buf, sizeof(buf), &l[1]);
    CHECK_STR(buf, "8:16 rbps=max"); /* 0 = no limit, as on v1 */
    cg_format_io_max(buf, sizeof(buf), &l[2]);
    CHECK_STR(buf, "259:1 riops=7"); /* the later entry for a device wins */

    struct cg_io_max all = {.major = 253, .minor = 3};
    for (int k = 0; k < THROTTLE__COUNT; k++) {
        all.set[k] = true;
        all.rate[k] = (uint64_t)k + 1;
    }
    cg_format_io_max(buf, sizeof(buf), &all);
    CHECK_STR(buf, "253:3 rbps=1 wbps=2 riops=3 wiops=4");
}

static void test_hugepage_names(void)
{
    char buf[16];
    cg_hugepage_size_name(2048, buf, sizeof(buf));
    CHECK_STR(buf, "2MB");
    cg_hugepage_size_name(1048576, buf, sizeof(buf));
    CHECK_STR(buf, "1GB");
    cg_hugepage_size_name(64, buf, sizeof(buf));
    CHECK_STR(buf, "64KB");
    cg_hugepage_size_name(32768, buf, sizeof(buf));
    CHECK_STR(buf, "32MB");
    cg_hugepage_size_name(16777216, buf, sizeof(buf));
    CHECK_STR(buf, "16GB");
    cg_hugepage_size_name(1536, buf, sizeof(buf));
    CHECK_STR(buf, "1536KB");

    uint64_t b;
    CHECK_INT(cg_hugepage_size_parse("2MB", &b), 0);
    CHECK_INT(b, 2u << 20);
    CHECK_INT(cg_hugepage_size_parse("1GB", &b), 0);
    CHECK_INT(b, 1u << 30);
    CHECK_INT(cg_hugepage_size_parse("64KB", &b), 0);
    CHECK_INT(b, 64u << 10);
    CHECK(cg_hugepage_size_parse("2M", &b) < 0);
    CHECK(cg_hugepage_size_parse("MB", &b) < 0);
    CHECK(cg_hugepage_size_parse("02MB", &b) < 0);
    CHECK(cg_hugepage_size_parse("0MB", &b) < 0);
    CHECK(cg_hugepage_size_parse("2mb", &b) < 0);
    CHECK(cg_hugepage_size_parse("../MB", &b) < 0);
}

static void test_swap(void)
{
    uint64_t s;
    bool max;
    CHECK_INT(cg_swap_to_v2(100, 300, &s, &max), 0);
    CHECK_INT(s, 200);
    CHECK(!max);
    CHECK_INT(cg_swap_to_v2(100, 100, &s, &max), 0);
    CHECK_INT(s, 0); /* swap == limit: no swap at all */
    CHECK_INT(cg_swap_to_v2(100, -1, &s, &max), 0);
    CHECK(max);
    CHECK_INT(cg_swap_to_v2(-1, -1, &s, &max), 0);
    CHECK(max);
    CHECK_INT(cg_swap_to_v2(0, 100, &s, &max), -EDOM);
    CHECK_INT(cg_swap_to_v2(-1, 100, &s, &max), -EDOM);
    CHECK_INT(cg_swap_to_v2(200, 100, &s, &max), -ERANGE);
    CHECK_INT(cg_swap_to_v2(200, -5, &s, &max), -EINVAL);

    /* raising: memsw first; lowering below the current limit: limit first */
    CHECK(cg_v1_swap_first(100, 200));
    CHECK(cg_v1_swap_first(100, 100));
    CHECK(!cg_v1_swap_first(300, 200));
    CHECK(cg_v1_swap_first(300, -1));
    CHECK(cg_v1_swap_first(UINT64_C(9223372036854771712), -1));
    CHECK(!cg_v1_swap_first(UINT64_C(9223372036854771712), 64 << 20));
}

static void check_resolve(const char *own, const char *path, const char *id, const char *want)
{
    _cleanup_free_ char *out = NULL;
    err_clear();
    int r = cg_resolve_path(own, path, id, &out);
    if (r < 0)
        printf("#   resolve(%s, %s, %s): %s\n", own, path ? path : "NULL", id ? id : "NULL",
               err_msg());
    CHECK_INT(r, 0);
    CHECK_STR(out, want);
}

static void check_resolve_fails(const char *own, const char *path, const char *id,
                                const char *msg_part)
{
    _cleanup_free_ char *out = NULL;
    err_clear();
    CHECK(cg_resolve_path(own, path, id, &out) < 0);
    CHECK(out == NULL);
    CHECK_CONTAINS(err_msg(), msg_part);
}

static void test_resolve_path(void)
{
    check_resolve("/own", "/a/b", "c1", "/a/b");
    check_resolve("/own", "//a//./b/", "c1", "/a/b");
    check_resolve("/own", "/a:b:c", "c1", "/a:b:c"); /* absolute: a plain name */
    check_resolve("/own", "x/y", "c1", "/own/x/y");
    check_resolve("/own", "./x", "c1", "/own/x");
    check_resolve("/process_api/abc", NULL, "c1", "/process_api/abc/c1");
    check_resolve("/process_api/abc", "", "c1", "/process_api/abc/c1");
    check_resolve("/", "x", "c1", "/x");
    check_resolve("/", NULL, "ctr", "/ctr");

    check_resolve_fails("/own", "..", "c1", "\"..\"");
    check_resolve_fails("/own", "a/../../b", "c1", "\"..\"");
    check_resolve_fails("/own", "/a/../b", "c1", "\"..\"");
    check_resolve_fails("/own", "/..", "c1", "\"..\"");
    check_resolve_fails("/own", "system.slice:berth:c1", "c1", "systemd");
    check_resolve_fails("/own", "system.slice:berth:c1", "c1", "not implemented");
    check_resolve_fails("/own", "/", "c1", "root cgroup");
    check_resolve_fails("/own", ".", "c1", "own cgroup");
    check_resolve_fails("/own", NULL, "a/b", "container id");
    check_resolve_fails("/own", NULL, "..", "container id");
    check_resolve_fails("/own", NULL, NULL, "container id");

    CHECK(cg_is_systemd_path("system.slice:docker:abc"));
    CHECK(cg_is_systemd_path(":berth:abc"));
    CHECK(!cg_is_systemd_path("/system.slice:docker:abc"));
    CHECK(!cg_is_systemd_path("a:b"));
    CHECK(!cg_is_systemd_path("a:b:c:d"));
    CHECK(!cg_is_systemd_path(NULL));
}

static void check_superopts(const char *opts, const char *want)
{
    static char *const known[] = {"cpu", "cpuacct", "memory", "net_cls", "net_prio", "pids", NULL};
    _cleanup_free_ char *name = cg_v1_name_from_superopts(opts, known);
    CHECK_STR(name, want);
}

static void test_hierarchy_names(void)
{
    check_superopts("rw,cpu,cpuacct", "cpu,cpuacct");
    check_superopts("rw,nosuid,nodev,noexec,relatime,cpu,cpuacct", "cpu,cpuacct");
    check_superopts("rw,xattr,name=systemd", "name=systemd");
    check_superopts("rw,net_cls,net_prio", "net_cls,net_prio");
    check_superopts("rw,memory", "memory");
    check_superopts("rw,release_agent=/x,clone_children", "");
    CHECK(cg_same_set("cpu,cpuacct", "cpuacct,cpu"));
    CHECK(cg_same_set("name=systemd", "name=systemd"));
    CHECK(!cg_same_set("cpu", "cpu,cpuacct"));
    CHECK(!cg_same_set("cpu,cpuacct", "cpu,memory"));
    CHECK(!cg_same_set("cpu,cpu", "cpu,cpuacct"));

    /* the v2 name of blkio is io; unknown names are not controllers */
    CHECK_INT(cg_ctrl_from_name("io", true), CG_BLKIO);
    CHECK_INT(cg_ctrl_from_name("io", false), -1);
    CHECK_INT(cg_ctrl_from_name("blkio", true), -1);
    CHECK_INT(cg_ctrl_from_name("blkio", false), CG_BLKIO);
    CHECK_INT(cg_ctrl_from_name("cgroup", true), -1);
    CHECK_STR(cg_ctrl_name(CG_BLKIO, true), "io");
}

static struct spec_device_rule rule(bool allow, char type, int64_t maj, int64_t min,
                                    const char *acc)
{
    struct spec_device_rule r = {.allow = allow, .type = type, .major = maj, .minor = min};
    snprintf(r.access, sizeof(r.access), "%s", acc);
    return r;
}

static void check_v1_lines(struct spec_device_rule r, size_t want_n, const char *l0, const char *l1)
{
    char lines[2][64];
    size_t n = 0;
    CHECK_INT(cg_device_rule_v1(&r, lines, &n), 0);
    CHECK_INT(n, want_n);
    if (n >= 1)
        CHECK_STR(lines[0], l0);
    if (n >= 2)
        CHECK_STR(lines[1], l1);
}

static void test_device_rules_v1(void)
{
    check_v1_lines(rule(true, 'c', 1, 3, "rwm"), 1, "c 1:3 rwm", NULL);
    check_v1_lines(rule(true, 'c', 136, -1, "rwm"), 1, "c 136:* rwm", NULL);
    check_v1_lines(rule(true, 'b', -1, -1, "m"), 1, "b *:* m", NULL);
    check_v1_lines(rule(false, 'a', -1, -1, "rwm"), 1, "a *:* rwm", NULL);
    check_v1_lines(rule(false, 'a', -1, -1, ""), 1, "a *:* rwm", NULL); /* "" = rwm */
    check_v1_lines(rule(true, 'c', 5, 1, "wr"), 1, "c 5:1 rw", NULL);
    /* v1 reads any "a" line as everything: partial ones become c + b lines */
    check_v1_lines(rule(true, 'a', -1, -1, "r"), 2, "c *:* r", "b *:* r");
    check_v1_lines(rule(false, 'a', 1, 3, "rwm"), 2, "c 1:3 rwm", "b 1:3 rwm");

    char lines[2][64];
    size_t n;
    struct spec_device_rule bad = rule(true, 'x', 1, 3, "rwm");
    CHECK(cg_device_rule_v1(&bad, lines, &n) < 0);
    CHECK_CONTAINS(err_msg(), "type");
    bad = rule(true, 'c', 1, 3, "rq");
    CHECK(cg_device_rule_v1(&bad, lines, &n) < 0);
    CHECK_CONTAINS(err_msg(), "access");
    bad = rule(true, 'c', -7, 3, "r");
    CHECK(cg_device_rule_v1(&bad, lines, &n) < 0);
}

/* ---- a small interpreter for the instructions the device program uses ---- */

static int bpf_run(const struct bpf_insn *p, size_t n, uint32_t type, uint32_t access,
                   uint32_t major, uint32_t minor, size_t *steps)
{
    struct bpf_cgroup_dev_ctx ctx = {
            .access_type = (access << 16) | type, .major = major, .minor = minor};
    uint64_t r[11] = {0};
    r[1] = (uint64_t)(uintptr_t)&ctx;
    *steps = 0;
    for (size_t pc = 0; pc < n; pc++) {
        const struct bpf_insn *i = &p[pc];
        uint64_t imm = (uint64_t)(int64_t)i->imm;
        (*steps)++;
        switch (i->code) {
        case BPF_LDX | BPF_MEM | BPF_W: {
            uint32_t v;
            if (i->src_reg != 1 || i->imm != 0 || i->off < 0 || i->off > 8 || i->off % 4)
                return -100;
            memcpy(&v, (const char *)&ctx + i->off, 4);
            r[i->dst_reg] = v;
            break;
        }
        case BPF_ALU | BPF_MOV | BPF_X: r[i->dst_reg] = (uint32_t)r[i->src_reg]; break;
        case BPF_ALU | BPF_AND | BPF_K: r[i->dst_reg] = (uint32_t)(r[i->dst_reg] & imm); break;
        case BPF_ALU | BPF_RSH | BPF_K: r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm; break;
        case BPF_ALU64 | BPF_MOV | BPF_X: r[i->dst_reg] = r[i->src_reg]; break;
        case BPF_ALU64 | BPF_MOV | BPF_K: r[i->dst_reg] = imm; break;
        case BPF_ALU64 | BPF_AND | BPF_K: r[i->dst_reg] &= imm; break;
        case BPF_ALU64 | BPF_XOR | BPF_K: r[i->dst_reg] ^= imm; break;
        case BPF_JMP | BPF_JNE | BPF_K:
            if (r[i->dst_reg] != imm)
                pc += (size_t)i->off;
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            if (r[i->dst_reg] == imm)
                pc += (size_t)i->off;
            break;
        case BPF_JMP | BPF_EXIT: return (int)r[0];
        default: return -101;
        }
        if (i->off < 0 && (i->code & 0x07) == BPF_JMP)
            return -102; /* the program only jumps forward */
    }
    return -103; /* fell off the end */
}

/* The semantics by definition: per access bit, the last matching rule naming it decides. */
static int reference(const struct spec_device_rule *rules, size_t n, bool defaults, char type,
                     uint32_t access, int64_t major, int64_t minor)
{
    struct spec_device_rule all[64];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        all[m++] = rules[i];
    if (defaults)
        for (size_t i = 0; i < cg_n_default_devices; i++)
            all[m++] = cg_default_devices[i];
    if (access & ~7u)
        return 0; /* no rule can allow a bit it cannot name */
    for (uint32_t bit = 1; bit <= 4; bit <<= 1) {
        if (!(access & bit))
            continue;
        bool allowed = false;
        for (size_t i = 0; i < m; i++) {
            uint32_t acc;
            cg_device_access_bits(all[i].access, &acc);
            if ((all[i].type == 'a' || all[i].type == type) &&
                (all[i].major < 0 || all[i].major == major) &&
                (all[i].minor < 0 || all[i].minor == minor) && (acc & bit))
                allowed = all[i].allow;
        }
        if (!allowed)
            return 0;
    }
    return 1;
}

static int run_rules(const struct spec_device_rule *rules, size_t n, bool defaults, char type,
                     uint32_t access, uint32_t major, uint32_t minor)
{
    _cleanup_free_ struct bpf_insn *p = NULL;
    size_t np = 0, steps;
    if (cg_bpf_devices_build(rules, n, defaults, &p, &np) < 0)
        return -1;
    uint32_t t = type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
    return bpf_run(p, np, t, access, major, minor, &steps);
}

enum { R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD };

static void test_bpf_structure(void)
{
    _cleanup_free_ struct bpf_insn *p = NULL;
    size_t n = 0;
    CHECK_INT(cg_bpf_devices_build(NULL, 0, false, &p, &n), 0);
    /* 6 to load the context, 4 to deny unknown access bits, "deny" + exit (no "allow" exit:
     * the verifier refuses unreachable code) */
    CHECK_INT(n, 12);
    CHECK_INT(p[n - 1].code, BPF_JMP | BPF_EXIT);
    free(p);
    p = NULL;

    struct spec_device_rule one = rule(true, 'c', 1, 3, "rwm");
    CHECK_INT(cg_bpf_devices_build(&one, 1, false, &p, &n), 0);
    CHECK_INT(n, 25); /* + 3 each for type, major, minor, 2 to resolve, the "allow" exit */
    CHECK_INT(p[n - 1].code, BPF_JMP | BPF_EXIT);
    CHECK_INT(p[n - 2].imm, 1);
    free(p);
    p = NULL;

    struct spec_device_rule deny_all = rule(false, 'a', -1, -1, "rwm");
    CHECK_INT(cg_bpf_devices_build(&deny_all, 1, false, &p, &n), 0);
    CHECK_INT(n, 15); /* no device tests: 3 to test access */
    free(p);
    p = NULL;

    /* one exit per verdict, however many rules */
    CHECK_INT(cg_bpf_devices_build(&deny_all, 1, true, &p, &n), 0);
    size_t exits = 0;
    for (size_t i = 0; i < n; i++)
        exits += p[i].code == (BPF_JMP | BPF_EXIT);
    CHECK_INT(exits, 2);
    CHECK(n > 12 && n < 12 + 11 * 11 + 1);
    free(p);
    p = NULL;

    struct spec_device_rule bad = rule(true, 'q', 1, 3, "rwm");
    CHECK(cg_bpf_devices_build(&bad, 1, true, &p, &n) < 0);
    CHECK_CONTAINS(err_msg(), "devices[0]");
}

static void test_bpf_semantics(void)
{
    /* the standard set alone */
    CHECK_INT(run_rules(NULL, 0, true, 'c', R, 1, 3), 1);     /* /dev/null */
    CHECK_INT(run_rules(NULL, 0, true, 'c', R | W, 1, 9), 1); /* /dev/urandom */
    CHECK_INT(run_rules(NULL, 0, true, 'c', R | W, 136, 7), 1);
    CHECK_INT(run_rules(NULL, 0, true, 'c', R | W, 5, 1), 1); /* console */
    CHECK_INT(run_rules(NULL, 0, true, 'b', R, 8, 0), 0);
    CHECK_INT(run_rules(NULL, 0, true, 'b', M, 8, 0), 0); /* no mknod outside the list */
    CHECK_INT(run_rules(NULL, 0, true, 'c', M, 1, 3), 1);
    CHECK_INT(run_rules(NULL, 0, true, 'c', R | W, 10, 200), 0);
    CHECK_INT(run_rules(NULL, 0, true, 'c', R | M, 10, 200), 0);
    CHECK_INT(run_rules(NULL, 0, false, 'c', R, 1, 3), 0); /* default deny */

    /* last match wins, per bit */
    struct spec_device_rule a[] = {rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 1, 3, "rw"),
                                   rule(false, 'c', 1, 3, "w")};
    CHECK_INT(run_rules(a, 3, false, 'c', R, 1, 3), 1);
    CHECK_INT(run_rules(a, 3, false, 'c', W, 1, 3), 0);
    CHECK_INT(run_rules(a, 3, false, 'c', R | W, 1, 3), 0);
    CHECK_INT(run_rules(a, 3, false, 'c', M, 1, 3), 0);

    struct spec_device_rule b[] = {rule(true, 'c', 1, 3, "r"), rule(true, 'c', 1, 3, "w")};
    CHECK_INT(run_rules(b, 2, false, 'c', R | W, 1, 3), 1); /* union of two allows */
    CHECK_INT(run_rules(b, 2, false, 'c', R | W | M, 1, 3), 0);

    struct spec_device_rule c[] = {rule(true, 'a', -1, -1, "rwm"), rule(false, 'b', 8, -1, "w")};
    CHECK_INT(run_rules(c, 2, false, 'b', R, 8, 0), 1);
    CHECK_INT(run_rules(c, 2, false, 'b', W, 8, 16), 0);
    CHECK_INT(run_rules(c, 2, false, 'c', R | W, 4, 1), 1);

    /* a spec deny of /dev/null is overridden by the standard set after it (runc's order) */
    struct spec_device_rule d[] = {rule(false, 'c', 1, 3, "rwm")};
    CHECK_INT(run_rules(d, 1, true, 'c', R | W, 1, 3), 1);
    CHECK_INT(run_rules(d, 1, false, 'c', R | W, 1, 3), 0);

    /* docker's usual list: deny everything, then allow a few */
    struct spec_device_rule e[] = {rule(false, 'a', -1, -1, "rwm"),
                                   rule(true, 'c', 10, 200, "rwm")};
    CHECK_INT(run_rules(e, 2, true, 'c', R | W, 10, 200), 1);
    CHECK_INT(run_rules(e, 2, true, 'c', R | W, 10, 229), 0);
}

static uint32_t lcg(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7fff;
}

static void test_bpf_random(void)
{
    static const char types[] = {'a', 'b', 'c'};
    static const char *const accs[] = {"r", "w", "m", "rw", "rm", "wm", "rwm"};
    static const int64_t nums[] = {-1, 1, 2};
    uint32_t seed = 12345;
#define RND() lcg(&seed)
    size_t mismatches = 0, checked = 0;
    for (int iter = 0; iter < 400; iter++) {
        struct spec_device_rule rules[6];
        size_t n = RND() % 7;
        for (size_t i = 0; i < n; i++) {
            bool allow = RND() % 2;
            char type = types[RND() % 3];
            int64_t maj = nums[RND() % 3], min = nums[RND() % 3];
            rules[i] = rule(allow, type, maj, min, accs[RND() % 7]);
        }
        bool defaults = RND() % 2;
        _cleanup_free_ struct bpf_insn *p = NULL;
        size_t np = 0, steps;
        CHECK_INT(cg_bpf_devices_build(rules, n, defaults, &p, &np), 0);
        for (int t = 0; t < 2; t++)
            for (uint32_t maj = 1; maj <= 3; maj++)
                for (uint32_t min = 1; min <= 3; min++)
                    for (uint32_t acc = 1; acc <= 15; acc++) {
                        char ty = t ? 'b' : 'c';
                        int got = bpf_run(p, np, t ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, acc,
                                          maj, min, &steps);
                        int want = reference(rules, n, defaults, ty, acc, maj, min);
                        checked++;
                        if (got != want && mismatches++ < 5)
                            printf("#   iter %d: %c %u:%u acc %u: bpf %d, reference %d\n", iter, ty,
                                   maj, min, acc, got, want);
                    }
    }
#undef RND
    CHECK_INT(mismatches, 0);
    CHECK(checked > 10000);
}

/* ---- fake hierarchies: plain directories with the files a host would have ---- */

static char fake_root[256];

static char *fake_dir(const char *name, const char *const *files, size_t n)
{
    char *dir = xasprintf("%s/%s", fake_root, name);
    CHECK_INT(mkdir_p(dir, 0755), 0);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(files[i], '=');
        _cleanup_free_ char *fname =
                eq ? xstrndup(files[i], (size_t)(eq - files[i])) : xstrdup(files[i]);
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, fname);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        if (eq)
            CHECK_INT(write_all(fd, eq + 1, strlen(eq + 1)), 0);
    }
    return dir;
}

static char *fake_read(const char *dir, const char *file)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    char *s = NULL;
    if (read_file_at(AT_FDCWD, path, 1 << 20, &s, NULL) < 0)
        return xstrdup("(missing)");
    return s;
}

#define CHECK_FILE(dir, file, want)                     \
    do {                                                \
        _cleanup_free_ char *_s = fake_read(dir, file); \
        CHECK_STR(_s, want);                            \
    } while (0)

static struct cgroup *fake_cgroup(enum cgroup_mode mode)
{
    struct cgroup *cg = xzalloc(sizeof(*cg));
    cg->mode = mode;
    cg->path = xstrdup("/test");
    return cg;
}

static void fake_add(struct cgroup *cg, const char *name, bool unified, uint32_t ctrls,
                     const char *dir)
{
    cg->h = xreallocarray(cg->h, cg->n_h + 1, sizeof(*cg->h));
    struct cg_hier *h = &cg->h[cg->n_h++];
    memset(h, 0, sizeof(*h));
    h->name = xstrdup(name);
    h->unified = unified;
    h->ctrls = ctrls;
    h->dir = xstrdup(dir);
    h->mountpoint = xstrdup(dir); /* cgroup.controllers of the "root" is read here */
    h->mount_root = xstrdup("/");
    h->rel = xstrdup("/test");
}

static void test_fake_v2(void)
{
    static const char *const files[] = {
            "cgroup.controllers=cpuset cpu io memory hugetlb pids rdma\n",
            "memory.max=max\n",
            "memory.swap.max",
            "memory.low",
            "memory.current=1000\n",
            "cpu.weight",
            "cpu.max=max 100000\n",
            "cpu.max.burst",
            "cpu.idle",
            "cpuset.cpus",
            "cpuset.mems",
            "pids.max",
            "io.max",
            "io.weight",
            "hugetlb.2MB.max",
            "hugetlb.2MB.rsvd.max",
            "rdma.max",
            "memory.high"};
    _cleanup_free_ char *dir = fake_dir("v2", files, ARRAY_SIZE(files));
    _cleanup_cgroup_ struct cgroup *cg = fake_cgroup(CGROUP_MODE_UNIFIED);
    fake_add(cg, "", true,
             CG_BIT(CG_CPU) | CG_BIT(CG_CPUSET) | CG_BIT(CG_MEMORY) | CG_BIT(CG_BLKIO) |
                     CG_BIT(CG_HUGETLB) | CG_BIT(CG_PIDS) | CG_BIT(CG_RDMA),
             dir);

    struct spec_hugepage_limit huge[] = {{.page_size = (char *)"2MB", .limit = 4194304}};
    struct spec_rdma_limit rdma[] = {
            {.device = (char *)"mlx5_0", .hca_handles = {3, true}, .hca_objects = {0, false}}};
    struct spec_throttle_device wbps[] = {{8, 0, 2097152}};
    struct json_kv unified[] = {{"memory.high", "50000000"}};
    struct spec_resources r = {0};
    r.memory.limit = (struct opt_i64){33554432, true};
    r.memory.swap = (struct opt_i64){67108864, true};
    r.memory.reservation = (struct opt_i64){16777216, true};
    r.cpu.shares = (struct opt_u64){1024, true};
    r.cpu.quota = (struct opt_i64){20000, true};
    r.cpu.period = (struct opt_u64){100000, true};
    r.cpu.burst = (struct opt_u64){1000, true};
    r.cpu.idle = (struct opt_i64){0, true};
    r.cpu.cpus = (char *)"0";
    r.cpu.mems = (char *)"0";
    r.pids = (struct spec_pids){true, 20};
    r.block_io.weight = (struct opt_u32){500, true};
    r.block_io.throttle[THROTTLE_WRITE_BPS] = wbps;
    r.block_io.n_throttle[THROTTLE_WRITE_BPS] = 1;
    r.hugepage_limits = huge;
    r.n_hugepage_limits = 1;
    r.rdma = rdma;
    r.n_rdma = 1;
    r.unified = unified;
    r.n_unified = 1;

    err_clear();
    CHECK_INT(cg_resources_check(cg, &r), 0);
    int ret = cg_resources_apply(cg, &r, false);
    if (ret < 0)
        printf("#   %s\n", err_msg());
    CHECK_INT(ret, 0);
    CHECK_FILE(dir, "memory.max", "33554432");
    CHECK_FILE(dir, "memory.swap.max", "33554432"); /* 64 MiB total - 32 MiB memory */
    CHECK_FILE(dir, "memory.low", "16777216");
    CHECK_FILE(dir, "cpu.weight", "100");
    CHECK_FILE(dir, "cpu.max", "20000 100000");
    CHECK_FILE(dir, "cpu.max.burst", "1000");
    CHECK_FILE(dir, "cpu.idle", "0");
    CHECK_FILE(dir, "cpuset.cpus", "0");
    CHECK_FILE(dir, "pids.max", "20");
    CHECK_FILE(dir, "io.weight", "default 4950");
    CHECK_FILE(dir, "io.max", "8:0 wbps=2097152");
    CHECK_FILE(dir, "hugetlb.2MB.max", "4194304");
    CHECK_FILE(dir, "hugetlb.2MB.rsvd.max", "4194304");
    CHECK_FILE(dir, "rdma.max", "mlx5_0 hca_handle=3");
    CHECK_FILE(dir, "memory.high", "50000000");

    /* update: only set fields change; checkBeforeUpdate refuses a limit below usage */
    struct spec_resources u = {0};
    u.pids = (struct spec_pids){true, 0};
    u.cpu.period = (struct opt_u64){50000, true};
    CHECK_INT(cg_resources_apply(cg, &u, true), 0);
    CHECK_FILE(dir, "pids.max", "max");
    CHECK_FILE(dir, "memory.max", "33554432");
    CHECK_FILE(dir, "cpu.max", "20000 50000"); /* the quota in force stays */
    struct spec_resources u2 = {0};
    u2.memory.limit = (struct opt_i64){500, true};
    u2.memory.check_before_update = (struct opt_bool){true, true};
    CHECK_INT(cg_resources_apply(cg, &u2, true), -EBUSY);
    CHECK_CONTAINS(err_msg(), "below the current usage 1000");
    CHECK_FILE(dir, "memory.max", "33554432");
    u2.memory.check_before_update.v = false;
    CHECK_INT(cg_resources_apply(cg, &u2, true), 0);
    CHECK_FILE(dir, "memory.max", "500");

    /* swap alone uses the limit in force: memory.max says 500 now */
    struct spec_resources u3 = {0};
    u3.memory.swap = (struct opt_i64){800, true};
    CHECK_INT(cg_resources_apply(cg, &u3, true), 0);
    CHECK_FILE(dir, "memory.swap.max", "300");
    u3.memory.swap.v = 100;
    CHECK(cg_resources_apply(cg, &u3, true) < 0);
    CHECK_CONTAINS(err_msg(), "below memory.limit");
    u3.memory.swap.v = -1;
    CHECK_INT(cg_resources_apply(cg, &u3, true), 0);
    CHECK_FILE(dir, "memory.swap.max", "max");

    /* v1-only settings are errors naming the mode */
    struct spec_resources bad = {0};
    bad.memory.swappiness = (struct opt_u64){10, true};
    CHECK(cg_resources_apply(cg, &bad, false) < 0);
    CHECK_CONTAINS(err_msg(), "memory.swappiness");
    CHECK_CONTAINS(err_msg(), "unified (cgroup v2)");
    bad = (struct spec_resources){0};
    bad.memory.disable_oom_killer = (struct opt_bool){true, true};
    CHECK(cg_resources_apply(cg, &bad, false) < 0);
    CHECK_CONTAINS(err_msg(), "disableOOMKiller");
    bad = (struct spec_resources){0};
    bad.cpu.realtime_runtime = (struct opt_i64){1000, true};
    CHECK(cg_resources_apply(cg, &bad, false) < 0);
    CHECK_CONTAINS(err_msg(), "cpu.realtimeRuntime");
    bad = (struct spec_resources){0};
    bad.block_io.leaf_weight = (struct opt_u32){100, true};
    CHECK(cg_resources_apply(cg, &bad, false) < 0);
    CHECK_CONTAINS(err_msg(), "leafWeight");

    /* unified keys: no paths, only files that exist */
    struct json_kv esc[] = {{"../memory.max", "1"}};
    bad = (struct spec_resources){0};
    bad.unified = esc;
    bad.n_unified = 1;
    CHECK(cg_resources_apply(cg, &bad, false) < 0);
    CHECK_CONTAINS(err_msg(), "not a path");
    struct json_kv missing[] = {{"memory.nonexistent", "1"}};
    bad.unified = missing;
    CHECK(cg_resources_apply(cg, &bad, false) < 0);
    CHECK_CONTAINS(err_msg(), "does not exist");
    struct json_kv procs[] = {{"cgroup.procs", "1"}};
    bad.unified = procs;
    CHECK(cg_resources_apply(cg, &bad, false) < 0);

    /* hugetlb: an unknown size is named */
    struct spec_hugepage_limit h1g[] = {{.page_size = (char *)"1GB", .limit = 0}};
    bad = (struct spec_resources){0};
    bad.hugepage_limits = h1g;
    bad.n_hugepage_limits = 1;
    CHECK(cg_resources_apply(cg, &bad, false) < 0);
    CHECK_CONTAINS(err_msg(), "1GB");
    struct spec_hugepage_limit hbad[] = {{.page_size = (char *)"2XB", .limit = 0}};
    bad.hugepage_limits = hbad;
    CHECK(cg_resources_apply(cg, &bad, false) < 0);
    CHECK_CONTAINS(err_msg(), "invalid page size");

    /* an unset field is never written */
    _cleanup_free_ char *low = xasprintf("%s/memory.low", dir);
    CHECK_INT(unlink(low), 0);
    struct spec_resources none = {0};
    none.memory.limit = (struct opt_i64){0, true}; /* 0 = unset, like runc */
    CHECK_INT(cg_resources_apply(cg, &none, true), 0);
    CHECK_FILE(dir, "memory.max", "500");
}

static void test_fake_v1(void)
{
    static const char *const mem_files[] = {"memory.limit_in_bytes=9223372036854771712\n",
                                            "memory.memsw.limit_in_bytes=9223372036854771712\n",
                                            "memory.soft_limit_in_bytes",
                                            "memory.swappiness",
                                            "memory.oom_control",
                                            "memory.usage_in_bytes=4096\n",
                                            "memory.kmem.tcp.limit_in_bytes",
                                            "memory.use_hierarchy"};
    static const char *const cpu_files[] = {
            "cpu.shares",       "cpu.cfs_quota_us",  "cpu.cfs_period_us", "cpu.cfs_burst_us",
            "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle"};
    static const char *const pids_files[] = {"pids.max"};
    static const char *const blkio_files[] = {"blkio.throttle.read_bps_device",
                                              "blkio.throttle.write_iops_device"};
    static const char *const dev_files[] = {"devices.allow", "devices.deny"};
    static const char *const cpuset_files[] = {"cpuset.cpus", "cpuset.mems"};
    _cleanup_free_ char *mem = fake_dir("v1/memory", mem_files, ARRAY_SIZE(mem_files));
    _cleanup_free_ char *cpu = fake_dir("v1/cpu", cpu_files, ARRAY_SIZE(cpu_files));
    _cleanup_free_ char *pids = fake_dir("v1/pids", pids_files, ARRAY_SIZE(pids_files));
    _cleanup_free_ char *blkio = fake_dir("v1/blkio", blkio_files, ARRAY_SIZE(blkio_files));
    _cleanup_free_ char *dev = fake_dir("v1/devices", dev_files, ARRAY_SIZE(dev_files));
    _cleanup_free_ char *cpuset = fake_dir("v1/cpuset", cpuset_files, ARRAY_SIZE(cpuset_files));
    _cleanup_cgroup_ struct cgroup *cg = fake_cgroup(CGROUP_MODE_LEGACY);
    fake_add(cg, "memory", false, CG_BIT(CG_MEMORY), mem);
    fake_add(cg, "cpu", false, CG_BIT(CG_CPU), cpu);
    fake_add(cg, "pids", false, CG_BIT(CG_PIDS), pids);
    fake_add(cg, "blkio", false, CG_BIT(CG_BLKIO), blkio);
    fake_add(cg, "devices", false, CG_BIT(CG_DEVICES), dev);
    fake_add(cg, "cpuset", false, CG_BIT(CG_CPUSET), cpuset);

    struct spec_throttle_device rbps[] = {{8, 0, 1048576}};
    struct spec_throttle_device wiops[] = {{8, 16, 120}};
    struct spec_resources r = {0};
    r.memory.limit = (struct opt_i64){33554432, true};
    r.memory.swap = (struct opt_i64){67108864, true};
    r.memory.reservation = (struct opt_i64){16777216, true};
    r.memory.swappiness = (struct opt_u64){10, true};
    r.memory.disable_oom_killer = (struct opt_bool){true, true};
    r.cpu.shares = (struct opt_u64){512, true};
    r.cpu.quota = (struct opt_i64){20000, true};
    r.cpu.period = (struct opt_u64){100000, true};
    r.cpu.burst = (struct opt_u64){0, true};
    r.cpu.realtime_period = (struct opt_u64){1000000, true};
    r.cpu.realtime_runtime = (struct opt_i64){950000, true};
    r.cpu.cpus = (char *)"0-1";
    r.pids = (struct spec_pids){true, -1};
    r.block_io.throttle[THROTTLE_READ_BPS] = rbps;
    r.block_io.n_throttle[THROTTLE_READ_BPS] = 1;
    r.block_io.throttle[THROTTLE_WRITE_IOPS] = wiops;
    r.block_io.n_throttle[THROTTLE_WRITE_IOPS] = 1;

    err_clear();
    CHECK_INT(cg_resources_check(cg, &r), 0);
    int ret = cg_resources_apply(cg, &r, false);
    if (ret < 0)
        printf("#   %s\n", err_msg());
    CHECK_INT(ret, 0);
    CHECK_FILE(mem, "memory.limit_in_bytes", "33554432");
    CHECK_FILE(mem, "memory.memsw.limit_in_bytes", "67108864");
    CHECK_FILE(mem, "memory.soft_limit_in_bytes", "16777216");
    CHECK_FILE(mem, "memory.swappiness", "10");
    CHECK_FILE(mem, "memory.oom_control", "1");
    CHECK_FILE(cpu, "cpu.shares", "512");
    CHECK_FILE(cpu, "cpu.cfs_quota_us", "20000");
    CHECK_FILE(cpu, "cpu.cfs_period_us", "100000");
    CHECK_FILE(cpu, "cpu.cfs_burst_us", "0");
    CHECK_FILE(cpu, "cpu.rt_period_us", "1000000");
    CHECK_FILE(cpu, "cpu.rt_runtime_us", "950000");
    CHECK_FILE(cpuset, "cpuset.cpus", "0-1");
    CHECK_FILE(pids, "pids.max", "max");
    CHECK_FILE(blkio, "blkio.throttle.read_bps_device", "8:0 1048576");
    CHECK_FILE(blkio, "blkio.throttle.write_iops_device", "8:16 120");

    /* unlimited is -1 on v1 */
    struct spec_resources u = {0};
    u.memory.limit = (struct opt_i64){-1, true};
    u.memory.swap = (struct opt_i64){-1, true};
    u.cpu.quota = (struct opt_i64){-1, true};
    CHECK_INT(cg_resources_apply(cg, &u, true), 0);
    CHECK_FILE(mem, "memory.limit_in_bytes", "-1");
    CHECK_FILE(mem, "memory.memsw.limit_in_bytes", "-1");
    CHECK_FILE(cpu, "cpu.cfs_quota_us", "-1");

    u = (struct spec_resources){0};
    u.memory.limit = (struct opt_i64){1024, true};
    u.memory.check_before_update = (struct opt_bool){true, true};
    CHECK_INT(cg_resources_apply(cg, &u, true), -EBUSY);
    CHECK_CONTAINS(err_msg(), "memory.usage_in_bytes");

    /* swap below memory is refused before anything is written */
    u = (struct spec_resources){0};
    u.memory.limit = (struct opt_i64){8192, true};
    u.memory.swap = (struct opt_i64){4096, true};
    CHECK(cg_resources_apply(cg, &u, true) < 0);
    CHECK_CONTAINS(err_msg(), "below memory.limit");
    CHECK_FILE(mem, "memory.limit_in_bytes", "-1");

    /* this host (fake) has no blkio weight files: an error, not a skip */
    u = (struct spec_resources){0};
    u.block_io.weight = (struct opt_u32){300, true};
    CHECK(cg_resources_apply(cg, &u, true) < 0);
    CHECK_CONTAINS(err_msg(), "blockIO.weight");
    CHECK_CONTAINS(err_msg(), "legacy (cgroup v1)");

    /* hugetlb has no hierarchy here */
    struct spec_hugepage_limit huge[] = {{.page_size = (char *)"2MB", .limit = 0}};
    u = (struct spec_resources){0};
    u.hugepage_limits = huge;
    u.n_hugepage_limits = 1;
    CHECK(cg_resources_check(cg, &u) < 0);
    CHECK_CONTAINS(err_msg(), "hugepageLimits");
    CHECK_CONTAINS(err_msg(), "legacy (cgroup v1)");

    /* unified keys on a host without cgroup2 */
    struct json_kv kv[] = {{"memory.high", "1"}};
    u = (struct spec_resources){0};
    u.unified = kv;
    u.n_unified = 1;
    CHECK(cg_resources_check(cg, &u) < 0);
    CHECK_CONTAINS(err_msg(), "legacy (cgroup v1)");
    CHECK(cg_resources_apply(cg, &u, false) < 0);
    CHECK_CONTAINS(err_msg(), "unified");

    /* devices: deny all first, the standard set last */
    struct spec_device_rule rules[] = {rule(false, 'a', -1, -1, "rwm"),
                                       rule(true, 'c', 10, 200, "rwm")};
    CHECK_INT(cg_devices_apply(cg, rules, 2), 0);
    CHECK_FILE(dev, "devices.deny", "a *:* rwm");
    CHECK_FILE(dev, "devices.allow", "c 136:* rwm");
}

static void test_fake_hybrid_unified(void)
{
    /* hybrid: v1 memory plus a cgroup2 hierarchy with hugetlb only */
    static const char *const mem_files[] = {"memory.limit_in_bytes"};
    static const char *const u_files[] = {"cgroup.controllers=hugetlb\n", "hugetlb.2MB.max",
                                          "cgroup.freeze"};
    _cleanup_free_ char *mem = fake_dir("hy/memory", mem_files, ARRAY_SIZE(mem_files));
    _cleanup_free_ char *uni = fake_dir("hy/unified", u_files, ARRAY_SIZE(u_files));
    _cleanup_cgroup_ struct cgroup *cg = fake_cgroup(CGROUP_MODE_HYBRID);
    fake_add(cg, "memory", false, CG_BIT(CG_MEMORY), mem);
    fake_add(cg, "", true, CG_BIT(CG_HUGETLB), uni);

    struct spec_hugepage_limit huge[] = {{.page_size = (char *)"2MB", .limit = 2097152}};
    struct spec_resources r = {0};
    r.memory.limit = (struct opt_i64){1 << 20, true};
    r.hugepage_limits = huge;
    r.n_hugepage_limits = 1;
    err_clear();
    CHECK_INT(cg_resources_check(cg, &r), 0);
    CHECK_INT(cg_resources_apply(cg, &r, false), 0);
    CHECK_FILE(mem, "memory.limit_in_bytes", "1048576");
    CHECK_FILE(uni, "hugetlb.2MB.max", "2097152");

    /* memory.high on hybrid: the unified hierarchy has no memory controller */
    struct json_kv kv[] = {{"memory.high", "1"}};
    r = (struct spec_resources){0};
    r.unified = kv;
    r.n_unified = 1;
    CHECK(cg_resources_check(cg, &r) < 0);
    CHECK_CONTAINS(err_msg(), "memory.high");
    CHECK_CONTAINS(err_msg(), "hybrid");
    CHECK(cg_resources_apply(cg, &r, false) < 0);
    CHECK_CONTAINS(err_msg(), "offers: hugetlb");

    /* a pid check on an unsupported resource: pids has no hierarchy */
    r = (struct spec_resources){0};
    r.pids = (struct spec_pids){true, 5};
    CHECK(cg_resources_check(cg, &r) < 0);
    CHECK_CONTAINS(err_msg(), "pids.limit");
}

static void test_state_roundtrip(void)
{
    _cleanup_cgroup_ struct cgroup *cg = fake_cgroup(CGROUP_MODE_LEGACY);
    fake_add(cg, "memory", false, CG_BIT(CG_MEMORY), "/sys/fs/cgroup/memory/p/c1");
    fake_add(cg, "cpu,cpuacct", false, CG_BIT(CG_CPU) | CG_BIT(CG_CPUACCT),
             "/sys/fs/cgroup/cpu,cpuacct/c1");
    free(cg->h[0].mountpoint);
    cg->h[0].mountpoint = xstrdup("/sys/fs/cgroup/memory");
    cg->h[0].top = xstrdup("/sys/fs/cgroup/memory/p/c1");
    free(cg->h[1].mountpoint);
    cg->h[1].mountpoint = xstrdup("/sys/fs/cgroup/cpu,cpuacct");
    free(cg->h[0].rel);
    cg->h[0].rel = xstrdup("/p/c1");
    free(cg->h[1].rel);
    cg->h[1].rel = xstrdup("/c1");

    struct jw w;
    jw_init(&w, NULL);
    cgroup_state_write(cg, &w);
    size_t len;
    _cleanup_free_ char *text = jw_steal(&w, &len);
    CHECK_CONTAINS(text, "\"mode\":\"legacy\"");
    /* compact: the usual mountpoint, dir = mountpoint + rel and top = dir are left out */
    CHECK_STR(text, "{\"mode\":\"legacy\",\"path\":\"/test\",\"hierarchies\":["
                    "{\"name\":\"memory\",\"rel\":\"/p/c1\",\"top\":true},"
                    "{\"name\":\"cpu,cpuacct\",\"rel\":\"/c1\"}]}");

    struct arena a = {0};
    struct json *v = NULL;
    CHECK_INT(json_parse(&a, text, len, "state", &v), 0);
    _cleanup_cgroup_ struct cgroup *back = NULL;
    CHECK_INT(cgroup_state_read(v, &back), 0);
    if (back) {
        CHECK_INT(back->mode, CGROUP_MODE_LEGACY);
        CHECK_INT(back->n_h, 2);
        CHECK_STR(cgroup_path(back), "/test");
        CHECK_STR(back->h[1].dir, "/sys/fs/cgroup/cpu,cpuacct/c1");
        CHECK_INT(back->h[1].ctrls, CG_BIT(CG_CPU) | CG_BIT(CG_CPUACCT));
        CHECK_STR(back->h[0].top, "/sys/fs/cgroup/memory/p/c1");
        CHECK_STR(back->h[0].mountpoint, "/sys/fs/cgroup/memory");
        CHECK(back->h[1].top == NULL);
    }
    arena_free(&a);

    /* what does not follow the defaults is written out, and the full form is read too */
    free(cg->h[1].mountpoint);
    cg->h[1].mountpoint = xstrdup("/sys/fs/cgroup/cpu");
    free(cg->h[1].dir);
    cg->h[1].dir = xstrdup("/sys/fs/cgroup/cpu/sub/c1"); /* a mount whose root is not "/" */
    cg->h[1].top = xstrdup("/sys/fs/cgroup/cpu/sub");
    jw_init(&w, NULL);
    cgroup_state_write(cg, &w);
    _cleanup_free_ char *text2 = jw_steal(&w, &len);
    CHECK_CONTAINS(text2, "{\"name\":\"cpu,cpuacct\",\"mountpoint\":\"/sys/fs/cgroup/cpu\","
                          "\"rel\":\"/c1\",\"dir\":\"/sys/fs/cgroup/cpu/sub/c1\","
                          "\"top\":\"/sys/fs/cgroup/cpu/sub\"}");
    static const char full[] =
            "{\"mode\":\"legacy\",\"path\":\"/x\",\"hierarchies\":[{\"name\":\"memory\","
            "\"mountpoint\":\"/sys/fs/cgroup/memory\",\"rel\":\"/x\",\"dir\":\"/sys/fs/cgroup/"
            "memory/x\",\"top\":\"/sys/fs/cgroup/memory/x\"}]}";
    const char *const texts[] = {text2, full};
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
        struct arena a3 = {0};
        struct json *v3 = NULL;
        _cleanup_cgroup_ struct cgroup *b3 = NULL;
        CHECK_INT(json_parse(&a3, texts[i], strlen(texts[i]), "state", &v3), 0);
        CHECK_INT(cgroup_state_read(v3, &b3), 0);
        if (b3 && i == 0) {
            CHECK_STR(b3->h[1].mountpoint, "/sys/fs/cgroup/cpu");
            CHECK_STR(b3->h[1].dir, "/sys/fs/cgroup/cpu/sub/c1");
            CHECK_STR(b3->h[1].top, "/sys/fs/cgroup/cpu/sub");
        } else if (b3) {
            CHECK_STR(b3->h[0].dir, "/sys/fs/cgroup/memory/x");
            CHECK_STR(b3->h[0].top, "/sys/fs/cgroup/memory/x");
        }
        arena_free(&a3);
    }

    static const char *const bad[] = {
            "{\"mode\":\"legacy\",\"path\":\"/x\",\"hierarchies\":[{\"name\":\"memory\","
            "\"mountpoint\":\"/sys/fs/cgroup/memory\",\"rel\":\"/x\",\"dir\":\"/sys/fs/cgroup/"
            "memory/../../../etc\"}]}",
            "{\"mode\":\"legacy\",\"path\":\"/x\",\"hierarchies\":[{\"name\":\"memory\","
            "\"mountpoint\":\"/sys/fs/cgroup/memory\",\"rel\":\"/x\",\"dir\":\"/etc/x\"}]}",
            "{\"mode\":\"legacy\",\"path\":\"/x\",\"hierarchies\":[{\"name\":\"memory\","
            "\"mountpoint\":\"/etc\",\"rel\":\"/x\",\"dir\":\"/etc/x\"}]}",
            "{\"mode\":\"unified\",\"path\":\"/x\",\"hierarchies\":[{\"name\":\"memory\","
            "\"mountpoint\":\"/sys/fs/cgroup/memory\",\"rel\":\"/x\",\"dir\":\"/sys/fs/cgroup/"
            "memory/x\"}]}",
            "{\"mode\":\"weird\",\"path\":\"/x\",\"hierarchies\":[]}",
            "{\"mode\":\"legacy\",\"path\":\"/x\",\"hierarchies\":[{\"name\":\"memory\","
            "\"mountpoint\":\"/sys/fs/cgroup/memory\",\"rel\":\"/x\",\"dir\":\"/sys/fs/cgroup/"
            "memory\"}]}",
            "[]",
            "{\"mode\":\"legacy\",\"path\":\"/x\",\"hierarchies\":[{\"name\":\"../../../etc\","
            "\"rel\":\"/x\"}]}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct arena a2 = {0};
        struct json *bv = NULL;
        CHECK_INT(json_parse(&a2, bad[i], strlen(bad[i]), "state", &bv), 0);
        struct cgroup *out = NULL;
        err_clear();
        int r = cgroup_state_read(bv, &out);
        if (r == 0)
            printf("#   bad state %zu accepted\n", i);
        CHECK(r < 0);
        CHECK_CONTAINS(err_msg(), "cgroup: state");
        cgroup_free(out);
        arena_free(&a2);
    }
}

static void test_stats_json(void)
{
    struct cgroup_stats st = {0};
    uint64_t percpu[] = {10, 20};
    struct json_kv raw[] = {{"file", "4096"}, {"anon", "8192"}};
    struct cgroup_blkio_entry bytes[] = {{8, 0, "Read", 512}, {8, 0, "Write", 0}};
    struct cgroup_hugetlb_entry huge[] = {{"2MB", 0, 0, 1}, {"1GB", 0, 0, 0}};
    st.cpu_total = 30;
    st.percpu = percpu;
    st.n_percpu = 2;
    st.cpu_kernel = 5;
    st.cpu_user = 25;
    st.throttled_periods = 3;
    st.mem_usage = 100;
    st.mem_limit = 200;
    st.mem_failcnt = 1;
    st.mem_raw = raw;
    st.n_mem_raw = 2;
    st.pids_current = 2;
    st.blkio_bytes = bytes;
    st.n_blkio_bytes = 2;
    st.hugetlb = huge;
    st.n_hugetlb = 2;

    struct jw w;
    jw_init(&w, NULL);
    cgroup_stats_to_json(&st, &w);
    _cleanup_free_ char *s = jw_steal(&w, NULL);
    CHECK_STR(s, "{\"cpu\":{\"usage\":{\"total\":30,\"percpu\":[10,20],\"kernel\":5,\"user\":25},"
                 "\"throttling\":{\"throttledPeriods\":3}},"
                 "\"memory\":{\"cache\":4096,\"usage\":{\"limit\":200,\"usage\":100,\"failcnt\":1},"
                 "\"swap\":{\"limit\":0,\"failcnt\":0},\"kernel\":{\"limit\":0,\"failcnt\":0},"
                 "\"kernelTCP\":{\"limit\":0,\"failcnt\":0},\"raw\":{\"anon\":8192,\"file\":4096,"
                 "\"oom_kill\":0}},"
                 "\"pids\":{\"current\":2},"
                 "\"blkio\":{\"ioServiceBytesRecursive\":[{\"major\":8,\"op\":\"Read\",\"value\":"
                 "512},{\"major\":8,\"op\":\"Write\"}]},"
                 "\"hugetlb\":{\"1GB\":{\"failcnt\":0},\"2MB\":{\"failcnt\":1}}}");

    uint64_t v;
    CHECK_INT(cg_keyed_u64("usage_usec 5\nuser_usec 3\n", "user_usec", &v), 0);
    CHECK_INT(v, 3);
    CHECK_INT(cg_keyed_u64("usage_usec 5\n", "usage", &v), -ENOENT);
    CHECK_INT(cg_keyed_u64("max 7\noom_kill 2", "oom_kill", &v), 0);
    CHECK_INT(v, 2);
    CHECK_INT(cg_keyed_u64("populated 1\nfrozen 1\n", "frozen", &v), 0);
    CHECK_INT(v, 1);
}

static void test_systemd_refused(void)
{
    struct cgroup_params p = {.id = "c1", .path = "system.slice:berth:c1"};
    struct cgroup *cg = NULL;
    err_clear();
    CHECK_INT(cgroup_create(&p, &cg), -ENOTSUP);
    CHECK_CONTAINS(err_msg(), "systemd");
    CHECK(cg == NULL);
    p = (struct cgroup_params){.id = "c1", .systemd = true};
    CHECK_INT(cgroup_create(&p, &cg), -ENOTSUP);
    CHECK_CONTAINS(err_msg(), "--systemd-cgroup");
    CHECK_STR(cgroup_mode_name(CGROUP_MODE_HYBRID), "hybrid (cgroup v1 + v2)");
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(fake_root, sizeof(fake_root), "%s/berth-test-cgroup-XXXXXX", tmp);
    if (!mkdtemp(fake_root)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void teardown(void)
{
    rm_rf_at(AT_FDCWD, fake_root);
}

static void test_setup(void)
{
    setup();
}

/* state.json's freezer file: its name says how to read it */
static void test_freezer_file(void)
{
    static const struct {
        const char *name, *content;
        int r;
        bool frozen;
    } cases[] = {
            {"freezer.state", "THAWED\n", 0, false}, {"freezer.state", "FREEZING\n", 0, true},
            {"freezer.state", "FROZEN\n", 0, true},  {"cgroup.freeze", "0\n", 0, false},
            {"cgroup.freeze", "1\n", 0, true},       {"memory.max", "1\n", -EINVAL, false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        _cleanup_free_ char *dir = xasprintf("%s/ff%zu", fake_root, i);
        _cleanup_free_ char *f = xasprintf("%s/%s", dir, cases[i].name);
        CHECK(mkdir(dir, 0755) == 0);
        FILE *fp = fopen(f, "we");
        CHECK(fp && fputs(cases[i].content, fp) >= 0 && fclose(fp) == 0);
        bool frozen = !cases[i].frozen;
        CHECK_INT(cgroup_freezer_file_frozen(f, &frozen), cases[i].r);
        CHECK(frozen == cases[i].frozen);
    }
    bool frozen = true;
    /* a cgroup without cgroup.freeze (kernel < 5.2) is never frozen; a missing v1 file is an error
     */
    _cleanup_free_ char *v2 = xasprintf("%s/none/cgroup.freeze", fake_root);
    _cleanup_free_ char *v1 = xasprintf("%s/none/freezer.state", fake_root);
    CHECK_INT(cgroup_freezer_file_frozen(v2, &frozen), 0);
    CHECK(!frozen);
    CHECK_INT(cgroup_freezer_file_frozen(v1, &frozen), -ENOENT);
    CHECK_INT(cgroup_freezer_file_frozen("rel/freezer.state", &frozen), -EINVAL);
}

static void test_teardown(void)
{
    teardown();
    CHECK(access(fake_root, F_OK) < 0);
}

UNIT_MAIN(UNIT(test_shares_to_weight), UNIT(test_shares_to_weight_matches_libm), UNIT(test_cpu_max),
          UNIT(test_io_max), UNIT(test_hugepage_names), UNIT(test_swap), UNIT(test_resolve_path),
          UNIT(test_hierarchy_names), UNIT(test_device_rules_v1), UNIT(test_bpf_structure),
          UNIT(test_bpf_semantics), UNIT(test_bpf_random), UNIT(test_setup), UNIT(test_fake_v2),
          UNIT(test_fake_v1), UNIT(test_fake_hybrid_unified), UNIT(test_freezer_file),
          UNIT(test_teardown), UNIT(test_state_roundtrip), UNIT(test_stats_json),
          UNIT(test_systemd_refused))
