/* create, start, run, kill, delete */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "lib/err.h"
#include "lib/util.h"

enum {
    OPT_BUNDLE = 'b',
    OPT_DETACH = 'd',
    OPT_PID_FILE = 1000,
    OPT_CONSOLE,
    OPT_PRESERVE,
    OPT_NO_PIVOT,
    OPT_NO_KEYRING,
    OPT_KEEP,
    OPT_PIDFD_SOCKET
};

struct create_args {
    struct create_opts o;
    bool detach, keep;
    struct net_flags net; /* --network, --ip, --publish, --egress, --ingress */
};

static int create_opt(struct cli *cli, int opt, const char *arg, void *data)
{
    struct create_args *a = data;
    switch (opt) {
    case OPT_BUNDLE: a->o.bundle = arg; break;
    case OPT_PID_FILE: a->o.pid_file = arg; break;
    case OPT_CONSOLE: a->o.console_socket = arg; break;
    case OPT_PRESERVE: {
        uint64_t n;
        if (parse_u64(arg, &n) < 0 || n > 65536)
            return cli_usage_error(cli, "--preserve-fds: \"%s\" is not a number of fds", arg);
        a->o.preserve_fds = (unsigned)n;
        break;
    }
    case OPT_NO_PIVOT: a->o.no_pivot = true; break;
    case OPT_NO_KEYRING: a->o.no_new_keyring = true; break;
    case OPT_DETACH: a->detach = true; break;
    case OPT_KEEP: a->keep = true; break;
    case OPT_PIDFD_SOCKET: return cli_usage_error(cli, "--pidfd-socket is not supported by berth");
    case OPT_NET_NETWORK:
    case OPT_NET_IP:
    case OPT_NET_PUBLISH:
    case OPT_NET_EGRESS:
    case OPT_NET_INGRESS: return net_flag(cli, &a->net, opt, arg);
    }
    return 0;
}

#define CREATE_OPTIONS                                                   \
    {"bundle", required_argument, NULL, OPT_BUNDLE},                     \
            {"pid-file", required_argument, NULL, OPT_PID_FILE},         \
            {"console-socket", required_argument, NULL, OPT_CONSOLE},    \
            {"preserve-fds", required_argument, NULL, OPT_PRESERVE},     \
            {"no-pivot", no_argument, NULL, OPT_NO_PIVOT},               \
            {"no-new-keyring", no_argument, NULL, OPT_NO_KEYRING},       \
            {"pidfd-socket", required_argument, NULL, OPT_PIDFD_SOCKET}, \
    {                                                                    \
        "help", no_argument, NULL, 'h'                                   \
    }

#define CREATE_HELP                                                                      \
    "   --bundle value, -b value  path to the bundle (default: the current directory)\n" \
    "   --console-socket value    AF_UNIX socket that receives the pty master when\n"    \
    "                             process.terminal is true\n"                            \
    "   --pid-file value          write the container process's pid to this file\n"      \
    "   --no-pivot                use MS_MOVE and chroot instead of pivot_root(2)\n"     \
    "   --no-new-keyring          keep the calling process's session keyring\n"          \
    "   --preserve-fds value      pass this many extra fds (from 3) to the container\n"  \
    "   --image NAME              make the bundle from an image (berth run --image --help)\n"

static int cmd_create_run(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {CREATE_OPTIONS, NET_OPTIONS, {0}};
    struct create_args a = {0};
    if (cli_wants_image(argc, argv))
        return cmd_run_image(cli, argc, argv, true);
    int r = cli_parse(cli, &cmd_create, argc, argv, "b:p:", opts, create_opt, &a);
    if (r == 0 && net_flags_apply(cli, &a.net, &a.o) < 0)
        r = -1;
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 1, "the container id") < 0)
        return 1;
    a.o.id = argv[optind];
    if (container_create(&cli->rt, &a.o) < 0)
        return cli_fail(cli, a.o.id);
    return 0;
}

const struct command cmd_create = {
        "create", cmd_create_run, "create a container",
        "Usage: berth create [options] <container-id>\n\n"
        "Create a container from the bundle: everything up to executing the process,\n"
        "which waits until 'berth start'.\n\n"
        "Options:\n" CREATE_HELP NET_HELP};

static int cmd_run_run(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {CREATE_OPTIONS,
                                         NET_OPTIONS,
                                         {"detach", no_argument, NULL, OPT_DETACH},
                                         {"keep", no_argument, NULL, OPT_KEEP},
                                         {0}};
    struct create_args a = {0};
    if (cli_wants_image(argc, argv))
        return cmd_run_image(cli, argc, argv, false);
    int r = cli_parse(cli, &cmd_run, argc, argv, "b:dp:", opts, create_opt, &a);
    if (r == 0 && net_flags_apply(cli, &a.net, &a.o) < 0)
        r = -1;
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 1, "the container id") < 0)
        return 1;
    a.o.id = argv[optind];
    int code = 0;
    if (container_run(&cli->rt, &a.o, a.detach, a.keep, &code) < 0)
        return cli_fail(cli, a.o.id);
    return code;
}

const struct command cmd_run = {
        "run", cmd_run_run, "create and start a container",
        "Usage: berth run [options] <container-id>\n\n"
        "Create and start a container. In the foreground, berth forwards SIGINT, SIGTERM,\n"
        "SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to it, exits with its exit status (128+N\n"
        "when killed by signal N) and deletes it afterwards unless --keep is given.\n\n"
        "Options:\n" CREATE_HELP NET_HELP
        "   --detach, -d              return once the container has started\n"
        "   --keep                    do not delete the container after it exits\n"};

static int cmd_start_run(struct cli *cli, int argc, char **argv)
{
    int r = cli_parse(cli, &cmd_start, argc, argv, NULL, NULL, NULL, NULL);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 1, "the container id") < 0)
        return 1;
    if (container_start(&cli->rt, argv[optind]) < 0)
        return cli_fail(cli, argv[optind]);
    return 0;
}

const struct command cmd_start = {"start", cmd_start_run, "start a created container",
                                  "Usage: berth start <container-id>\n\n"
                                  "Run the process of a created container.\n"};

/* "KILL", "SIGKILL", "kill", "9", "RTMIN+2" -> signal number */
static int parse_signal(const char *s)
{
    uint64_t n;
    if (parse_u64(s, &n) == 0)
        return n > 0 && n < (uint64_t)NSIG ? (int)n : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (int sig = 1; sig < NSIG; sig++) {
        const char *name = sigabbrev_np(sig);
        if (name && strcasecmp(s, name) == 0)
            return sig;
    }
    if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
        int base = toupper((unsigned char)s[4]) == 'N' ? SIGRTMIN : SIGRTMAX;
        int off = 0;
        if (s[5] && parse_int(s + 5, &off) < 0)
            return -1;
        int sig = base + off;
        return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
    }
    return -1;
}

static int kill_opt(struct cli *cli, int opt, const char *arg, void *data)
{
    *(bool *)data = true;
    return 0;
}

static int cmd_kill_run(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
            {"all", no_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'}, {0}};
    bool all = false;
    int r = cli_parse(cli, &cmd_kill, argc, argv, "a", opts, kill_opt, &all);
    if (r != 0)
        return r > 0 ? 0 : 1;
    int n = argc - optind;
    if (n < 1 || n > 2) {
        cli_usage_error(cli,
                        "requires the container id and optionally a signal, got %d "
                        "arguments",
                        n);
        return 1;
    }
    const char *id = argv[optind];
    int sig = n == 2 ? parse_signal(argv[optind + 1]) : SIGTERM;
    if (sig < 0) {
        cli_usage_error(cli, "unknown signal \"%s\"", argv[optind + 1]);
        return 1;
    }
    if (container_kill(&cli->rt, id, sig, all) < 0)
        return cli_fail(cli, id);
    return 0;
}

const struct command cmd_kill = {
        "kill", cmd_kill_run, "send a signal to a container's process",
        "Usage: berth kill [options] <container-id> [signal]\n\n"
        "Send a signal (default SIGTERM) to the container's process. The signal may be\n"
        "a name (KILL, SIGKILL) or a number (9).\n\n"
        "Options:\n"
        "   --all, -a   send the signal to every process in the container's cgroup\n"};

static int delete_opt(struct cli *cli, int opt, const char *arg, void *data)
{
    *(bool *)data = true;
    return 0;
}

static int cmd_delete_run(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
    bool force = false;
    int r = cli_parse(cli, &cmd_delete, argc, argv, "f", opts, delete_opt, &force);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (argc - optind < 1) {
        cli_usage_error(cli, "requires at least one container id");
        return 1;
    }
    int ret = 0;
    for (int i = optind; i < argc; i++)
        if (container_delete(&cli->rt, argv[i], force) < 0)
            ret = cli_fail(cli, argv[i]);
    return ret;
}

const struct command cmd_delete = {
        "delete", cmd_delete_run, "delete a container and everything it holds",
        "Usage: berth delete [options] <container-id>...\n\n"
        "Delete stopped (or created) containers: their cgroups, state and hooks' poststop.\n\n"
        "Options:\n"
        "   --force, -f   kill a running container first\n"};
