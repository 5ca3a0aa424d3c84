/* update, pause, resume, events, ps */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/util.h"

/* ---- update ---- */

enum {
    U_RESOURCES = 'r',
    U_BLKIO_WEIGHT = 1000,
    U_CPU_PERIOD,
    U_CPU_QUOTA,
    U_CPU_BURST,
    U_CPU_RT_PERIOD,
    U_CPU_RT_RUNTIME,
    U_CPU_SHARE,
    U_CPUSET_CPUS,
    U_CPUSET_MEMS,
    U_KERNEL_MEMORY,
    U_KERNEL_TCP,
    U_MEMORY,
    U_MEMORY_RESERVATION,
    U_MEMORY_SWAP,
    U_PIDS_LIMIT
};

/* One command-line setting: the resources object, member, field, and how to read the value. */
struct update_field {
    int opt;
    const char *flag, *object, *field;
    enum { V_SIZE, V_INT, V_UINT, V_STRING } kind;
    const char *value;
};

static struct update_field update_fields[] = {
        {U_BLKIO_WEIGHT, "blkio-weight", "blockIO", "weight", V_UINT, NULL},
        {U_CPU_PERIOD, "cpu-period", "cpu", "period", V_UINT, NULL},
        {U_CPU_QUOTA, "cpu-quota", "cpu", "quota", V_INT, NULL},
        {U_CPU_BURST, "cpu-burst", "cpu", "burst", V_UINT, NULL},
        {U_CPU_RT_PERIOD, "cpu-rt-period", "cpu", "realtimePeriod", V_UINT, NULL},
        {U_CPU_RT_RUNTIME, "cpu-rt-runtime", "cpu", "realtimeRuntime", V_INT, NULL},
        {U_CPU_SHARE, "cpu-share", "cpu", "shares", V_UINT, NULL},
        {U_CPUSET_CPUS, "cpuset-cpus", "cpu", "cpus", V_STRING, NULL},
        {U_CPUSET_MEMS, "cpuset-mems", "cpu", "mems", V_STRING, NULL},
        {U_KERNEL_MEMORY, "kernel-memory", "memory", "kernel", V_SIZE, NULL},
        {U_KERNEL_TCP, "kernel-memory-tcp", "memory", "kernelTCP", V_SIZE, NULL},
        {U_MEMORY, "memory", "memory", "limit", V_SIZE, NULL},
        {U_MEMORY_RESERVATION, "memory-reservation", "memory", "reservation", V_SIZE, NULL},
        {U_MEMORY_SWAP, "memory-swap", "memory", "swap", V_SIZE, NULL},
        {U_PIDS_LIMIT, "pids-limit", "pids", "limit", V_INT, NULL},
};

/* "512", "64k", "1.5g", "100MiB", "-1" (unlimited) -> bytes, as runc's flags take them. */
static int parse_size(const char *s, int64_t *out)
{
    if (streq(s, "-1")) {
        *out = -1;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isdigit((unsigned char)s[0]))
        return -EINVAL;
    while (*end == ' ')
        end++;
    double mult = 1;
    switch (tolower((unsigned char)*end)) {
    case 'k': mult = 1024.0; break;
    case 'm': mult = 1024.0 * 1024; break;
    case 'g': mult = 1024.0 * 1024 * 1024; break;
    case 't': mult = 1024.0 * 1024 * 1024 * 1024; break;
    case 'p': mult = 1024.0 * 1024 * 1024 * 1024 * 1024; break;
    case '\0': break;
    case 'b': end--; break;
    default: return -EINVAL;
    }
    end++;
    if (*end == 'i' || *end == 'I')
        end++;
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end || v * mult > 9.2e18)
        return -EINVAL;
    *out = (int64_t)(v * mult);
    return 0;
}

static int write_field(struct jw *w, const struct update_field *f)
{
    int64_t i;
    uint64_t u;
    jw_key(w, f->field);
    switch (f->kind) {
    case V_SIZE:
        if (parse_size(f->value, &i) < 0)
            return -EINVAL;
        jw_int(w, i);
        return 0;
    case V_INT:
        if (parse_i64(f->value, &i) < 0)
            return -EINVAL;
        jw_int(w, i);
        return 0;
    case V_UINT:
        if (parse_u64(f->value, &u) < 0)
            return -EINVAL;
        jw_uint(w, u);
        return 0;
    case V_STRING: jw_string(w, f->value); return 0;
    }
    return -EINVAL;
}

/* The flags as an OCI resources object: {"memory":{"limit":..},"cpu":{..},..}. */
static int flags_json(const struct cli *cli, char **out)
{
    static const char *const objects[] = {"memory", "cpu", "pids", "blockIO"};
    struct jw w;
    jw_init(&w, NULL);
    jw_object_begin(&w);
    for (size_t o = 0; o < ARRAY_SIZE(objects); o++) {
        bool open = false;
        for (size_t i = 0; i < ARRAY_SIZE(update_fields); i++) {
            const struct update_field *f = &update_fields[i];
            if (!f->value || !streq(f->object, objects[o]))
                continue;
            if (!open) {
                jw_key(&w, objects[o]);
                jw_object_begin(&w);
                open = true;
            }
            if (write_field(&w, f) < 0) {
                jw_free(&w);
                return cli_usage_error(cli, "--%s: invalid value \"%s\"", f->flag, f->value);
            }
        }
        if (open)
            jw_object_end(&w);
    }
    jw_object_end(&w);
    *out = jw_steal(&w, NULL);
    return 0;
}

static int update_opt(struct cli *cli, int opt, const char *arg, void *data)
{
    if (opt == U_RESOURCES) {
        *(const char **)data = arg;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(update_fields); i++)
        if (update_fields[i].opt == opt)
            update_fields[i].value = arg;
    return 0;
}

static int read_resources(const char *path, char **out, size_t *len)
{
    int r = streq(path, "-") ? read_all_fd(STDIN_FILENO, 16 << 20, out, len)
                             : read_file_at(AT_FDCWD, path, 16 << 20, out, len);
    return r < 0 ? err_set(r, "--resources: read %s", streq(path, "-") ? "stdin" : path) : 0;
}

/* --resources first, flags on top (flags win, as in runc). */
static int update_document(struct cli *cli, const char *file, char **out, size_t *len)
{
    _cleanup_free_ char *flags = NULL;
    if (flags_json(cli, &flags) < 0)
        return -1;
    if (!file) {
        *len = strlen(flags);
        *out = TAKE_PTR(flags);
        return 0;
    }
    _cleanup_free_ char *text = NULL;
    size_t n;
    if (read_resources(file, &text, &n) < 0)
        return cli_fail(cli, NULL), -1;
    struct arena a = {0};
    struct json *base, *patch;
    int r = json_parse(&a, text, n, "--resources", &base);
    if (r == 0)
        r = json_parse(&a, flags, strlen(flags), "flags", &patch);
    if (r < 0) {
        arena_free(&a);
        return cli_fail(cli, NULL), -1;
    }
    struct jw w;
    jw_init(&w, NULL);
    jw_value(&w, json_merge(&a, base, patch));
    arena_free(&a);
    *out = jw_steal(&w, len);
    return 0;
}

static int cmd_update_run(struct cli *cli, int argc, char **argv)
{
    struct option opts[ARRAY_SIZE(update_fields) + 3];
    size_t n = 0;
    opts[n++] = (struct option){"resources", required_argument, NULL, U_RESOURCES};
    for (size_t i = 0; i < ARRAY_SIZE(update_fields); i++)
        opts[n++] = (struct option){update_fields[i].flag, required_argument, NULL,
                                    update_fields[i].opt};
    opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    opts[n] = (struct option){0};
    const char *file = NULL;
    int r = cli_parse(cli, &cmd_update, argc, argv, "r:", opts, update_opt, &file);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 1, "the container id") < 0)
        return 1;
    const char *id = argv[optind];
    _cleanup_free_ char *doc = NULL;
    size_t len;
    if (update_document(cli, file, &doc, &len) < 0)
        return 1;
    if (container_update(&cli->rt, id, doc, len) < 0)
        return cli_fail(cli, id);
    return 0;
}

const struct command cmd_update = {
        "update", cmd_update_run, "change the resource limits of a running container",
        "Usage: berth update [options] <container-id>\n\n"
        "Apply new limits to a created, running or paused container. Only what is given\n"
        "changes; the result is kept for the next update.\n\n"
        "Options:\n"
        "   --resources value, -r value  OCI resources JSON file (\"-\" reads stdin); flags\n"
        "                                given too take precedence\n"
        "   --memory value               memory limit (bytes, or with k/m/g suffix; -1: none)\n"
        "   --memory-reservation value   memory soft limit\n"
        "   --memory-swap value          memory plus swap limit\n"
        "   --kernel-memory value        (ignored by current kernels)\n"
        "   --kernel-memory-tcp value    kernel TCP buffer limit (cgroup v1)\n"
        "   --cpu-share value            CPU shares (relative weight)\n"
        "   --cpu-quota value            CPU time in microseconds per period (-1: none)\n"
        "   --cpu-period value           CPU period in microseconds\n"
        "   --cpu-burst value            CPU burst in microseconds\n"
        "   --cpu-rt-period value        realtime period (cgroup v1)\n"
        "   --cpu-rt-runtime value       realtime runtime (cgroup v1)\n"
        "   --cpuset-cpus value          CPUs to run on, e.g. 0-3,7\n"
        "   --cpuset-mems value          memory nodes to use\n"
        "   --pids-limit value           maximum number of processes (-1 or 0: none)\n"
        "   --blkio-weight value         block I/O weight\n"};

/* ---- pause, resume ---- */

static int pause_common(struct cli *cli, const struct command *cmd, int argc, char **argv, bool p)
{
    int r = cli_parse(cli, cmd, argc, argv, NULL, NULL, NULL, NULL);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 1, "the container id") < 0)
        return 1;
    if (container_pause(&cli->rt, argv[optind], p) < 0)
        return cli_fail(cli, argv[optind]);
    return 0;
}

static int cmd_pause_run(struct cli *cli, int argc, char **argv)
{
    return pause_common(cli, &cmd_pause, argc, argv, true);
}

static int cmd_resume_run(struct cli *cli, int argc, char **argv)
{
    return pause_common(cli, &cmd_resume, argc, argv, false);
}

const struct command cmd_pause = {"pause", cmd_pause_run, "freeze every process of a container",
                                  "Usage: berth pause <container-id>\n\n"
                                  "Freeze the container's processes (cgroup freezer).\n"};
const struct command cmd_resume = {"resume", cmd_resume_run, "thaw a paused container",
                                   "Usage: berth resume <container-id>\n\n"
                                   "Let a paused container's processes run again.\n"};

/* ---- events ---- */

struct events_args {
    bool stats;
    long interval_ms;
};

/* Go durations as runc takes them: "5s", "100ms", "1m", "1.5s". */
static long parse_duration_ms(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    if (streq(end, "ms"))
        return (long)v;
    if (streq(end, "s") || !*end)
        return (long)(v * 1000);
    if (streq(end, "m"))
        return (long)(v * 60000);
    if (streq(end, "h"))
        return (long)(v * 3600000);
    return -1;
}

static int events_opt(struct cli *cli, int opt, const char *arg, void *data)
{
    struct events_args *a = data;
    if (opt == 's') {
        a->stats = true;
        return 0;
    }
    a->interval_ms = parse_duration_ms(arg);
    if (a->interval_ms <= 0)
        return cli_usage_error(cli, "--interval: \"%s\" is not a duration like 5s or 500ms", arg);
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_event(const char *json)
{
    fputs(json, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* Stats every interval and an "oom" event as soon as the kernel OOM-kills inside; ends when
 * the container stops. */
static int stream_events(struct cli *cli, const char *id, long interval_ms)
{
    uint64_t ooms = 0, seen = 0;
    bool first = true;
    int64_t next = now_ms();
    for (;;) {
        _cleanup_free_ char *json = NULL;
        if (container_stats_json(&cli->rt, id, &json, &ooms) < 0) {
            /* the container stopped, or was deleted while we watched: the stream ends */
            if (!first && (err_code() == ESRCH || err_code() == ENOENT))
                return 0;
            return err_code() == ESRCH ? 0 : cli_fail(cli, id);
        }
        if (!first && ooms > seen) {
            char oom[1200];
            snprintf(oom, sizeof(oom), "{\"type\":\"oom\",\"id\":\"%s\"}", id);
            print_event(oom);
        }
        seen = ooms;
        first = false;
        if (now_ms() >= next) {
            print_event(json);
            next += interval_ms;
        }
        usleep(100 * 1000);
    }
}

static int cmd_events_run(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"stats", no_argument, NULL, 's'},
                                         {"interval", required_argument, NULL, 'i'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    struct events_args a = {.interval_ms = 5000};
    int r = cli_parse(cli, &cmd_events, argc, argv, NULL, opts, events_opt, &a);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 1, "the container id") < 0)
        return 1;
    const char *id = argv[optind];
    if (!a.stats)
        return stream_events(cli, id, a.interval_ms);
    _cleanup_free_ char *json = NULL;
    if (container_stats_json(&cli->rt, id, &json, NULL) < 0)
        return cli_fail(cli, id);
    print_event(json);
    return 0;
}

const struct command cmd_events = {
        "events", cmd_events_run, "show a container's resource usage and OOM events",
        "Usage: berth events [options] <container-id>\n\n"
        "Stream resource statistics every interval, and an {\"type\":\"oom\"} event when the\n"
        "kernel OOM-kills a process in the container, until it stops.\n\n"
        "Options:\n"
        "   --stats            print the statistics once and exit\n"
        "   --interval value   time between statistics (default: 5s)\n"};

/* ---- ps ---- */

static int ps_opt(struct cli *cli, int opt, const char *arg, void *data)
{
    if (streq(arg, "json"))
        *(bool *)data = true;
    else if (!streq(arg, "table"))
        return cli_usage_error(cli, "--format must be table or json, not \"%s\"", arg);
    return 0;
}

static bool pid_listed(const pid_t *pids, size_t n, long pid)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

/* Like runc: run ps(1) with the given options and keep the header and the container's rows. */
static int ps_table(struct cli *cli, const pid_t *pids, size_t n, char **ps_args)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return err_set(errno, "pipe"), cli_fail(cli, NULL);
    pid_t child = fork();
    if (child == 0) {
        dup2(fds[1], STDOUT_FILENO);
        execvp("ps", ps_args);
        dprintf(STDERR_FILENO, "berth: ps: exec ps: %s\n", strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    _cleanup_free_ char *out = NULL;
    read_all_fd(fds[0], 64 << 20, &out, NULL);
    close(fds[0]);
    int status;
    waitpid(child, &status, 0);
    if (!out || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return err_setx(EIO, "ps failed"), cli_fail(cli, NULL);
    char *save = NULL;
    int pid_col = -1;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        _cleanup_free_ char *copy = xstrdup(line);
        char *fsave = NULL, *f = strtok_r(copy, " \t", &fsave);
        if (pid_col < 0) {
            for (int col = 0; f; col++, f = strtok_r(NULL, " \t", &fsave))
                if (streq(f, "PID"))
                    pid_col = col;
            puts(line);
            if (pid_col < 0)
                return err_setx(EINVAL, "ps output has no PID column"), cli_fail(cli, NULL);
            continue;
        }
        for (int col = 0; f && col < pid_col; col++)
            f = strtok_r(NULL, " \t", &fsave);
        if (f && pid_listed(pids, n, strtol(f, NULL, 10)))
            puts(line);
    }
    return 0;
}

static int cmd_ps_run(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
            {"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
    bool json = false;
    int r = cli_parse(cli, &cmd_ps, argc, argv, "f:", opts, ps_opt, &json);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (argc - optind < 1) {
        cli_usage_error(cli, "requires the container id");
        return 1;
    }
    const char *id = argv[optind];
    _cleanup_free_ pid_t *pids = NULL;
    size_t n;
    if (container_pids(&cli->rt, id, &pids, &n) < 0)
        return cli_fail(cli, id);
    if (json) {
        fputc('[', stdout);
        for (size_t i = 0; i < n; i++)
            printf("%s%d", i ? "," : "", (int)pids[i]);
        puts("]");
        return 0;
    }
    char *defaults[] = {"ps", "-ef", NULL};
    int extra = argc - optind - 1;
    char **args = defaults;
    _cleanup_free_ char **custom = NULL;
    if (extra > 0) {
        custom = xcalloc((size_t)extra + 2, sizeof(char *));
        custom[0] = "ps";
        memcpy(custom + 1, argv + optind + 1, (size_t)extra * sizeof(char *));
        args = custom;
    }
    return ps_table(cli, pids, n, args);
}

const struct command cmd_ps = {
        "ps", cmd_ps_run, "list the processes of a container",
        "Usage: berth ps [options] <container-id> [ps options]\n\n"
        "List the container's processes (from its cgroup): ps(1) output (default ps -ef)\n"
        "filtered to them, or a JSON array of pids.\n\n"
        "Options:\n"
        "   --format value, -f value   table or json (default: \"table\")\n"};
