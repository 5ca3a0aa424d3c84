/* exec */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/err.h"
#include "lib/util.h"

enum {
    E_CONSOLE = 1000,
    E_CWD,
    E_PID_FILE,
    E_LABEL,
    E_APPARMOR,
    E_NNP,
    E_PRESERVE,
    E_IGNORE_PAUSED,
    E_CGROUP
};

struct exec_args {
    struct exec_opts o;
    char **env, **caps;
    size_t n_env, n_caps;
    uint32_t *gids;
    size_t n_gids;
};

static void push(char ***v, size_t *n, const char *s)
{
    *v = xreallocarray(*v, *n + 2, sizeof(char *));
    (*v)[(*n)++] = (char *)s;
    (*v)[*n] = NULL;
}

static int add_gids(struct cli *cli, struct exec_args *a, const char *arg)
{
    _cleanup_free_ char *copy = xstrdup(arg);
    char *save = NULL;
    for (char *g = strtok_r(copy, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
        uint64_t v;
        if (parse_u64(g, &v) < 0 || v > UINT32_MAX)
            return cli_usage_error(cli, "--additional-gids: \"%s\" is not a group id", g);
        a->gids = xreallocarray(a->gids, a->n_gids + 1, sizeof(uint32_t));
        a->gids[a->n_gids++] = (uint32_t)v;
    }
    return 0;
}

static int exec_opt(struct cli *cli, int opt, const char *arg, void *data)
{
    struct exec_args *a = data;
    switch (opt) {
    case 'e':
        if (!strchr(arg, '=') || arg[0] == '=')
            return cli_usage_error(cli, "--env \"%s\": expected NAME=VALUE", arg);
        push(&a->env, &a->n_env, arg);
        break;
    case 'c': push(&a->caps, &a->n_caps, arg); break;
    case 'g': return add_gids(cli, a, arg);
    case 't': a->o.tty = true; break;
    case 'd': a->o.detach = true; break;
    case 'u': a->o.user = arg; break;
    case 'p': a->o.process_file = arg; break;
    case E_CONSOLE: a->o.console_socket = arg; break;
    case E_CWD: a->o.cwd = arg; break;
    case E_PID_FILE: a->o.pid_file = arg; break;
    case E_LABEL: a->o.process_label = arg; break;
    case E_APPARMOR: a->o.apparmor = arg; break;
    case E_NNP: a->o.no_new_privs = true; break;
    case E_IGNORE_PAUSED: a->o.ignore_paused = true; break;
    case E_CGROUP: a->o.cgroup = arg; break;
    case E_PRESERVE: {
        uint64_t n;
        if (parse_u64(arg, &n) < 0 || n > 65536)
            return cli_usage_error(cli, "--preserve-fds: \"%s\" is not a number of fds", arg);
        a->o.preserve_fds = (unsigned)n;
        break;
    }
    }
    return 0;
}

static int cmd_exec_run(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
            {"console-socket", required_argument, NULL, E_CONSOLE},
            {"cwd", required_argument, NULL, E_CWD},
            {"env", required_argument, NULL, 'e'},
            {"tty", no_argument, NULL, 't'},
            {"user", required_argument, NULL, 'u'},
            {"additional-gids", required_argument, NULL, 'g'},
            {"process", required_argument, NULL, 'p'},
            {"detach", no_argument, NULL, 'd'},
            {"pid-file", required_argument, NULL, E_PID_FILE},
            {"process-label", required_argument, NULL, E_LABEL},
            {"apparmor", required_argument, NULL, E_APPARMOR},
            {"no-new-privs", no_argument, NULL, E_NNP},
            {"cap", required_argument, NULL, 'c'},
            {"preserve-fds", required_argument, NULL, E_PRESERVE},
            {"ignore-paused", no_argument, NULL, E_IGNORE_PAUSED},
            {"cgroup", required_argument, NULL, E_CGROUP},
            {"help", no_argument, NULL, 'h'},
            {0},
    };
    struct exec_args a = {0};
    int r = cli_parse(cli, &cmd_exec, argc, argv, "e:tu:g:p:dc:", opts, exec_opt, &a);
    int ret = 1;
    if (r != 0) {
        ret = r > 0 ? 0 : 1;
        goto out;
    }
    if (argc - optind < 1) {
        cli_usage_error(cli, "requires the container id and a command (or --process)");
        goto out;
    }
    a.o.id = argv[optind];
    a.o.args = argv + optind + 1;
    a.o.n_args = (size_t)(argc - optind - 1);
    a.o.env = a.env;
    a.o.n_env = a.n_env;
    a.o.caps = a.caps;
    a.o.n_caps = a.n_caps;
    a.o.additional_gids = a.gids;
    a.o.n_additional_gids = a.n_gids;
    int code = 0;
    ret = container_exec(&cli->rt, &a.o, &code) < 0 ? cli_fail(cli, a.o.id) : code;
out:
    free(a.env);
    free(a.caps);
    free(a.gids);
    return ret;
}

const struct command cmd_exec = {
        "exec", cmd_exec_run, "run a new process in a running container",
        "Usage: berth exec [options] <container-id> <command> [args...]\n\n"
        "Run a process in the container's namespaces, cgroup and root, with its\n"
        "capabilities, rlimits, no_new_privs and seccomp filter. In the foreground berth\n"
        "exits with the process's status (128+N when killed by signal N).\n\n"
        "Options:\n"
        "   --process value, -p value   an OCI process JSON file instead of a command\n"
        "   --tty, -t                   give the process a terminal\n"
        "   --console-socket value      send the pty master to this AF_UNIX socket\n"
        "   --detach, -d                return once the process has started\n"
        "   --pid-file value            write the process's pid to this file\n"
        "   --env value, -e value       set NAME=VALUE (repeatable)\n"
        "   --cwd value                 working directory inside the container\n"
        "   --user value, -u value      uid[:gid]\n"
        "   --additional-gids value, -g value  extra group ids (repeatable, or comma list)\n"
        "   --cap value, -c value       add a capability (repeatable)\n"
        "   --no-new-privs              set no_new_privs\n"
        "   --preserve-fds value        pass this many extra fds (from 3)\n"
        "   --ignore-paused             allow exec into a paused container\n"
        "   --cgroup value              run in this sub-cgroup (name, or controller:name)\n"
        "   --apparmor value, --process-label value  (refused: not enabled on this host)\n"};
