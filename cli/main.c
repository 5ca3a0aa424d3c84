/* berth: an OCI container runtime. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"

static const struct command *const commands[] = {
        &cmd_create, &cmd_start, &cmd_run,      &cmd_exec,    &cmd_state,  &cmd_kill,
        &cmd_delete, &cmd_list,  &cmd_update,   &cmd_pause,   &cmd_resume, &cmd_events,
        &cmd_ps,     &cmd_spec,  &cmd_features, &cmd_network, &cmd_image,
};

static void print_help(void)
{
    printf("NAME:\n"
           "   berth - an Open Container Initiative runtime\n\n"
           "USAGE:\n"
           "   berth [global options] command [command options] [arguments...]\n\n"
           "VERSION:\n"
           "   %s\n\n"
           "COMMANDS:\n",
           PACKAGE_VERSION);
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        printf("   %-10s %s\n", commands[i]->name, commands[i]->summary);
    printf("\nGLOBAL OPTIONS:\n"
           "   --root value         root directory for container state (default: \"/run/berth\")\n"
           "   --log value          write log messages to this file (default: stderr)\n"
           "   --log-format value   log format: text or json (default: \"text\")\n"
           "   --debug              enable debug logging\n"
           "   --systemd-cgroup     use the systemd cgroup driver\n"
           "   --image-root value   image store (default: $BERTH_IMAGE_ROOT or "
           "\"/var/lib/berth\")\n"
           "   --help, -h           show help\n"
           "   --version, -v        print the version\n\n"
           "Run 'berth COMMAND --help' for a command's options.\n");
}

static void print_version(void)
{
    printf("berth version %s\ncommit: %s\nspec: %s\n", PACKAGE_VERSION, BERTH_COMMIT,
           BERTH_SPEC_VERSION);
}

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cli->command)
        fprintf(stderr, "berth: %s: %s\nRun 'berth %s --help' for usage.\n", cli->command, msg,
                cli->command);
    else
        fprintf(stderr, "berth: %s\nRun 'berth --help' for usage.\n", msg);
    return -1;
}

int cli_require_args(const struct cli *cli, int argc, int optind_, int n, const char *what)
{
    int have = argc - optind_;
    if (have == n)
        return 0;
    return cli_usage_error(cli, "requires exactly %d argument%s (%s), got %d", n, n == 1 ? "" : "s",
                           what, have);
}

int cli_fail(const struct cli *cli, const char *id)
{
    char buf[4200];
    if (id)
        snprintf(buf, sizeof(buf), "%s %s: %s", cli->command, id, err_msg());
    else
        snprintf(buf, sizeof(buf), "%s: %s", cli->command, err_msg());
    log_fatal(buf);
    return 1;
}

int cli_parse(struct cli *cli, const struct command *cmd, int argc, char **argv,
              const char *optstring, const struct option *longopts, opt_handler h, void *data)
{
    static const struct option help_only[] = {{"help", no_argument, NULL, 'h'}, {0}};
    char os[64];
    snprintf(os, sizeof(os), "+:h%s", optstring ? optstring : "");
    const struct option *lo = longopts ? longopts : help_only;
    optind = 0;
    opterr = 0;
    for (;;) {
        int opt = getopt_long_only(argc, argv, os, lo, NULL);
        if (opt == -1)
            break;
        if (opt == 'h') {
            fputs(cmd->usage, stdout);
            return 1;
        }
        if (opt == '?')
            return cli_usage_error(cli, "unknown option %s", argv[optind - 1]);
        if (opt == ':')
            return cli_usage_error(cli, "option %s needs a value", argv[optind - 1]);
        if (h(cli, opt, optarg, data) < 0)
            return -1;
    }
    return 0;
}

enum {
    OPT_ROOT = 1000,
    OPT_LOG,
    OPT_LOG_FORMAT,
    OPT_DEBUG,
    OPT_SYSTEMD,
    OPT_ROOTLESS,
    OPT_CRIU,
    OPT_IMAGE_ROOT
};

static int parse_global(struct cli *cli, int argc, char **argv, int *out_next)
{
    static const struct option opts[] = {
            {"root", required_argument, NULL, OPT_ROOT},
            {"log", required_argument, NULL, OPT_LOG},
            {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
            {"debug", no_argument, NULL, OPT_DEBUG},
            {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD},
            {"rootless", required_argument, NULL, OPT_ROOTLESS},
            {"criu", required_argument, NULL, OPT_CRIU},
            {"image-root", required_argument, NULL, OPT_IMAGE_ROOT},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'v'},
            {0},
    };
    opterr = 0;
    for (;;) {
        int opt = getopt_long_only(argc, argv, "+:hv", opts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case OPT_ROOT: cli->rt.root = optarg; break;
        case OPT_LOG: cli->log_path = optarg; break;
        case OPT_LOG_FORMAT:
            if (!streq(optarg, "text") && !streq(optarg, "json"))
                return cli_usage_error(cli, "--log-format must be text or json, not \"%s\"",
                                       optarg);
            cli->log_json = streq(optarg, "json");
            break;
        case OPT_DEBUG: cli->debug = true; break;
        case OPT_SYSTEMD: cli->rt.systemd_cgroup = true; break;
        case OPT_IMAGE_ROOT: cli->image_root = optarg; break;
        case OPT_ROOTLESS:
        case OPT_CRIU: break; /* accepted for runc compatibility; berth runs as root */
        case 'h': print_help(); return 1;
        case 'v': print_version(); return 1;
        case ':': return cli_usage_error(cli, "option %s needs a value", argv[optind - 1]);
        default: return cli_usage_error(cli, "unknown global option %s", argv[optind - 1]);
        }
    }
    *out_next = optind;
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli = {.rt.root = "/run/berth", .rt.argv = argv};
    int next = argc;
    int r = parse_global(&cli, argc, argv, &next);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (log_setup(cli.log_path, cli.log_json, cli.debug) < 0) {
        fprintf(stderr, "berth: --log %s: %s\n", cli.log_path, strerror(errno));
        return 1;
    }
    if (next >= argc) {
        print_help();
        return 1;
    }
    const char *name = argv[next];
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        if (!streq(commands[i]->name, name))
            continue;
        cli.command = name;
        return commands[i]->run(&cli, argc - next, argv + next);
    }
    fprintf(stderr, "berth: unknown command \"%s\"\nRun 'berth --help' for the list of commands.\n",
            name);
    return 1;
}
