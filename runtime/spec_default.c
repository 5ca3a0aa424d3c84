/*
 * The configuration `berth spec` writes: runc's `runc spec` layout (key order
 * follows runtime-spec's Go structs), so tools and people used to runc see the
 * same file. The rootless variant makes the changes `runc spec --rootless` makes.
 */
#include <unistd.h>

#include "lib/json.h"
#include "lib/util.h"
#include "runtime/spec.h"

static const char *const default_caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};

static const char *const masked_paths[] = {
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
        "/sys/devices/virtual/powercap",
};

static const char *const readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

struct default_mount {
    const char *destination, *type, *source;
    const char *options[8]; /* NULL-terminated */
};

static const struct default_mount default_mounts[] = {
        {"/proc", "proc", "proc", {NULL}},
        {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k", NULL}},
        {"/dev/pts",
         "devpts",
         "devpts",
         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL}},
        {"/dev/shm",
         "tmpfs",
         "shm",
         {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL}},
        {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev", NULL}},
        {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro", NULL}},
        {"/sys/fs/cgroup",
         "cgroup",
         "cgroup",
         {"nosuid", "noexec", "nodev", "relatime", "ro", NULL}},
};

/* Without a network namespace of its own, a rootless container cannot mount
 * sysfs; it gets the host's /sys read-only instead. */
static const struct default_mount rootless_sys = {
        "/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro", NULL}};

static void strv_write(struct jw *w, const char *key, const char *const *v, size_t n)
{
    jw_key(w, key);
    jw_array_begin(w);
    for (size_t i = 0; i < n; i++)
        jw_string(w, v[i]);
    jw_array_end(w);
}

static void write_process(struct jw *w)
{
    static const char *const args[] = {"sh"};
    static const char *const env[] = {
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};

    jw_key(w, "process");
    jw_object_begin(w);
    jw_kv_bool(w, "terminal", true);
    jw_key(w, "user");
    jw_object_begin(w);
    jw_kv_uint(w, "uid", 0);
    jw_kv_uint(w, "gid", 0);
    jw_object_end(w);
    strv_write(w, "args", args, ARRAY_SIZE(args));
    strv_write(w, "env", env, ARRAY_SIZE(env));
    jw_kv_string(w, "cwd", "/");
    jw_key(w, "capabilities");
    jw_object_begin(w);
    strv_write(w, "bounding", default_caps, ARRAY_SIZE(default_caps));
    strv_write(w, "effective", default_caps, ARRAY_SIZE(default_caps));
    strv_write(w, "permitted", default_caps, ARRAY_SIZE(default_caps));
    jw_object_end(w);
    jw_key(w, "rlimits");
    jw_array_begin(w);
    jw_object_begin(w);
    jw_kv_string(w, "type", "RLIMIT_NOFILE");
    jw_kv_uint(w, "hard", 1024);
    jw_kv_uint(w, "soft", 1024);
    jw_object_end(w);
    jw_array_end(w);
    jw_kv_bool(w, "noNewPrivileges", true);
    jw_object_end(w);
}

/* Rootless drops uid=/gid= options: those ids do not exist in a user namespace
 * that maps only the caller. */
static bool keep_option(const char *opt, bool rootless)
{
    return !rootless || (!startswith(opt, "uid=") && !startswith(opt, "gid="));
}

static void write_mount(struct jw *w, const struct default_mount *m, bool rootless)
{
    jw_object_begin(w);
    jw_kv_string(w, "destination", m->destination);
    jw_kv_string(w, "type", m->type);
    jw_kv_string(w, "source", m->source);
    size_t n = 0;
    for (size_t i = 0; m->options[i]; i++)
        n += keep_option(m->options[i], rootless);
    /* like Go's omitempty: no "options" key without options */
    if (n > 0) {
        jw_key(w, "options");
        jw_array_begin(w);
        for (size_t i = 0; m->options[i]; i++)
            if (keep_option(m->options[i], rootless))
                jw_string(w, m->options[i]);
        jw_array_end(w);
    }
    jw_object_end(w);
}

static void write_mounts(struct jw *w, bool rootless)
{
    jw_key(w, "mounts");
    jw_array_begin(w);
    for (size_t i = 0; i < ARRAY_SIZE(default_mounts); i++) {
        const struct default_mount *m = &default_mounts[i];
        if (rootless && streq(m->destination, "/sys"))
            m = &rootless_sys;
        write_mount(w, m, rootless);
    }
    jw_array_end(w);
}

static void write_idmap(struct jw *w, const char *key, unsigned host_id)
{
    jw_key(w, key);
    jw_array_begin(w);
    jw_object_begin(w);
    jw_kv_uint(w, "containerID", 0);
    jw_kv_uint(w, "hostID", host_id);
    jw_kv_uint(w, "size", 1);
    jw_object_end(w);
    jw_array_end(w);
}

static void write_linux(struct jw *w, bool rootless)
{
    static const char *const namespaces[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};

    jw_key(w, "linux");
    jw_object_begin(w);
    if (rootless) {
        write_idmap(w, "uidMappings", geteuid());
        write_idmap(w, "gidMappings", getegid());
    } else {
        /* rootless containers usually cannot write to any cgroup: runc drops resources */
        jw_key(w, "resources");
        jw_object_begin(w);
        jw_key(w, "devices");
        jw_array_begin(w);
        jw_object_begin(w);
        jw_kv_bool(w, "allow", false);
        jw_kv_string(w, "access", "rwm");
        jw_object_end(w);
        jw_array_end(w);
        jw_object_end(w);
    }
    jw_key(w, "namespaces");
    jw_array_begin(w);
    for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++) {
        /* a rootless container cannot create network devices on the host side */
        if (rootless && streq(namespaces[i], "network"))
            continue;
        jw_object_begin(w);
        jw_kv_string(w, "type", namespaces[i]);
        jw_object_end(w);
    }
    if (rootless) {
        jw_object_begin(w);
        jw_kv_string(w, "type", "user");
        jw_object_end(w);
    }
    jw_array_end(w);
    strv_write(w, "maskedPaths", masked_paths, ARRAY_SIZE(masked_paths));
    strv_write(w, "readonlyPaths", readonly_paths, ARRAY_SIZE(readonly_paths));
    jw_object_end(w);
}

char *spec_default_json(bool rootless)
{
    struct jw w;
    jw_init(&w, "\t");
    jw_object_begin(&w);
    jw_kv_string(&w, "ociVersion", BERTH_SPEC_VERSION);
    write_process(&w);
    jw_key(&w, "root");
    jw_object_begin(&w);
    jw_kv_string(&w, "path", "rootfs");
    jw_kv_bool(&w, "readonly", true);
    jw_object_end(&w);
    jw_kv_string(&w, "hostname", "berth");
    write_mounts(&w, rootless);
    write_linux(&w, rootless);
    jw_object_end(&w);
    return jw_steal(&w, NULL);
}
