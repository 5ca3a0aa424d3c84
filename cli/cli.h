/* berth's command line: parsing and output only; the work is in runtime/. */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include "runtime/container.h"

struct cli {
    struct runtime_opts rt;
    const char *log_path;
    bool log_json;
    bool debug;
    const char *command;    /* for error messages */
    const char *image_root; /* --image-root: the image store (images/store.h) */
};

struct command {
    const char *name;
    int (*run)(struct cli *cli, int argc, char **argv);
    const char *summary;
    const char *usage; /* full --help text */
};

/* Parse options for a command; prints help and returns 1 for --help, -1 on bad usage
 * (after printing the error), else 0. optstring/longopts as getopt_long_only. */
typedef int (*opt_handler)(struct cli *cli, int opt, const char *arg, void *data);
int cli_parse(struct cli *cli, const struct command *cmd, int argc, char **argv,
              const char *optstring, const struct option *longopts, opt_handler h, void *data);
/* Report a usage error: "berth: <command>: <message>" plus a hint; returns -1. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Require exactly n positional arguments. */
int cli_require_args(const struct cli *cli, int argc, int optind_, int n, const char *what);
/* Print the runtime error of a command as "berth: <command> <id>: <message>"; returns 1. */
int cli_fail(const struct cli *cli, const char *id);

extern const struct command cmd_create, cmd_start, cmd_run, cmd_kill, cmd_delete, cmd_state,
        cmd_list, cmd_spec, cmd_features, cmd_update, cmd_pause, cmd_resume, cmd_events, cmd_ps,
        cmd_exec;

/* Networking (cli/cmd_network.c): `berth network`, and the create/run flags that set the
 * org.berth.net.* annotations. */
extern const struct command cmd_network;
enum { OPT_NET_NETWORK = 2000, OPT_NET_IP, OPT_NET_EGRESS, OPT_NET_INGRESS, OPT_NET_PUBLISH = 'p' };
struct net_flags {
    const char *network, *ip, *egress, *ingress;
    char publish[4096];
    struct json_kv kv[32];
};
int net_flag(struct cli *cli, struct net_flags *f, int opt, const char *arg);
/* Add the annotations to o (after the ones already there); -1 after a usage error. */
int net_flags_apply(struct cli *cli, struct net_flags *f, struct create_opts *o);
#define NET_OPTIONS                                                \
    {"network", required_argument, NULL, OPT_NET_NETWORK},         \
            {"ip", required_argument, NULL, OPT_NET_IP},           \
            {"publish", required_argument, NULL, OPT_NET_PUBLISH}, \
            {"egress", required_argument, NULL, OPT_NET_EGRESS},   \
    {                                                              \
        "ingress", required_argument, NULL, OPT_NET_INGRESS        \
    }
#define NET_HELP                                                                                 \
    "   --network NAME            attach to this network (berth network ls; none: no network)\n" \
    "   --ip ADDR[,ADDR6]         fixed address(es) on the network (default: automatic)\n"       \
    "   --publish, -p [HOSTIP:]HOSTPORT:PORT[/tcp|/udp]\n"                                       \
    "                             publish a container port on the host (repeatable)\n"           \
    "   --egress RATE             cap traffic from the container (e.g. 10mbit)\n"                \
    "   --ingress RATE            cap traffic to the container (e.g. 10mbit)\n"
/* `berth image` and `run/create --image` (cli/cmd_image.c, cli/cmd_run_image.c) */
extern const struct command cmd_image;
bool cli_wants_image(int argc, char **argv);
int cmd_run_image(struct cli *cli, int argc, char **argv, bool create);
