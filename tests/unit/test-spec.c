/* runtime/spec: config.json parsing and validation, `berth spec` output, names. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/util.h"
#include "runtime/spec.h"
#include "tests/unit/unit.h"

#ifndef UNIT_DATADIR
#error "UNIT_DATADIR must name tests/unit/data"
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_data(const char *name, size_t *len)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", UNIT_DATADIR, name);
    char *text = NULL;
    int r = read_file_at(AT_FDCWD, path, 64u << 20, &text, len);
    if (r < 0) {
        printf("#   cannot read %s: %s\n", path, strerror(-r));
        exit(1);
    }
    return text;
}

/* Test configs are written with ' for " so they stay readable in C. */
static char *dq(const char *s)
{
    char *d = xstrdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

/* Parse from an exact-size heap copy so ASan catches reads past the end. */
static int parse(const char *text, size_t len, struct spec **out)
{
    char *copy = xmalloc(len ? len : 1);
    memcpy(copy, text, len);
    *out = NULL;
    int r = spec_parse(copy, len, "config.json", out);
    free(copy);
    return r;
}

static struct spec *parse_ok(const char *quoted)
{
    _cleanup_free_ char *text = dq(quoted);
    struct spec *s;
    if (parse(text, strlen(text), &s) < 0) {
        printf("#   unexpected error: %s\n#   in: %s\n", err_msg(), text);
        return NULL;
    }
    return s;
}

/* ---- the default configuration ---- */

static void check_default_common(const struct spec *s)
{
    CHECK_STR(s->oci_version, "1.3.0");
    CHECK_STR(s->root_path, "rootfs");
    CHECK(s->root_readonly);
    CHECK_STR(s->hostname, "berth");
    CHECK(s->process != NULL);
    if (!s->process)
        return;
    const struct spec_process *p = s->process;
    CHECK(p->terminal);
    CHECK_INT(p->user.uid, 0);
    CHECK_INT(p->user.gid, 0);
    CHECK_INT(p->n_args, 1);
    CHECK_STR(p->args[0], "sh");
    CHECK_INT(p->n_env, 2);
    CHECK_STR(p->env[1], "TERM=xterm");
    CHECK_STR(p->cwd, "/");
    CHECK(p->no_new_privileges);
    CHECK(p->capabilities != NULL);
    if (p->capabilities) {
        uint64_t want = (UINT64_C(1) << 29) | (UINT64_C(1) << 5) | (UINT64_C(1) << 10);
        CHECK(p->capabilities->sets[CAPSET_BOUNDING] == want);
        CHECK(p->capabilities->sets[CAPSET_EFFECTIVE] == want);
        CHECK(p->capabilities->sets[CAPSET_PERMITTED] == want);
        CHECK(p->capabilities->sets[CAPSET_INHERITABLE] == 0);
        CHECK(!p->capabilities->present[CAPSET_INHERITABLE]);
        CHECK(!p->capabilities->present[CAPSET_AMBIENT]);
        CHECK(p->capabilities->present[CAPSET_BOUNDING]);
    }
    CHECK_INT(p->n_rlimits, 1);
    if (p->n_rlimits == 1) {
        CHECK_INT(p->rlimits[0].resource, RLIMIT_NOFILE);
        CHECK_STR(p->rlimits[0].name, "RLIMIT_NOFILE");
        CHECK_INT(p->rlimits[0].soft, 1024);
        CHECK_INT(p->rlimits[0].hard, 1024);
    }

    CHECK_INT(s->n_mounts, 7);
    if (s->n_mounts == 7) {
        CHECK_STR(s->mounts[0].destination, "/proc");
        CHECK(s->mounts[0].options == NULL);
        CHECK_STR(s->mounts[1].destination, "/dev");
        CHECK_INT(s->mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
        CHECK_STR(s->mounts[1].data, "mode=755,size=65536k");
        CHECK_STR(s->mounts[3].source, "shm");
        CHECK_INT(s->mounts[3].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
        CHECK_STR(s->mounts[6].destination, "/sys/fs/cgroup");
        CHECK_INT(s->mounts[6].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
    }
    CHECK(s->has_linux);
    CHECK_INT(s->linux_.n_masked_paths, 11);
    CHECK_STR(s->linux_.masked_paths[10], "/sys/devices/virtual/powercap");
    CHECK_INT(s->linux_.n_readonly_paths, 5);
    CHECK_STR(s->linux_.readonly_paths[4], "/proc/sysrq-trigger");
    for (int t = 0; t < NS__COUNT; t++)
        if (t != NS_NET && t != NS_USER && t != NS_TIME)
            CHECK(s->ns[t] != NULL && s->ns[t]->path == NULL && s->ns[t]->type == (enum ns_type)t);
    CHECK(s->ns[NS_TIME] == NULL);
}

static void test_default_spec(void)
{
    char *text = spec_default_json(false);
    size_t golden_len;
    _cleanup_free_ char *golden = read_data("default-spec.json", &golden_len);
    CHECK_STR(text, golden);
    CHECK(!endswith(text, "\n"));
    CHECK(startswith(text,
                     "{\n\t\"ociVersion\": \"1.3.0\",\n\t\"process\": {\n\t\t\"terminal\": true,"));

    struct spec *s;
    CHECK_INT(parse(text, strlen(text), &s), 0);
    if (s) {
        check_default_common(s);
        CHECK_INT(s->linux_.n_namespaces, 6);
        CHECK(s->ns[NS_NET] != NULL);
        CHECK(s->ns[NS_USER] == NULL);
        CHECK_INT(s->linux_.n_uid_mappings, 0);
        CHECK_STR(s->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
        CHECK_STR(s->mounts[5].type, "sysfs");
        CHECK_INT(s->mounts[5].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
        const struct spec_resources *res = s->linux_.resources;
        CHECK(res != NULL);
        if (res) {
            CHECK_INT(res->n_devices, 1);
            CHECK(!res->devices[0].allow);
            CHECK_INT(res->devices[0].type, 'a');
            CHECK_INT(res->devices[0].major, -1);
            CHECK_INT(res->devices[0].minor, -1);
            CHECK_STR(res->devices[0].access, "rwm");
            CHECK(!res->has_memory && !res->has_cpu && !res->pids.set);
        }
        spec_free(s);
    }
    free(text);
}

static void test_default_spec_rootless(void)
{
    char *text = spec_default_json(true);
    struct spec *s;
    CHECK(!strstr(text, "\"network\""));
    CHECK(!strstr(text, "gid=5"));
    CHECK(!strstr(text, "\"resources\""));
    CHECK_INT(parse(text, strlen(text), &s), 0);
    if (s) {
        check_default_common(s);
        CHECK_INT(s->linux_.n_namespaces, 6);
        CHECK(s->ns[NS_NET] == NULL);
        CHECK(s->ns[NS_USER] != NULL && s->ns[NS_USER]->path == NULL);
        CHECK(s->ns[NS_USER] == &s->linux_.namespaces[5]);
        CHECK_INT(s->linux_.n_uid_mappings, 1);
        CHECK_INT(s->linux_.uid_mappings[0].container_id, 0);
        CHECK_INT(s->linux_.uid_mappings[0].host_id, geteuid());
        CHECK_INT(s->linux_.uid_mappings[0].size, 1);
        CHECK_INT(s->linux_.n_gid_mappings, 1);
        CHECK_INT(s->linux_.gid_mappings[0].host_id, getegid());
        CHECK(s->linux_.resources == NULL);
        CHECK_STR(s->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620");
        const struct spec_mount *sys = &s->mounts[5];
        CHECK_STR(sys->destination, "/sys");
        CHECK_STR(sys->type, "none");
        CHECK_STR(sys->source, "/sys");
        CHECK(sys->bind && sys->recursive_bind);
        CHECK_INT(sys->flags, MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
        CHECK(sys->data == NULL);
        spec_free(s);
    }
    free(text);
}

/* ---- ociVersion ---- */

static int parse_version(const char *version)
{
    _cleanup_free_ char *text =
            xasprintf("{\"ociVersion\":\"%s\",\"root\":{\"path\":\"rootfs\"}}", version);
    struct spec *s;
    int r = parse(text, strlen(text), &s);
    spec_free(s);
    return r;
}

static void test_versions(void)
{
    static const char *const accepted[] = {
            "1.0.0",      "1.0.1",         "1.0.2",         "1.0.2-dev",
            "1.1.0-rc.1", "1.1.0",         "1.2.0",         "1.2.1",
            "1.3.0",      "1.3.0+dev",     "1.0",           "1.0.0-rc5",
            "1.4.0",      "1.0.0-rc2-dev", "1.2.0+build.5", "1.3.0-rc.1+sha.abc",
            "1.10.100",
    };
    for (size_t i = 0; i < ARRAY_SIZE(accepted); i++) {
        int r = parse_version(accepted[i]);
        if (r < 0)
            printf("#   %s: %s\n", accepted[i], err_msg());
        CHECK_INT(r, 0);
    }

    static const char *const unsupported[] = {"2.0.0", "0.6.0", "3.1", "0.1.0-dev", "10.0.0"};
    for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++) {
        CHECK_INT(parse_version(unsupported[i]), -EINVAL);
        _cleanup_free_ char *want =
                xasprintf("config.json: .ociVersion: unsupported version \"%s\": berth supports "
                          "runtime-spec 1.x (up to 1.3.0)",
                          unsupported[i]);
        CHECK_STR(err_msg(), want);
    }

    static const char *const invalid[] = {
            "",          "abc",    "1",         "1.",     "1..0",     "v1.0.0",         "1.0.0-",
            "1.0.0+",    "1.0.0 ", " 1.0.0",    "1.x.0",  "1.0.0.0",  "1.0.0-rc..1",    "1.0.0-rc.",
            "1.0.0-a_b", "1.-1.0", "1.0.0+b+c", "-1.0.0", "1.0.0\\n", "1.0000000000.0",
    };
    for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
        CHECK_INT(parse_version(invalid[i]), -EINVAL);
        CHECK_CONTAINS(err_msg(), "config.json: .ociVersion: invalid version \"");
        CHECK_CONTAINS(err_msg(), "\": expected a runtime-spec version such as 1.3.0");
    }
    CHECK_INT(parse_version("2.0.0"), -EINVAL);
}

/* ---- broken configurations, each with its exact message ---- */

#define B          "'ociVersion':'1.3.0','root':{'path':'rootfs'}"
#define P          "'user':{'uid':0,'gid':0},'args':['sh'],'cwd':'/'"
#define PROC(x)    "{" B ",'process':{" P x "}}"
#define LINUX(x)   "{" B ",'linux':{" x "}}"
#define RES(x)     LINUX("'resources':{" x "}")
#define SECCOMP(x) LINUX("'seccomp':{" x "}")
#define X16        "xxxxxxxxxxxxxxxx"

static const struct {
    const char *config, *error;
} broken[] = {
        /* document, version, root */
        {"{}", ".ociVersion: missing required field"},
        {"[]", ".: expected object"},
        {"{'ociVersion':null,'root':{'path':'r'}}", ".ociVersion: missing required field"},
        {"{'ociVersion':1}", ".ociVersion: expected string"},
        {"{'ociVersion':'1.3.0'}", ".root: missing required field"},
        {"{'ociVersion':'1.3.0','root':null}", ".root: missing required field"},
        {"{'ociVersion':'1.3.0','root':'rootfs'}", ".root: expected object"},
        {"{'ociVersion':'1.3.0','root':{}}", ".root.path: missing required field"},
        {"{'ociVersion':'1.3.0','root':{'path':''}}", ".root.path: must not be empty"},
        {"{'ociVersion':'1.3.0','root':{'path':'r','readonly':'yes'}}",
         ".root.readonly: expected boolean"},
        {"{" B ",'hostname':'" X16 X16 X16 X16 "x'}", ".hostname: longer than 64 bytes"},
        {"{" B ",'domainname':5}", ".domainname: expected string"},

        /* process */
        {"{" B ",'process':[]}", ".process: expected object"},
        {"{" B ",'process':{'args':['sh'],'cwd':'/'}}", ".process.user: missing required field"},
        {"{" B ",'process':{'user':{'uid':0,'gid':0},'cwd':'/'}}",
         ".process.args: missing required field"},
        {"{" B ",'process':{'user':{'uid':0,'gid':0},'args':[],'cwd':'/'}}",
         ".process.args: must contain at least one entry (the program)"},
        {"{" B ",'process':{'user':{'uid':0,'gid':0},'args':['sh']}}",
         ".process.cwd: missing required field"},
        {"{" B ",'process':{'user':{'uid':0,'gid':0},'args':['sh'],'cwd':'tmp'}}",
         ".process.cwd: must be an absolute path, got \"tmp\""},
        {"{" B ",'process':{'user':{'gid':0},'args':['sh'],'cwd':'/'}}",
         ".process.user.uid: missing required field"},
        {"{" B ",'process':{'user':{'uid':-1,'gid':0},'args':['sh'],'cwd':'/'}}",
         ".process.user.uid: expected unsigned integer"},
        {"{" B ",'process':{'user':{'uid':0,'gid':4294967296},'args':['sh'],'cwd':'/'}}",
         ".process.user.gid: value 4294967296 out of range (0 to 4294967295)"},
        {PROC(",'user':{'uid':0,'gid':0,'additionalGids':[1,'2']}"),
         ".process.user.additionalGids[1]: expected unsigned integer"},
        {PROC(",'user':{'uid':0,'gid':0,'umask':1.5}"),
         ".process.user.umask: expected unsigned integer"},
        {PROC(",'terminal':1"), ".process.terminal: expected boolean"},
        {PROC(",'env':['A=1','FOO']"), ".process.env[1]: expected NAME=VALUE, got \"FOO\""},
        {PROC(",'env':['=x']"), ".process.env[0]: expected NAME=VALUE, got \"=x\""},
        {PROC(",'args':['sh',null]"), ".process.args[1]: expected string"},
        {PROC(",'capabilities':{'bounding':['CAP_KILL','CAP_FOO']}"),
         ".process.capabilities.bounding[1]: unknown capability \"CAP_FOO\""},
        {PROC(",'capabilities':{'ambient':'CAP_KILL'}"),
         ".process.capabilities.ambient: expected array"},
        {PROC(",'capabilities':{'effective':['cap_kill']}"),
         ".process.capabilities.effective[0]: unknown capability \"cap_kill\""},
        {PROC(",'rlimits':[{'type':'RLIMIT_NOFILE','soft':1,'hard':1},{'type':'RLIMIT_CORE','soft':"
              "1,'hard':'1'}]"),
         ".process.rlimits[1].hard: expected unsigned integer"},
        {PROC(",'rlimits':[{'type':'RLIMIT_NOFILE','soft':1,'hard':1},{'type':'RLIMIT_NOFILE','"
              "soft':1,'hard':1}]"),
         ".process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\" (already at index 0)"},
        {PROC(",'rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]"),
         ".process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
        {PROC(",'rlimits':[{'type':'RLIMIT_NOFILE','soft':2048,'hard':1024}]"),
         ".process.rlimits[0]: soft limit 2048 is above hard limit 1024"},
        {PROC(",'rlimits':[{'type':'RLIMIT_NOFILE','hard':1024}]"),
         ".process.rlimits[0].soft: missing required field"},
        {PROC(",'oomScoreAdj':1001"),
         ".process.oomScoreAdj: value 1001 out of range (-1000 to 1000)"},
        {PROC(",'consoleSize':{'height':10}"),
         ".process.consoleSize.width: missing required field"},
        {PROC(",'scheduler':{'policy':'SCHED_ISO'}"),
         ".process.scheduler.policy: SCHED_ISO is not supported by Linux; use SCHED_OTHER, "
         "SCHED_BATCH or SCHED_IDLE"},
        {PROC(",'scheduler':{'policy':'SCHED_FOO'}"),
         ".process.scheduler.policy: unknown scheduler policy \"SCHED_FOO\""},
        {PROC(",'scheduler':{'nice':1}"), ".process.scheduler.policy: missing required field"},
        {PROC(",'scheduler':{'policy':'SCHED_OTHER','nice':20}"),
         ".process.scheduler.nice: value 20 out of range (-20 to 19)"},
        {PROC(",'scheduler':{'policy':'SCHED_FIFO'}"),
         ".process.scheduler.priority: SCHED_FIFO needs a priority from 1 to 99, got 0"},
        {PROC(",'scheduler':{'policy':'SCHED_OTHER','priority':5}"),
         ".process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority"},
        {PROC(",'scheduler':{'policy':'SCHED_BATCH','runtime':5}"),
         ".process.scheduler: runtime, deadline and period are only for SCHED_DEADLINE"},
        {PROC(",'scheduler':{'policy':'SCHED_OTHER','flags':['SCHED_FLAG_NOPE']}"),
         ".process.scheduler.flags[0]: unknown scheduler flag \"SCHED_FLAG_NOPE\""},
        {PROC(",'ioPriority':{'class':'IOPRIO_CLASS_BE','priority':8}"),
         ".process.ioPriority.priority: value 8 out of range (0 to 7)"},
        {PROC(",'ioPriority':{'class':'IOPRIO_CLASS_NONE'}"),
         ".process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_NONE\""},
        {PROC(",'execCPUAffinity':{'initial':'0-'}"),
         ".process.execCPUAffinity.initial: invalid list \"0-\": expected numbers and ranges such "
         "as \"0-3,7\""},
        {PROC(",'execCPUAffinity':{'final':'3-1'}"),
         ".process.execCPUAffinity.final: invalid list \"3-1\": expected numbers and ranges such "
         "as \"0-3,7\""},

        /* mounts, hooks, annotations */
        {"{" B ",'mounts':{}}", ".mounts: expected array"},
        {"{" B ",'mounts':[{'type':'tmpfs'}]}", ".mounts[0].destination: missing required field"},
        {"{" B ",'mounts':[{'destination':''}]}", ".mounts[0].destination: must not be empty"},
        {"{" B ",'mounts':[{'destination':'/a','options':['ro',1]}]}",
         ".mounts[0].options[1]: expected string"},
        {"{" B
         ",'mounts':[{'destination':'/a','uidMappings':[{'containerID':0,'hostID':0,'size':1}]}]}",
         ".mounts[0]: uidMappings and gidMappings must be given together"},
        {"{" B ",'hooks':{'prestart':[{'path':'hook'}]}}",
         ".hooks.prestart[0].path: must be an absolute path, got \"hook\""},
        {"{" B ",'hooks':{'poststop':[{'path':'/h','timeout':0}]}}",
         ".hooks.poststop[0].timeout: must be greater than zero, got 0"},
        {"{" B ",'hooks':{'createRuntime':[{'args':['x']}]}}",
         ".hooks.createRuntime[0].path: missing required field"},
        {"{" B ",'hooks':{'startContainer':[{'path':'/h','env':['X']}]}}",
         ".hooks.startContainer[0].env[0]: expected NAME=VALUE, got \"X\""},
        {"{" B ",'hooks':{'poststart':{}}}", ".hooks.poststart: expected array"},
        {"{" B ",'annotations':{'a':1}}", ".annotations.a: expected string"},
        {"{" B ",'annotations':{'org.a':true}}", ".annotations[\"org.a\"]: expected string"},
        {"{" B ",'annotations':{'':'x'}}", ".annotations: keys must not be empty"},

        /* user namespace and mappings */
        {LINUX("'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]"),
         ".linux.uidMappings: mappings need a user namespace: add {\"type\": \"user\"} to "
         ".linux.namespaces"},
        {LINUX("'namespaces':[{'type':'pid'},{'type':'user'}]"),
         ".linux.uidMappings: a new user namespace (.linux.namespaces[1]) needs at least one "
         "mapping"},
        {LINUX("'namespaces':[{'type':'user'}],'uidMappings':[{'containerID':0,'hostID':1000,'size'"
               ":1}]"),
         ".linux.gidMappings: a new user namespace (.linux.namespaces[0]) needs at least one "
         "mapping"},
        {LINUX("'namespaces':[{'type':'user','path':'/proc/1/ns/user'}],"
               "'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]"),
         ".linux.gidMappings: cannot be used when joining an existing user namespace "
         "(.linux.namespaces[0].path)"},
        {LINUX("'namespaces':[{'type':'user'}],'uidMappings':[{'containerID':0,'hostID':1000,'size'"
               ":0}]"),
         ".linux.uidMappings[0].size: must be greater than zero"},
        {LINUX("'uidMappings':[{'containerID':0,'size':1}]"),
         ".linux.uidMappings[0].hostID: missing required field"},

        /* namespaces */
        {LINUX("'namespaces':[{'type':'pid'},{'type':'mount'},{'type':'foo'}]"),
         ".linux.namespaces[2].type: unknown namespace type \"foo\""},
        {LINUX("'namespaces':[{'type':'pid'},{'type':'ipc'},{'type':'pid'}]"),
         ".linux.namespaces[2].type: duplicate namespace type \"pid\" (already at index 0)"},
        {LINUX("'namespaces':[{'type':'network','path':'var/run/netns/x'}]"),
         ".linux.namespaces[0].path: must be an absolute path, got \"var/run/netns/x\""},
        {LINUX("'namespaces':[{}]"), ".linux.namespaces[0].type: missing required field"},
        {LINUX("'namespaces':['pid']"), ".linux.namespaces[0]: expected object"},

        /* time namespace */
        {LINUX("'timeOffsets':{'monotonic':{'secs':1}}"),
         ".linux.timeOffsets: needs a new time namespace: add {\"type\": \"time\"} to "
         ".linux.namespaces"},
        {LINUX("'namespaces':[{'type':'time','path':'/proc/1/ns/"
               "time'}],'timeOffsets':{'boottime':{'secs':1}}"),
         ".linux.timeOffsets: cannot be set when joining an existing time namespace "
         "(.linux.namespaces[0].path)"},
        {LINUX("'namespaces':[{'type':'time'}],'timeOffsets':{'realtime':{'secs':1}}"),
         ".linux.timeOffsets.realtime: unknown clock \"realtime\" (expected \"monotonic\" or "
         "\"boottime\")"},
        {LINUX("'namespaces':[{'type':'time'}],'timeOffsets':{'monotonic':{'nanosecs':1000000000}"
               "}"),
         ".linux.timeOffsets.monotonic.nanosecs: value 1000000000 out of range (0 to 999999999)"},

        /* devices */
        {LINUX("'devices':[{'path':'/dev/x','type':'x','major':1,'minor':1}]"),
         ".linux.devices[0].type: unknown device type \"x\" (expected c, b, u or p)"},
        {LINUX("'devices':[{'path':'/dev/x','type':'c','minor':1}]"),
         ".linux.devices[0].major: missing required field"},
        {LINUX("'devices':[{'path':'dev/x','type':'c','major':1,'minor':1}]"),
         ".linux.devices[0].path: must be an absolute path, got \"dev/x\""},
        {LINUX("'devices':[{'path':'/dev/x','type':'c','major':1,'minor':1,'fileMode':4096}]"),
         ".linux.devices[0].fileMode: value 4096 out of range (0 to 4095)"},
        {LINUX("'devices':[{'path':'/dev/x','type':'b','major':-8,'minor':1}]"),
         ".linux.devices[0].major: value -8 out of range (0 to 9223372036854775807)"},

        /* seccomp */
        {SECCOMP(""), ".linux.seccomp.defaultAction: missing required field"},
        {SECCOMP("'defaultAction':'SCMP_ACT_NOTIFY','listenerPath':'/run/a.sock'"),
         ".linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action (it would "
         "notify on every system call)"},
        {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mount'],'action':'SCMP_"
                 "ACT_NOTIFY'}]"),
         ".linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY needs .linux.seccomp.listenerPath "
         "(the "
         "agent that receives the notifications)"},
        {SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':['read'],'action':'SCMP_"
                 "ACT_ALLOW','errnoRet':1}]"),
         ".linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"},
        {SECCOMP("'defaultAction':'SCMP_ACT_DENY'"),
         ".linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_DENY\""},
        {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_VAX']"),
         ".linux.seccomp.architectures[0]: unknown seccomp architecture \"SCMP_ARCH_VAX\""},
        {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_NEW_LISTENER']"),
         ".linux.seccomp.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_NEW_LISTENER\""},
        {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'run/a.sock'"),
         ".linux.seccomp.listenerPath: must be an absolute path, got \"run/a.sock\""},
        {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],'action':'SCMP_ACT_"
                 "ERRNO'}]"),
         ".linux.seccomp.syscalls[0].names: must name at least one system call"},
        {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read',''],'action':'SCMP_"
                 "ACT_ERRNO'}]"),
         ".linux.seccomp.syscalls[0].names[1]: must not be empty"},
        {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'action':'SCMP_ACT_ERRNO'}]"),
         ".linux.seccomp.syscalls[0].names: missing required field"},
        {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read']}]"),
         ".linux.seccomp.syscalls[0].action: missing required field"},
        {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_"
                 "ACT_ERRNO',"
                 "'args':[{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]"),
         ".linux.seccomp.syscalls[0].args[0].index: value 6 out of range (0 to 5)"},
        {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_"
                 "ACT_ERRNO',"
                 "'args':[{'index':0,'value':1,'op':'SCMP_CMP_XX'}]}]"),
         ".linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_XX\""},
        {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_"
                 "ACT_ERRNO',"
                 "'args':[{'index':0,'op':'SCMP_CMP_EQ'}]}]"),
         ".linux.seccomp.syscalls[0].args[0].value: missing required field"},

        /* the rest of linux */
        {LINUX("'rootfsPropagation':'rshare'"),
         ".linux.rootfsPropagation: unknown propagation \"rshare\""},
        {LINUX("'rootfsPropagation':1"), ".linux.rootfsPropagation: expected string"},
        {LINUX("'maskedPaths':['/proc/kcore','proc/keys']"),
         ".linux.maskedPaths[1]: must be an absolute path, got \"proc/keys\""},
        {LINUX("'readonlyPaths':'/proc/sys'"), ".linux.readonlyPaths: expected array"},
        {LINUX("'sysctl':{'net.ipv4.ip_forward':1}"),
         ".linux.sysctl[\"net.ipv4.ip_forward\"]: expected string"},
        {LINUX("'cgroupsPath':5"), ".linux.cgroupsPath: expected string"},
        {LINUX("'personality':{'domain':'LINUX64'}"),
         ".linux.personality.domain: unknown personality domain \"LINUX64\""},
        {LINUX("'personality':{'domain':'LINUX','flags':['ADDR_NO_RANDOMIZE']}"),
         ".linux.personality.flags[0]: unknown personality flag \"ADDR_NO_RANDOMIZE\" "
         "(runtime-spec defines none)"},
        {LINUX("'memoryPolicy':{'mode':'MPOL_RANDOM'}"),
         ".linux.memoryPolicy.mode: unknown memory policy mode \"MPOL_RANDOM\""},
        {LINUX("'memoryPolicy':{'mode':'MPOL_DEFAULT','nodes':'0'}"),
         ".linux.memoryPolicy.nodes: MPOL_DEFAULT takes no nodes"},
        {LINUX("'memoryPolicy':{'mode':'MPOL_BIND'}"),
         ".linux.memoryPolicy.nodes: MPOL_BIND needs at least one node"},
        {LINUX("'memoryPolicy':{'mode':'MPOL_BIND','nodes':'0','flags':['MPOL_F_STATIC_NODES','"
               "MPOL_F_RELATIVE_NODES']}"),
         ".linux.memoryPolicy.flags: MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each "
         "other"},
        {LINUX("'memoryPolicy':{'mode':'MPOL_BIND','nodes':'0-x'}"),
         ".linux.memoryPolicy.nodes: invalid list \"0-x\": expected numbers and ranges such as "
         "\"0-3,7\""},
        {LINUX("'namespaces':[{'type':'network'}],'netDevices':{'eth/0':{}}"),
         ".linux.netDevices[\"eth/0\"]: invalid interface name \"eth/0\" (1 to 15 bytes without "
         "\"/\", \":\" or whitespace)"},
        {LINUX("'namespaces':[{'type':'network'}],'netDevices':{'eth0':{'name':'a-very-long-ifname'"
               "}}"),
         ".linux.netDevices.eth0.name: invalid interface name \"a-very-long-ifname\" (1 to 15 "
         "bytes "
         "without \"/\", \":\" or whitespace)"},
        {LINUX("'namespaces':[{'type':'network'}],'netDevices':{'eth0':{'name':'x'},'eth1':{'name':"
               "'x'}}"),
         ".linux.netDevices: \"eth0\" and \"eth1\" would both be named \"x\" in the container"},
        {LINUX("'netDevices':{'eth0':{}}"),
         ".linux.netDevices: moving interfaces needs a network namespace: add {\"type\": "
         "\"network\"} to .linux.namespaces"},
        {LINUX("'intelRdt':{'schemata':['L3:0=f','MB:0=20\\nL2:0=f']}"),
         ".linux.intelRdt.schemata[1]: must be a single line (one entry per line)"},
        {LINUX("'intelRdt':{'schemata':5}"), ".linux.intelRdt.schemata: expected array of strings"},
        {LINUX("'intelRdt':{'closID':'../x'}"),
         ".linux.intelRdt.closID: invalid \"../x\": must be a plain directory name in resctrl"},
        {LINUX("'intelRdt':{'memBwSchema':'L3:0=f'}"),
         ".linux.intelRdt.memBwSchema: must be a single line starting with \"MB:\""},

        /* resources */
        {LINUX("'resources':[]"), ".linux.resources: expected object"},
        {RES("'memory':{'limit':-2}"),
         ".linux.resources.memory.limit: value -2 out of range (-1 to 9223372036854775807)"},
        {RES("'memory':{'swappiness':101}"),
         ".linux.resources.memory.swappiness: value 101 out of range (0 to 100)"},
        {RES("'memory':{'disableOOMKiller':0}"),
         ".linux.resources.memory.disableOOMKiller: expected boolean"},
        {RES("'cpu':{'cpus':'a'}"), ".linux.resources.cpu.cpus: invalid list \"a\": expected "
                                    "numbers and ranges such as \"0-3,7\""},
        {RES("'cpu':{'idle':2}"), ".linux.resources.cpu.idle: value 2 out of range (0 to 1)"},
        {RES("'cpu':{'quota':1000,'burst':2000}"),
         ".linux.resources.cpu.burst: burst 2000 exceeds quota 1000"},
        {RES("'cpu':{'shares':-1}"), ".linux.resources.cpu.shares: expected unsigned integer"},
        {RES("'pids':{}"), ".linux.resources.pids.limit: missing required field"},
        {RES("'hugepageLimits':[{'pageSize':'2M','limit':1}]"),
         ".linux.resources.hugepageLimits[0].pageSize: invalid page size \"2M\": expected "
         "<size><unit>B such as 2MB or 1GB"},
        {RES("'hugepageLimits':[{'pageSize':'2MB'}]"),
         ".linux.resources.hugepageLimits[0].limit: missing required field"},
        {RES("'unified':{'../memory.max':'1'}"),
         ".linux.resources.unified[\"../memory.max\"]: invalid cgroup file name: expected a plain "
         "file name such as \"memory.max\""},
        {RES("'unified':{'memory.max':1}"),
         ".linux.resources.unified[\"memory.max\"]: expected string"},
        {RES("'blockIO':{'weight':65536}"),
         ".linux.resources.blockIO.weight: value 65536 out of range (0 to 65535)"},
        {RES("'blockIO':{'weightDevice':[{'major':8,'minor':0}]}"),
         ".linux.resources.blockIO.weightDevice[0]: needs weight or leafWeight (or both)"},
        {RES("'blockIO':{'throttleReadBpsDevice':[{'major':8,'minor':0}]}"),
         ".linux.resources.blockIO.throttleReadBpsDevice[0].rate: missing required field"},
        {RES("'blockIO':{'throttleWriteIOPSDevice':[{'minor':0,'rate':1}]}"),
         ".linux.resources.blockIO.throttleWriteIOPSDevice[0].major: missing required field"},
        {RES("'devices':[{'allow':true,'access':'rwx'}]"),
         ".linux.resources.devices[0].access: invalid access \"rwx\": expected a combination of r, "
         "w and m"},
        {RES("'devices':[{'access':'rwm'}]"),
         ".linux.resources.devices[0].allow: missing required field"},
        {RES("'devices':[{'allow':true,'type':'p'}]"),
         ".linux.resources.devices[0].type: unknown device type \"p\" (expected \"a\", \"b\" or "
         "\"c\")"},
        {RES("'rdma':{'mlx5_1':{}}"),
         ".linux.resources.rdma.mlx5_1: needs hcaHandles or hcaObjects (or both)"},
        {RES("'network':{'priorities':[{'name':'eth0'}]}"),
         ".linux.resources.network.priorities[0].priority: missing required field"},
        {RES("'network':{'classID':-1}"),
         ".linux.resources.network.classID: expected unsigned integer"},
};

static void test_broken_configs(void)
{
    CHECK(ARRAY_SIZE(broken) >= 40);
    for (size_t i = 0; i < ARRAY_SIZE(broken); i++) {
        _cleanup_free_ char *text = dq(broken[i].config);
        _cleanup_free_ char *want = xasprintf("config.json: %s", broken[i].error);
        struct spec *s;
        err_clear();
        int r = parse(text, strlen(text), &s);
        CHECK_INT(r, -EINVAL);
        CHECK(s == NULL);
        if (r == 0)
            spec_free(s);
        if (strcmp(err_msg(), want) != 0) {
            printf("#   case %zu: %s\n", i, text);
            CHECK_STR(err_msg(), want);
        }
    }
    printf("#   %zu broken configurations\n", ARRAY_SIZE(broken));
}

/* ---- what parses ---- */

static void test_null_is_absent(void)
{
    struct spec *s = parse_ok("{" B ",'process':null,'hostname':null,'mounts':null,'hooks':null,"
                              "'annotations':null,'linux':null}");
    CHECK(s != NULL);
    if (s) {
        CHECK(s->process == NULL);
        CHECK(s->hostname == NULL);
        CHECK_INT(s->n_mounts, 0);
        CHECK(!s->has_linux);
        for (int t = 0; t < NS__COUNT; t++)
            CHECK(s->ns[t] == NULL);
        spec_free(s);
    }

    s = parse_ok("{" B ",'linux':{'resources':{'memory':{'limit':null},'cpu':null},"
                 "'namespaces':[{'type':'pid','path':null}],'rootfsPropagation':'',"
                 "'annotations':{'a':null}},'annotations':{'x':null,'y':'1'}}");
    CHECK(s != NULL);
    if (s) {
        CHECK(s->linux_.resources && s->linux_.resources->has_memory);
        CHECK(!s->linux_.resources->memory.limit.set);
        CHECK(!s->linux_.resources->has_cpu);
        CHECK(s->ns[NS_PID] && s->ns[NS_PID]->path == NULL);
        CHECK_INT(s->linux_.rootfs_propagation, 0);
        CHECK_INT(s->n_annotations, 1);
        CHECK(spec_annotation(s, "x") == NULL);
        CHECK_STR(spec_annotation(s, "y"), "1");
        spec_free(s);
    }
}

static void test_small_accepted(void)
{
    /* relative mount destinations (runtime-spec 1.2) are relative to "/" */
    struct spec *s = parse_ok("{" B ",'mounts':[{'destination':'data'},{'destination':'/"
                              "abs','type':'bind','source':'x'}]}");
    CHECK(s != NULL);
    if (s) {
        CHECK_STR(s->mounts[0].destination, "/data");
        CHECK_STR(s->mounts[1].destination, "/abs");
        CHECK(s->mounts[1].bind && !s->mounts[1].recursive_bind);
        spec_free(s);
    }

    /* the schemata string form of older drafts becomes lines */
    s = parse_ok(LINUX("'intelRdt':{'schemata':'L3:0=7f0;1=1f\\nL2:0=f\\n\\nMB:0=20\\n'}"));
    CHECK(s != NULL);
    if (s) {
        const struct spec_intel_rdt *rdt = s->linux_.intel_rdt;
        CHECK_INT(rdt->n_schemata, 3);
        CHECK_STR(rdt->schemata[0], "L3:0=7f0;1=1f");
        CHECK_STR(rdt->schemata[2], "MB:0=20");
        CHECK(rdt->schemata[3] == NULL);
        spec_free(s);
    }

    /* values at the edges of their ranges */
    s = parse_ok(
            PROC(",'oomScoreAdj':-1000,'scheduler':{'policy':'SCHED_RR','priority':99,'nice':-20},"
                 "'rlimits':[{'type':'RLIMIT_STACK','soft':18446744073709551615,'hard':"
                 "18446744073709551615}]"));
    CHECK(s != NULL);
    if (s) {
        CHECK_INT(s->process->oom_score_adj.v, -1000);
        CHECK(s->process->oom_score_adj.set);
        CHECK_INT(s->process->scheduler->policy, SCHED_RR);
        CHECK_INT(s->process->scheduler->priority, 99);
        CHECK(s->process->rlimits[0].soft == UINT64_MAX);
        spec_free(s);
    }

    /* netDevices: "" keeps the host name, a repeated key keeps its last value */
    s = parse_ok(LINUX("'namespaces':[{'type':'network','path':'/run/netns/a'}],"
                       "'netDevices':{'eth2':{'name':''},'eth0':{'name':'y'},'eth0':{'name':'x'},"
                       "'eth9':null}"));
    CHECK(s != NULL);
    if (s) {
        CHECK_INT(s->linux_.n_net_devices, 2);
        CHECK_STR(s->linux_.net_devices[0].host_name, "eth0");
        CHECK_STR(s->linux_.net_devices[0].name, "x");
        CHECK_STR(s->linux_.net_devices[1].name, "eth2");
        spec_free(s);
    }

    /* with SCHED_FLAG_KEEP_PARAMS the kernel keeps the current priority */
    s = parse_ok(PROC(",'scheduler':{'policy':'SCHED_FIFO','flags':['SCHED_FLAG_KEEP_PARAMS']}"));
    CHECK(s != NULL);
    if (s) {
        CHECK_INT(s->process->scheduler->policy, SCHED_FIFO);
        CHECK_INT(s->process->scheduler->flags, 0x10);
        spec_free(s);
    }

    s = parse_ok(LINUX("'intelRdt':{'closID':'','enableCMT':true}"));
    CHECK(s != NULL);
    if (s) {
        CHECK(s->linux_.intel_rdt->clos_id == NULL);
        CHECK(s->linux_.intel_rdt->enable_cmt);
        spec_free(s);
    }

    s = parse_ok(RES("'memory':{'limit':-1,'swap':9223372036854775807},'pids':{'limit':-1},"
                     "'devices':[{'allow':true,'type':'c','major':-1,'minor':5,'access':'mwr'}],"
                     "'rdma':{'b':{'hcaHandles':1},'a':{'hcaHandles':2},'b':{'hcaObjects':3}}"));
    CHECK(s != NULL);
    if (s) {
        const struct spec_resources *res = s->linux_.resources;
        CHECK_INT(res->memory.limit.v, -1);
        CHECK(res->memory.swap.v == INT64_MAX);
        CHECK(res->pids.set);
        CHECK_INT(res->pids.limit, -1);
        CHECK_STR(res->devices[0].access, "rwm");
        CHECK_INT(res->devices[0].minor, 5);
        CHECK_INT(res->n_rdma, 2);
        CHECK_STR(res->rdma[0].device, "a");
        CHECK_STR(res->rdma[1].device, "b");
        CHECK(!res->rdma[1].hca_handles.set);
        CHECK_INT(res->rdma[1].hca_objects.v, 3);
        spec_free(s);
    }
}

/* update --resources: the document is the resources object, paths start at "." */
static void test_resources_document(void)
{
    struct arena a = {0};
    struct jctx c = {.what = "resources.json", .arena = &a};
    struct spec_resources res;
    struct json *v;

    CHECK_INT(json_parse(&a, "{\"memory\":{\"limit\":\"x\"}}", 24, "resources.json", &v), 0);
    CHECK_INT(spec_parse_resources(&c, v, NULL, &res), -EINVAL);
    CHECK_STR(err_msg(), "resources.json: .memory.limit: expected integer");

    const char *ok = "{\"cpu\":{\"cpus\":\"0-1\",\"mems\":\"\"},\"pids\":{\"limit\":100},"
                     "\"unified\":{\"cpu.weight\":\"50\"}}";
    CHECK_INT(json_parse(&a, ok, strlen(ok), "resources.json", &v), 0);
    CHECK_INT(spec_parse_resources(&c, v, NULL, &res), 0);
    CHECK(res.has_cpu && !res.has_memory && !res.has_block_io);
    CHECK_STR(res.cpu.cpus, "0-1");
    CHECK(res.cpu.mems == NULL);
    CHECK_INT(res.pids.limit, 100);
    CHECK_INT(res.n_unified, 1);

    CHECK_INT(json_parse(&a, "[]", 2, "resources.json", &v), 0);
    CHECK_INT(spec_parse_resources(&c, v, NULL, &res), -EINVAL);
    CHECK_STR(err_msg(), "resources.json: .: expected object");
    arena_free(&a);
}

/* ---- every 1.3 field ---- */

static void check_full_process(const struct spec_process *p)
{
    CHECK(p->terminal);
    CHECK(p->has_console_size);
    CHECK_INT(p->console_height, 25);
    CHECK_INT(p->console_width, 80);
    CHECK_INT(p->user.uid, 1000);
    CHECK_INT(p->user.gid, 1001);
    CHECK(p->user.umask.set);
    CHECK_INT(p->user.umask.v, 18);
    CHECK_INT(p->user.n_additional_gids, 3);
    CHECK(p->user.additional_gids[2] == UINT32_MAX);
    CHECK_INT(p->n_args, 3);
    CHECK_STR(p->args[2], "echo hello");
    CHECK(p->args[3] == NULL);
    CHECK_INT(p->n_env, 3);
    CHECK_STR(p->env[2], "WITH_EQUALS=a=b");
    CHECK_STR(p->cwd, "/work");

    const struct spec_capabilities *caps = p->capabilities;
    CHECK(caps->sets[CAPSET_BOUNDING] ==
          ((UINT64_C(1) << 0) | (UINT64_C(1) << 5) | (UINT64_C(1) << 40)));
    CHECK(caps->sets[CAPSET_EFFECTIVE] == (UINT64_C(1) << 5));
    CHECK(caps->present[CAPSET_INHERITABLE] && caps->sets[CAPSET_INHERITABLE] == 0);
    CHECK(caps->sets[CAPSET_PERMITTED] == ((UINT64_C(1) << 5) | (UINT64_C(1) << 10)));
    CHECK(caps->sets[CAPSET_AMBIENT] == (UINT64_C(1) << 10));
    for (int k = 0; k < CAPSET__COUNT; k++)
        CHECK(caps->present[k]);

    CHECK_INT(p->n_rlimits, 2);
    CHECK_INT(p->rlimits[0].resource, RLIMIT_NOFILE);
    CHECK_INT(p->rlimits[0].soft, 512);
    CHECK_INT(p->rlimits[1].resource, RLIMIT_CORE);
    CHECK(p->rlimits[1].hard == UINT64_MAX);
    CHECK(p->no_new_privileges);
    CHECK_STR(p->apparmor_profile, "berth-default");
    CHECK_STR(p->selinux_label, "system_u:system_r:container_t:s0:c1,c2");
    CHECK(p->oom_score_adj.set);
    CHECK_INT(p->oom_score_adj.v, -500);

    const struct spec_scheduler *sch = p->scheduler;
    CHECK_INT(sch->policy, 6); /* SCHED_DEADLINE */
    CHECK_INT(sch->nice, -5);
    CHECK_INT(sch->priority, 0);
    CHECK_INT(sch->flags, 0x01 | 0x04);
    CHECK_INT(sch->runtime, 1000000);
    CHECK_INT(sch->deadline, 2000000);
    CHECK_INT(sch->period, 3000000);
    CHECK_INT(p->io_priority->class, 2);
    CHECK_INT(p->io_priority->priority, 4);
    CHECK_STR(p->exec_cpu_affinity->initial, "0-3,7");
    CHECK_STR(p->exec_cpu_affinity->final, "1");
}

static void check_full_mounts_hooks(const struct spec *s)
{
    CHECK_INT(s->n_mounts, 3);
    const struct spec_mount *m = &s->mounts[1];
    CHECK_STR(m->destination, "/data");
    CHECK_STR(m->source, "/srv/data");
    CHECK_INT(m->n_options, 7);
    CHECK(m->bind && m->recursive_bind && m->idmap && !m->ridmap);
    CHECK_INT(m->flags, MS_BIND | MS_REC | MS_RDONLY);
    CHECK_INT(m->propagation, MS_PRIVATE | MS_REC);
    CHECK_INT(m->rec_attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
    CHECK_INT(m->rec_attr_clr, MOUNT_ATTR__ATIME);
    CHECK_INT(m->n_uid_mappings, 1);
    CHECK_INT(m->uid_mappings[0].host_id, 100000);
    CHECK_INT(m->gid_mappings[0].size, 65536);
    CHECK_STR(s->mounts[2].data, "mode=1777,size=10m");

    for (int k = 0; k < HOOK__COUNT; k++)
        CHECK(s->hooks.n[k] >= 1);
    CHECK_STR(s->hooks.list[HOOK_PRESTART][0].path, "/usr/bin/prestart");
    const struct spec_hook *h = &s->hooks.list[HOOK_CREATE_RUNTIME][0];
    CHECK_INT(h->n_args, 2);
    CHECK_STR(h->args[1], "create-runtime");
    CHECK_STR(h->env[0], "A=1");
    CHECK_INT(h->timeout, 5);
    CHECK_INT(s->hooks.n[HOOK_POSTSTOP], 2);
    CHECK_INT(s->hooks.list[HOOK_POSTSTOP][1].timeout, 30);
    CHECK_INT(s->hooks.list[HOOK_POSTSTOP][0].timeout, 0);

    CHECK_INT(s->n_annotations, 3);
    CHECK_STR(s->annotations[0].key, "org.example.a");
    CHECK_STR(s->annotations[1].key, "org.example.b");
    CHECK_STR(spec_annotation(s, "org.opencontainers.image.title"), "full");
    CHECK(spec_annotation(s, "org.example") == NULL);
}

static void check_full_resources(const struct spec_resources *r)
{
    CHECK_INT(r->n_devices, 3);
    CHECK(!r->devices[0].allow);
    CHECK_INT(r->devices[0].type, 'a');
    CHECK_INT(r->devices[1].type, 'c');
    CHECK_INT(r->devices[1].major, 10);
    CHECK_INT(r->devices[1].minor, 229);
    CHECK_STR(r->devices[1].access, "rm");
    CHECK_INT(r->devices[2].minor, -1);
    CHECK_STR(r->devices[2].access, "rwm");

    CHECK(r->has_memory);
    CHECK_INT(r->memory.limit.v, 536870912);
    CHECK_INT(r->memory.reservation.v, 268435456);
    CHECK_INT(r->memory.swap.v, -1);
    CHECK(r->memory.kernel_tcp.set && r->memory.kernel_tcp.v == 0);
    CHECK_INT(r->memory.swappiness.v, 60);
    CHECK(r->memory.disable_oom_killer.set && !r->memory.disable_oom_killer.v);
    CHECK(r->memory.use_hierarchy.v && r->memory.check_before_update.v);

    CHECK(r->has_cpu);
    CHECK_INT(r->cpu.shares.v, 1024);
    CHECK_INT(r->cpu.quota.v, 100000);
    CHECK_INT(r->cpu.burst.v, 50000);
    CHECK_INT(r->cpu.period.v, 100000);
    CHECK_INT(r->cpu.realtime_runtime.v, 950000);
    CHECK_INT(r->cpu.realtime_period.v, 1000000);
    CHECK_STR(r->cpu.cpus, "0-3");
    CHECK_STR(r->cpu.mems, "0");
    CHECK_INT(r->cpu.idle.v, 1);
    CHECK(r->pids.set);
    CHECK_INT(r->pids.limit, 32771);

    const struct spec_block_io *b = &r->block_io;
    CHECK(r->has_block_io);
    CHECK_INT(b->weight.v, 500);
    CHECK_INT(b->leaf_weight.v, 300);
    CHECK_INT(b->n_weight_devices, 1);
    CHECK_INT(b->weight_devices[0].weight.v, 600);
    CHECK(!b->weight_devices[0].leaf_weight.set);
    for (int k = 0; k < THROTTLE__COUNT; k++)
        CHECK_INT(b->n_throttle[k], 1);
    CHECK_INT(b->throttle[THROTTLE_READ_BPS][0].rate, 1048576);
    CHECK_INT(b->throttle[THROTTLE_WRITE_BPS][0].minor, 16);
    CHECK_INT(b->throttle[THROTTLE_WRITE_IOPS][0].rate, 200);

    CHECK_INT(r->n_hugepage_limits, 2);
    CHECK_STR(r->hugepage_limits[1].page_size, "1GB");
    CHECK_INT(r->hugepage_limits[0].limit, 209715200);
    CHECK_INT(r->net_class_id.v, 1048577);
    CHECK_INT(r->n_net_priorities, 1);
    CHECK_STR(r->net_priorities[0].name, "eth0");
    CHECK_INT(r->net_priorities[0].priority, 500);
    CHECK_INT(r->n_rdma, 2);
    CHECK_STR(r->rdma[0].device, "mlx4_0");
    CHECK(!r->rdma[0].hca_handles.set);
    CHECK_INT(r->rdma[1].hca_handles.v, 3);
    CHECK_INT(r->n_unified, 2);
    CHECK_STR(r->unified[0].key, "io.max");
    CHECK_STR(r->unified[1].value, "1073741824");
}

static void check_full_linux(const struct spec *s)
{
    const struct spec_linux *l = &s->linux_;
    CHECK_INT(l->n_uid_mappings, 2);
    CHECK_INT(l->uid_mappings[1].container_id, 1);
    CHECK_INT(l->uid_mappings[1].size, 65536);
    CHECK_INT(l->n_gid_mappings, 1);
    CHECK_INT(l->n_sysctl, 2);
    CHECK_STR(l->sysctl[0].key, "kernel.shmmax");
    CHECK_STR(l->sysctl[1].value, "1");
    check_full_resources(l->resources);
    CHECK_STR(l->cgroups_path, "/berth/full");

    CHECK_INT(l->n_namespaces, 8);
    for (int t = 0; t < NS__COUNT; t++)
        CHECK(s->ns[t] != NULL && s->ns[t]->type == (enum ns_type)t);
    CHECK_STR(s->ns[NS_UTS]->path, "/proc/1/ns/uts");
    CHECK(s->ns[NS_USER]->path == NULL);
    CHECK(s->ns[NS_NET] == &l->namespaces[1]);

    CHECK_INT(l->n_devices, 2);
    CHECK_INT(l->devices[0].type, 'c');
    CHECK_INT(l->devices[0].file_mode.v, 438);
    CHECK(l->devices[0].uid.set && l->devices[0].gid.set);
    CHECK_INT(l->devices[1].type, 'p');
    CHECK(!l->devices[1].file_mode.set);

    const struct spec_seccomp *sc = l->seccomp;
    CHECK_INT(sc->default_action, SECCOMP_ACT_ERRNO);
    CHECK_INT(sc->default_errno_ret.v, 1);
    CHECK_INT(sc->n_architectures, 3);
    CHECK_STR(sc->architectures[2], "SCMP_ARCH_AARCH64");
    CHECK_INT(sc->flags, SECCOMP_FLAG_LOG | SECCOMP_FLAG_SPEC_ALLOW);
    CHECK_STR(sc->listener_path, "/run/seccomp-agent.sock");
    CHECK_STR(sc->listener_metadata, "meta");
    CHECK_INT(sc->n_syscalls, 4);
    CHECK_INT(sc->syscalls[0].n_names, 2);
    CHECK_STR(sc->syscalls[0].names[1], "write");
    CHECK_INT(sc->syscalls[1].n_args, 2);
    CHECK_INT(sc->syscalls[1].args[1].index, 5);
    CHECK(sc->syscalls[1].args[1].value_two == UINT64_MAX);
    CHECK_INT(sc->syscalls[1].args[1].op, SECCOMP_OP_MASKED_EQ);
    CHECK_INT(sc->syscalls[1].args[0].op, SECCOMP_OP_EQ);
    CHECK(sc->syscalls[2].errno_ret.set);
    CHECK_INT(sc->syscalls[2].errno_ret.v, 38);
    CHECK_INT(sc->syscalls[3].action, SECCOMP_ACT_NOTIFY);

    CHECK_INT(l->rootfs_propagation, MS_SLAVE | MS_REC);
    CHECK_INT(l->n_masked_paths, 2);
    CHECK_STR(l->readonly_paths[0], "/proc/sys");
    CHECK_STR(l->mount_label, "system_u:object_r:container_file_t:s0");

    const struct spec_intel_rdt *rdt = l->intel_rdt;
    CHECK_STR(rdt->clos_id, "guaranteed_group");
    CHECK_INT(rdt->n_schemata, 2);
    CHECK_STR(rdt->schemata[1], "MB:0=20;1=70");
    CHECK_STR(rdt->l3_cache_schema, "L3:0=ffff0");
    CHECK_STR(rdt->mem_bw_schema, "MB:0=20");
    CHECK(rdt->enable_cmt && rdt->enable_mbm && rdt->enable_monitoring);

    CHECK_INT(l->personality->domain, PER_LINUX32);
    CHECK(l->time_offsets[0].set);
    CHECK_INT(l->time_offsets[0].secs, -86400);
    CHECK_INT(l->time_offsets[0].nanosecs, 500);
    CHECK(l->time_offsets[1].set);
    CHECK_INT(l->time_offsets[1].secs, 3600);
    CHECK_INT(l->time_offsets[1].nanosecs, 0);

    CHECK_INT(l->memory_policy->mode, 2);
    CHECK_STR(l->memory_policy->nodes, "0-1");
    CHECK_INT(l->memory_policy->flags, (1 << 15) | (1 << 13));

    CHECK_INT(l->n_net_devices, 2);
    CHECK_STR(l->net_devices[0].host_name, "dummy0");
    CHECK_STR(l->net_devices[0].name, "dummy0");
    CHECK_STR(l->net_devices[1].host_name, "eth1");
    CHECK_STR(l->net_devices[1].name, "ctr0");
}

static void test_full_config(void)
{
    size_t len;
    _cleanup_free_ char *text = read_data("config-full.json", &len);
    struct spec *s;
    int r = parse(text, len, &s);
    if (r < 0)
        printf("#   %s\n", err_msg());
    CHECK_INT(r, 0);
    if (r < 0)
        return;
    CHECK_STR(s->oci_version, "1.3.0");
    CHECK_STR(s->root_path, "rootfs");
    CHECK(s->root_readonly);
    CHECK_STR(s->hostname, "full");
    CHECK_STR(s->domainname, "example.org");
    check_full_process(s->process);
    check_full_mounts_hooks(s);
    check_full_linux(s);
    spec_free(s);
}

/* ---- robustness ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    /* xorshift64*: deterministic, so a failure reproduces */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rnd(size_t n)
{
    return n ? (size_t)(rng() % n) : 0;
}

static size_t mutate(char *buf, size_t len, size_t cap)
{
    static const char interesting[] = "{}[]\":,0123456789-+.eE tfnul\\/\x00\xff\xc3";
    switch (rnd(7)) {
    case 0: /* flip a bit */
        if (len)
            buf[rnd(len)] ^= (char)(1u << rnd(8));
        break;
    case 1: /* replace a byte with a structural one */
        if (len)
            buf[rnd(len)] = interesting[rnd(sizeof(interesting) - 1)];
        break;
    case 2: /* insert a byte */
        if (len < cap) {
            size_t at = rnd(len + 1);
            memmove(buf + at + 1, buf + at, len - at);
            buf[at] = interesting[rnd(sizeof(interesting) - 1)];
            len++;
        }
        break;
    case 3: /* delete a byte */
        if (len) {
            size_t at = rnd(len);
            memmove(buf + at, buf + at + 1, len - at - 1);
            len--;
        }
        break;
    case 4: /* delete a span */
        if (len) {
            size_t at = rnd(len), n = 1 + rnd(32);
            if (n > len - at)
                n = len - at;
            memmove(buf + at, buf + at + n, len - at - n);
            len -= n;
        }
        break;
    case 5: { /* duplicate a span somewhere else */
        size_t n = 1 + rnd(64);
        if (len >= n && len + n <= cap) {
            char tmp[64];
            memcpy(tmp, buf + rnd(len - n + 1), n);
            size_t at = rnd(len + 1);
            memmove(buf + at + n, buf + at, len - at);
            memcpy(buf + at, tmp, n);
            len += n;
        }
        break;
    }
    default: /* a digit run: numbers at and past the type limits */
        if (len) {
            size_t at = rnd(len), n = 1 + rnd(24);
            for (size_t i = 0; i < n && at + i < len; i++)
                buf[at + i] = (char)('0' + rnd(10));
        }
        break;
    }
    return len;
}

static void test_fuzz(void)
{
    size_t base_len;
    _cleanup_free_ char *base = read_data("config-full.json", &base_len);
    const int iterations = 50000;
    const size_t cap = base_len + 4096;
    _cleanup_free_ char *buf = xmalloc(cap);
    int accepted = 0, rejected = 0;

    double t0 = now();
    for (int i = 0; i < iterations; i++) {
        memcpy(buf, base, base_len);
        size_t len = base_len;
        for (size_t k = 1 + rnd(4); k > 0; k--)
            len = mutate(buf, len, cap);

        struct spec *s;
        err_clear();
        int r = parse(buf, len, &s);
        if (r == 0) {
            accepted++;
            /* touch what consumers read */
            CHECK(s->oci_version && s->root_path);
            for (size_t m = 0; m < s->n_mounts; m++)
                CHECK(s->mounts[m].destination[0] == '/');
            (void)spec_annotation(s, "org.example.a");
            spec_free(s);
        } else {
            rejected++;
            CHECK(s == NULL);
            if (r != -EINVAL || !startswith(err_msg(), "config.json: ")) {
                printf("#   iteration %d: r=%d \"%s\"\n", i, r, err_msg());
                CHECK(0);
            }
        }
    }
    double dt = now() - t0;
    printf("#   %d mutated configs: %d accepted, %d rejected in %.2fs\n", iterations, accepted,
           rejected, dt);
    CHECK(accepted > 0 && rejected > 0);
    CHECK(dt < 60.0);
}

/* Huge arrays and maps parse in linear-ish time. */
static void test_huge_configs(void)
{
    const size_t n = 200000;
    size_t cap = n * 128 + 4096, len = 0;
    char *t = xmalloc(cap);
    len += (size_t)sprintf(
            t + len, "{\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"r\"},\"process\":"
                     "{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"sh\"],\"env\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(t + len, "%s\"V%zu=1\"", i ? "," : "", i);
    len += (size_t)sprintf(t + len, "]},\"mounts\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(t + len,
                               "%s{\"destination\":\"/m%zu\",\"options\":[\"ro\",\"x=1\"]}",
                               i ? "," : "", i);
    len += (size_t)sprintf(t + len, "],\"annotations\":{");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(t + len, "%s\"k%zu\":\"v\"", i ? "," : "", (i * 7919) % n);
    len += (size_t)sprintf(t + len, "}}");

    struct spec *s;
    double t0 = now();
    int r = parse(t, len, &s);
    double dt = now() - t0;
    CHECK_INT(r, 0);
    if (r == 0) {
        CHECK_INT(s->process->n_env, n);
        CHECK_INT(s->n_mounts, n);
        CHECK_INT(s->n_annotations, n);
        CHECK_STR(spec_annotation(s, "k199999"), "v");
        CHECK_STR(s->mounts[n - 1].data, "x=1");
        spec_free(s);
    }
    printf("#   %zu env + %zu mounts + %zu annotations (%zu KiB): %.2fs\n", n, n, n, len >> 10, dt);
    CHECK(dt < 10.0);

    /* a late error in a huge array: found without quadratic work */
    len = (size_t)sprintf(
            t, "{\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"seccomp\":"
               "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(t + len, "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\"},");
    len += (size_t)sprintf(t + len, "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_NOPE\"}]}}}");
    t0 = now();
    CHECK_INT(parse(t, len, &s), -EINVAL);
    dt = now() - t0;
    _cleanup_free_ char *want = xasprintf("config.json: .linux.seccomp.syscalls[%zu].action: "
                                          "unknown seccomp action \"SCMP_ACT_NOPE\"",
                                          n);
    CHECK_STR(err_msg(), want);
    CHECK(dt < 10.0);

    /* many namespaces: the duplicate is found at once */
    len = (size_t)sprintf(
            t, "{\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(t + len, "%s{\"type\":\"%s\"}", i ? "," : "",
                               ns_type_name((enum ns_type)(i % NS__COUNT)));
    len += (size_t)sprintf(t + len, "]}}");
    CHECK_INT(parse(t, len, &s), -EINVAL);
    CHECK_STR(err_msg(), "config.json: .linux.namespaces[8].type: duplicate namespace type \"pid\" "
                         "(already at index 0)");
    free(t);
}

/* ---- spec_load ---- */

static void test_load(void)
{
    char dir[] = "/tmp/berth-test-spec.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct spec *s = NULL;

    CHECK_INT(spec_load(dir, &s), -ENOENT);
    CHECK_STR(err_msg(), "config.json: open: No such file or directory");

    _cleanup_free_ char *path = xasprintf("%s/config.json", dir);
    char *def = spec_default_json(false);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    CHECK_INT(write_all(fd, def, strlen(def)), 0);
    close(fd);
    free(def);
    CHECK_INT(spec_load(dir, &s), 0);
    if (s) {
        CHECK_STR(s->hostname, "berth");
        spec_free(s);
        s = NULL;
    }

    /* one byte over 32 MiB */
    CHECK_INT(truncate(path, (32 << 20) + 1), 0);
    CHECK_INT(spec_load(dir, &s), -EFBIG);
    CHECK_STR(err_msg(), "config.json: larger than 32 MiB, refusing to parse it");
    CHECK_INT(truncate(path, 32 << 20), 0); /* exactly the limit is read (and is not JSON) */
    CHECK_INT(spec_load(dir, &s), -EINVAL);
    CHECK_CONTAINS(err_msg(), "config.json: invalid JSON");
    CHECK_INT(unlink(path), 0);

    CHECK_INT(mkdir(path, 0755), 0);
    CHECK_INT(spec_load(dir, &s), -EINVAL);
    CHECK_STR(err_msg(), "config.json: not a regular file");
    CHECK_INT(rmdir(path), 0);

    CHECK_INT(mkfifo(path, 0600), 0);
    CHECK_INT(spec_load(dir, &s), -EINVAL); /* must not block */
    CHECK_STR(err_msg(), "config.json: not a regular file");
    CHECK_INT(unlink(path), 0);
    CHECK_INT(rmdir(dir), 0);
    CHECK(s == NULL);
}

/* ---- names ---- */

static void test_names(void)
{
    static const char *const oci[NS__COUNT] = {"pid", "network", "mount",  "ipc",
                                               "uts", "user",    "cgroup", "time"};
    static const char *const proc[NS__COUNT] = {"pid", "net",  "mnt",    "ipc",
                                                "uts", "user", "cgroup", "time"};
    static const int clone[NS__COUNT] = {CLONE_NEWPID, CLONE_NEWNET,  CLONE_NEWNS,     CLONE_NEWIPC,
                                         CLONE_NEWUTS, CLONE_NEWUSER, CLONE_NEWCGROUP, 0x80};
    for (int t = 0; t < NS__COUNT; t++) {
        CHECK_STR(ns_type_name(t), oci[t]);
        CHECK_STR(ns_proc_name(t), proc[t]);
        CHECK_INT(ns_clone_flag(t), clone[t]);
    }
    CHECK(ns_type_name(NS__COUNT) == NULL);
    CHECK_INT(ns_clone_flag(NS__COUNT), 0);

    static const char *const hooks[HOOK__COUNT] = {"prestart",        "createRuntime",
                                                   "createContainer", "startContainer",
                                                   "poststart",       "poststop"};
    for (int k = 0; k < HOOK__COUNT; k++)
        CHECK_STR(hook_kind_name(k), hooks[k]);
    CHECK(hook_kind_name(HOOK__COUNT) == NULL);

    for (int cap = 0; cap <= 40; cap++) {
        const char *name = capability_name(cap);
        CHECK(name != NULL);
        if (name)
            CHECK_INT(capability_from_name(name), cap);
    }
    CHECK_STR(capability_name(0), "CAP_CHOWN");
    CHECK_STR(capability_name(21), "CAP_SYS_ADMIN");
    CHECK_STR(capability_name(40), "CAP_CHECKPOINT_RESTORE");
    CHECK(capability_name(41) == NULL);
    CHECK(capability_name(-1) == NULL);
    CHECK_INT(capability_from_name("CAP_SYS_ADMIN"), 21);
    CHECK_INT(capability_from_name("SYS_ADMIN"), -1);
    CHECK_INT(capability_from_name("CAP_"), -1);
    CHECK_INT(capability_from_name(NULL), -1);

    CHECK_INT(rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
    CHECK_INT(rlimit_from_name("RLIMIT_AS"), RLIMIT_AS);
    CHECK_INT(rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
    CHECK_INT(rlimit_from_name("RLIMIT_STACK"), RLIMIT_STACK);
    CHECK_INT(rlimit_from_name("NOFILE"), -1);
    CHECK_INT(rlimit_from_name("RLIMIT_NOFILES"), -1);
}

static void test_cpu_lists(void)
{
    static const char *const valid[] = {"0",   "7",      "0-3", "0-3,7", "1,2,3", "0-1023:2/256",
                                        "0-0", "1000000"};
    static const char *const invalid[] = {
            "",   "a",       "0-",      "-1",    "3-1",    "0,,1",     "0,",  ",0",   " 0",
            "0 ", "0-3:0/1", "0-3:3/2", "0-3:1", "0-3:1/", "12345678", "0x1", "1-2-3"};
    for (size_t i = 0; i < ARRAY_SIZE(valid); i++)
        if (!cpu_list_valid(valid[i])) {
            printf("#   \"%s\" should be valid\n", valid[i]);
            CHECK(0);
        }
    for (size_t i = 0; i < ARRAY_SIZE(invalid); i++)
        if (cpu_list_valid(invalid[i])) {
            printf("#   \"%s\" should be invalid\n", invalid[i]);
            CHECK(0);
        }
    CHECK(!cpu_list_valid(NULL));
}

UNIT_MAIN(UNIT(test_default_spec), UNIT(test_default_spec_rootless), UNIT(test_versions),
          UNIT(test_broken_configs), UNIT(test_null_is_absent), UNIT(test_small_accepted),
          UNIT(test_resources_document), UNIT(test_full_config), UNIT(test_fuzz),
          UNIT(test_huge_configs), UNIT(test_load), UNIT(test_names), UNIT(test_cpu_lists))
