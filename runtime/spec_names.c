/* Name <-> number tables of the spec that other modules share. */
#include <sched.h>
#include <sys/resource.h>

#include "lib/util.h"
#include "runtime/spec.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
    const char *oci;  /* linux.namespaces[].type */
    const char *proc; /* /proc/<pid>/ns/<proc> */
    int clone_flag;
} ns_table[NS__COUNT] = {
        [NS_PID] = {"pid", "pid", CLONE_NEWPID},
        [NS_NET] = {"network", "net", CLONE_NEWNET},
        [NS_MNT] = {"mount", "mnt", CLONE_NEWNS},
        [NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
        [NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
        [NS_USER] = {"user", "user", CLONE_NEWUSER},
        [NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
        [NS_TIME] = {"time", "time", CLONE_NEWTIME},
};

const char *ns_type_name(enum ns_type t)
{
    return (unsigned)t < NS__COUNT ? ns_table[t].oci : NULL;
}

int ns_clone_flag(enum ns_type t)
{
    return (unsigned)t < NS__COUNT ? ns_table[t].clone_flag : 0;
}

const char *ns_proc_name(enum ns_type t)
{
    return (unsigned)t < NS__COUNT ? ns_table[t].proc : NULL;
}

static const char *const hook_names[HOOK__COUNT] = {
        [HOOK_PRESTART] = "prestart",
        [HOOK_CREATE_RUNTIME] = "createRuntime",
        [HOOK_CREATE_CONTAINER] = "createContainer",
        [HOOK_START_CONTAINER] = "startContainer",
        [HOOK_POSTSTART] = "poststart",
        [HOOK_POSTSTOP] = "poststop",
};

const char *hook_kind_name(enum hook_kind k)
{
    return (unsigned)k < HOOK__COUNT ? hook_names[k] : NULL;
}

/* Our own table rather than libcap's cap_from_name(): the spec must parse the
 * same on hosts whose libcap predates the newest capabilities, and the numbers
 * are kernel ABI (linux/capability.h). */
static const char *const cap_names[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};

int capability_from_name(const char *name)
{
    if (!name || !startswith(name, "CAP_"))
        return -1;
    for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
        if (streq(cap_names[i], name))
            return (int)i;
    return -1;
}

const char *capability_name(int cap)
{
    return cap >= 0 && (size_t)cap < ARRAY_SIZE(cap_names) ? cap_names[cap] : NULL;
}

static const struct {
    const char *name;
    int resource;
} rlimits[] = {
        {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_CORE", RLIMIT_CORE},
        {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
        {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
        {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK},
};

int rlimit_from_name(const char *name)
{
    if (!name || !startswith(name, "RLIMIT_"))
        return -1;
    for (size_t i = 0; i < ARRAY_SIZE(rlimits); i++)
        if (streq(rlimits[i].name, name))
            return rlimits[i].resource;
    return -1;
}
