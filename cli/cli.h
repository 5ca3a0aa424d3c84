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
    const char *command; /* for error messages */
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
int cli_usage_error(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Require exactly n positional arguments. */
int cli_require_args(const struct cli *cli, int argc, int optind_, int n, const char *what);
/* Print the runtime error of a command as "berth: <command> <id>: <message>"; returns 1. */
int cli_fail(const struct cli *cli, const char *id);

extern const struct command cmd_create, cmd_start, cmd_run, cmd_kill, cmd_delete, cmd_state,
        cmd_list, cmd_spec, cmd_features, cmd_update, cmd_pause, cmd_resume, cmd_events, cmd_ps, cmd_exec;
