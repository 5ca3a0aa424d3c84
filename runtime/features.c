#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/json.h"
#include "lib/util.h"
#include "runtime/features.h"
#include "runtime/spec.h"

const char *const berth_mount_options[] = {
        "async",          "atime",      "bind",         "defaults",    "dev",
        "diratime",       "dirsync",    "exec",         "iversion",    "lazytime",
        "loud",           "mand",       "noatime",      "nodev",       "nodiratime",
        "noexec",         "noiversion", "nolazytime",   "nomand",      "norelatime",
        "nostrictatime",  "nosuid",     "private",      "ratime",      "rbind",
        "rdev",           "rdiratime",  "relatime",     "remount",     "rexec",
        "rnoatime",       "rnodev",     "rnodiratime",  "rnoexec",     "rnorelatime",
        "rnostrictatime", "rnosuid",    "rnosymfollow", "ro",          "rprivate",
        "rrelatime",      "rro",        "rrw",          "rshared",     "rslave",
        "rstrictatime",   "rsuid",      "rsymfollow",   "runbindable", "rw",
        "shared",         "silent",     "slave",        "strictatime", "suid",
        "sync",           "unbindable", NULL,
};

static void string_array(struct jw *w, const char *key, const char *const *items, size_t n)
{
    jw_key(w, key);
    jw_array_begin(w);
    for (size_t i = 0; i < n && items[i]; i++)
        jw_string(w, items[i]);
    jw_array_end(w);
}

static void enabled(struct jw *w, const char *key, bool on)
{
    jw_key(w, key);
    jw_object_begin(w);
    jw_kv_bool(w, "enabled", on);
    jw_object_end(w);
}

static void capabilities(struct jw *w)
{
    jw_key(w, "capabilities");
    jw_array_begin(w);
    int last = (int)cap_max_bits() - 1;
    for (int cap = 0; cap <= last && cap < 64; cap++)
        if (capability_name(cap))
            jw_string(w, capability_name(cap));
    jw_array_end(w);
}

static bool kernel_has_seccomp_flag(unsigned flag)
{
    /* with a NULL program, a known flag fails with EFAULT, an unknown one with EINVAL */
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, NULL) < 0 && errno == EFAULT;
}

static void seccomp_features(struct jw *w)
{
    static const char *const actions[] = {
            "SCMP_ACT_ALLOW",        "SCMP_ACT_ERRNO",       "SCMP_ACT_KILL",
            "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
            "SCMP_ACT_NOTIFY",       "SCMP_ACT_TRACE",       "SCMP_ACT_TRAP"};
    static const char *const ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                      "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
                                      "SCMP_CMP_NE"};
    static const char *const archs[] = {
            "SCMP_ARCH_AARCH64",     "SCMP_ARCH_ARM",    "SCMP_ARCH_LOONGARCH64",
            "SCMP_ARCH_M68K",        "SCMP_ARCH_MIPS",   "SCMP_ARCH_MIPS64",
            "SCMP_ARCH_MIPS64N32",   "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
            "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",
            "SCMP_ARCH_PPC",         "SCMP_ARCH_PPC64",  "SCMP_ARCH_PPC64LE",
            "SCMP_ARCH_RISCV64",     "SCMP_ARCH_S390",   "SCMP_ARCH_S390X",
            "SCMP_ARCH_SH",          "SCMP_ARCH_SHEB",   "SCMP_ARCH_X32",
            "SCMP_ARCH_X86",         "SCMP_ARCH_X86_64"};
    static const struct {
        const char *name;
        unsigned flag;
    } flags[] = {{"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
                 {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
                 {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
                 {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 1U << 5}};

    jw_key(w, "seccomp");
    jw_object_begin(w);
    jw_kv_bool(w, "enabled", true);
    string_array(w, "actions", actions, ARRAY_SIZE(actions));
    string_array(w, "operators", ops, ARRAY_SIZE(ops));
    jw_key(w, "archs");
    jw_array_begin(w);
    for (size_t i = 0; i < ARRAY_SIZE(archs); i++) {
        char name[32];
        snprintf(name, sizeof(name), "%s", archs[i] + strlen("SCMP_ARCH_"));
        for (char *p = name; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        if (seccomp_arch_resolve_name(name) != 0)
            jw_string(w, archs[i]);
    }
    jw_array_end(w);
    jw_key(w, "knownFlags");
    jw_array_begin(w);
    for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
        jw_string(w, flags[i].name);
    jw_array_end(w);
    jw_key(w, "supportedFlags");
    jw_array_begin(w);
    for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
        if (kernel_has_seccomp_flag(flags[i].flag))
            jw_string(w, flags[i].name);
    jw_array_end(w);
    jw_object_end(w);
}

static void linux_features(struct jw *w)
{
    static const char *const ns[] = {"cgroup", "ipc",  "mount", "network",
                                     "pid",    "time", "user",  "uts"};
    static const char *const mpol_modes[] = {
            "MPOL_BIND",      "MPOL_DEFAULT",        "MPOL_INTERLEAVE",         "MPOL_LOCAL",
            "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"};
    static const char *const mpol_flags[] = {"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES",
                                             "MPOL_F_STATIC_NODES"};
    jw_key(w, "linux");
    jw_object_begin(w);
    string_array(w, "namespaces", ns, ARRAY_SIZE(ns));
    capabilities(w);
    jw_key(w, "cgroup");
    jw_object_begin(w);
    jw_kv_bool(w, "v1", true);
    jw_kv_bool(w, "v2", true);
    jw_kv_bool(w, "systemd", false);
    jw_kv_bool(w, "systemdUser", false);
    jw_kv_bool(w, "rdma", true);
    jw_object_end(w);
    seccomp_features(w);
    enabled(w, "apparmor", false);
    enabled(w, "selinux", false);
    enabled(w, "intelRdt", false);
    jw_key(w, "mountExtensions");
    jw_object_begin(w);
    enabled(w, "idmap", false);
    jw_object_end(w);
    enabled(w, "netDevices", false);
    jw_key(w, "memoryPolicy");
    jw_object_begin(w);
    string_array(w, "modes", mpol_modes, ARRAY_SIZE(mpol_modes));
    string_array(w, "flags", mpol_flags, ARRAY_SIZE(mpol_flags));
    jw_object_end(w);
    jw_object_end(w);
}

char *features_json(void)
{
    static const char *const hooks[] = {"prestart",       "createRuntime", "createContainer",
                                        "startContainer", "poststart",     "poststop"};
    struct jw w;
    jw_init(&w, "    ");
    jw_object_begin(&w);
    jw_kv_string(&w, "ociVersionMin", "1.0.0");
    jw_kv_string(&w, "ociVersionMax", BERTH_SPEC_VERSION);
    string_array(&w, "hooks", hooks, ARRAY_SIZE(hooks));
    string_array(&w, "mountOptions", berth_mount_options, SIZE_MAX);
    linux_features(&w);
    jw_key(&w, "annotations");
    jw_object_begin(&w);
    const struct scmp_version *v = seccomp_version();
    char ver[32];
    snprintf(ver, sizeof(ver), "%u.%u.%u", v->major, v->minor, v->micro);
    jw_kv_string(&w, "io.github.seccomp.libseccomp.version", ver);
    jw_kv_string(&w, "org.berth.commit", BERTH_COMMIT);
    jw_object_end(&w);
    jw_object_end(&w);
    jw_putc(&w, '\n');
    return jw_steal(&w, NULL);
}
