/* state, list, spec, features */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/util.h"
#include "runtime/features.h"
#include "runtime/spec.h"

static int cmd_state_run(struct cli *cli, int argc, char **argv)
{
    int r = cli_parse(cli, &cmd_state, argc, argv, NULL, NULL, NULL, NULL);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 1, "the container id") < 0)
        return 1;
    _cleanup_free_ char *json = NULL;
    if (container_state_json(&cli->rt, argv[optind], &json) < 0)
        return cli_fail(cli, argv[optind]);
    /* like runc: the indented object without a trailing newline */
    fputs(json, stdout);
    return 0;
}

const struct command cmd_state = {"state", cmd_state_run, "print the state of a container",
                                  "Usage: berth state <container-id>\n\n"
                                  "Print the OCI state of a container as JSON.\n"};

struct list_args {
    bool json, quiet;
};

static int list_opt(struct cli *cli, int opt, const char *arg, void *data)
{
    struct list_args *a = data;
    if (opt == 'q')
        a->quiet = true;
    else if (streq(arg, "json"))
        a->json = true;
    else if (!streq(arg, "table"))
        return cli_usage_error(cli, "--format must be table or json, not \"%s\"", arg);
    return 0;
}

/* The user name of uid; containers are nearly always made by one user, so remember the last. */
static const char *owner_name(uid_t uid)
{
    static char name[64];
    static uid_t cached = (uid_t)-1;
    if (uid != cached || !name[0]) {
        struct passwd *pw = getpwuid(uid);
        if (pw)
            snprintf(name, sizeof(name), "%s", pw->pw_name);
        else
            snprintf(name, sizeof(name), "#%u", (unsigned)uid);
        cached = uid;
    }
    return name;
}

enum { COLS = 6 };

/* Rows of the table, kept until every column's width is known. */
struct table {
    char *(*cells)[COLS];
    size_t n, cap;
};

static int table_add(const struct container_info *c, void *ctx)
{
    struct table *t = ctx;
    const struct container_state *st = c->st;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->cells = xreallocarray(t->cells, t->cap, sizeof(*t->cells));
    }
    char *row[COLS] = {xstrdup(st->id),
                       xasprintf("%d", c->status == STATUS_STOPPED ? 0 : (int)st->pid),
                       xstrdup(status_name(c->status)),
                       xstrdup(st->bundle),
                       xstrdup(st->created),
                       xstrdup(owner_name(st->file_uid))};
    memcpy(t->cells[t->n++], row, sizeof(row));
    return 0;
}

/* Go's text/tabwriter with minwidth 12, padding 3, as runc prints its table. */
static void table_print(const struct table *t)
{
    const char *head[COLS] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
    size_t width[COLS] = {0};
    for (int c = 0; c < COLS - 1; c++)
        width[c] = strlen(head[c]) + 3;
    for (size_t i = 0; i < t->n; i++)
        for (int c = 0; c < COLS - 1; c++) {
            size_t w = strlen(t->cells[i][c]) + 3;
            if (w > width[c])
                width[c] = w;
        }
    for (int c = 0; c < COLS - 1; c++)
        if (width[c] < 12)
            width[c] = 12;
    for (size_t i = 0; i <= t->n; i++) {
        const char *const *row = i ? (const char *const *)t->cells[i - 1] : head;
        for (int c = 0; c < COLS - 1; c++)
            printf("%-*s", (int)width[c], row[c]);
        printf("%s\n", row[COLS - 1]);
    }
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->n; i++)
        for (int c = 0; c < COLS; c++)
            free(t->cells[i][c]);
    free(t->cells);
}

static int print_id(const struct container_info *c, void *ctx)
{
    (void)ctx;
    puts(c->st->id);
    return 0;
}

static int json_add(const struct container_info *c, void *ctx)
{
    struct jw *w = ctx;
    struct container_state st = *c->st;
    st.owner = (char *)owner_name(st.file_uid);
    state_write_oci(w, &st, c->status, true);
    return 0;
}

static int print_json(const struct cli *cli)
{
    struct jw w;
    jw_init(&w, NULL);
    jw_array_begin(&w);
    int r = container_list(&cli->rt, json_add, &w);
    jw_array_end(&w);
    jw_putc(&w, '\n');
    /* runc encodes its empty list as null */
    if (r == 0)
        fputs(strcmp(w.buf, "[]\n") ? w.buf : "null\n", stdout);
    jw_free(&w);
    return r;
}

static int cmd_list_run(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    struct list_args a = {0};
    int r = cli_parse(cli, &cmd_list, argc, argv, "f:q", opts, list_opt, &a);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 0, "none") < 0)
        return 1;
    if (a.quiet)
        r = container_list(&cli->rt, print_id, NULL);
    else if (a.json)
        r = print_json(cli);
    else {
        struct table t = {0};
        r = container_list(&cli->rt, table_add, &t);
        if (r == 0)
            table_print(&t);
        table_free(&t);
    }
    return r < 0 ? cli_fail(cli, NULL) : 0;
}

const struct command cmd_list = {
        "list", cmd_list_run, "list containers",
        "Usage: berth list [options]\n\n"
        "List the containers under the root directory.\n\n"
        "Options:\n"
        "   --format value, -f value   table or json (default: \"table\")\n"
        "   --quiet, -q                print only the container ids\n"};

struct spec_args {
    const char *bundle;
    bool rootless;
};

static int spec_opt(struct cli *cli, int opt, const char *arg, void *data)
{
    struct spec_args *a = data;
    if (opt == 'b')
        a->bundle = arg;
    else
        a->rootless = true;
    return 0;
}

static int cmd_spec_run(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
                                         {"rootless", no_argument, NULL, 'R'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    struct spec_args a = {.bundle = "."};
    int r = cli_parse(cli, &cmd_spec, argc, argv, "b:", opts, spec_opt, &a);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 0, "none") < 0)
        return 1;
    _cleanup_free_ char *json = spec_default_json(a.rootless);
    _cleanup_close_ int dfd = open(a.bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        err_set(errno, "bundle %s", a.bundle);
        return cli_fail(cli, NULL);
    }
    _cleanup_close_ int fd =
            openat(dfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        if (errno == EEXIST)
            err_setx(EEXIST, "%s/config.json exists: remove it first", a.bundle);
        else
            err_set(errno, "create %s/config.json", a.bundle);
        return cli_fail(cli, NULL);
    }
    if (write_all(fd, json, strlen(json)) < 0) {
        err_set(errno, "write %s/config.json", a.bundle);
        return cli_fail(cli, NULL);
    }
    return 0;
}

const struct command cmd_spec = {
        "spec", cmd_spec_run, "write a new default config.json",
        "Usage: berth spec [options]\n\n"
        "Write a default config.json for a bundle whose root filesystem is ./rootfs.\n\n"
        "Options:\n"
        "   --bundle value, -b value   directory to write config.json into (default: .)\n"
        "   --rootless                 a config for a container run by an unprivileged user\n"};

static int cmd_features_run(struct cli *cli, int argc, char **argv)
{
    int r = cli_parse(cli, &cmd_features, argc, argv, NULL, NULL, NULL, NULL);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 0, "none") < 0)
        return 1;
    _cleanup_free_ char *json = features_json();
    fputs(json, stdout);
    return 0;
}

const struct command cmd_features = {
        "features", cmd_features_run, "print what this berth supports (OCI features JSON)",
        "Usage: berth features\n\n"
        "Print the OCI runtime features document: what this build of berth implements.\n"};
