/* berth network create|ls|inspect|rm, and the networking flags of create/run. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/util.h"
#include "netns/net.h"

/* ---- create/run flags -> org.berth.net.* annotations ---- */

int net_flag(struct cli *cli, struct net_flags *f, int opt, const char *arg)
{
    switch (opt) {
    case OPT_NET_NETWORK: f->network = arg; break;
    case OPT_NET_IP: f->ip = arg; break;
    case OPT_NET_EGRESS: f->egress = arg; break;
    case OPT_NET_INGRESS: f->ingress = arg; break;
    case OPT_NET_PUBLISH: {
        size_t len = strlen(f->publish);
        if (len + strlen(arg) + 2 > sizeof(f->publish))
            return cli_usage_error(cli, "too many --publish options");
        snprintf(f->publish + len, sizeof(f->publish) - len, "%s%s", len ? "," : "", arg);
        break;
    }
    }
    return 0;
}

int net_flags_apply(struct cli *cli, struct net_flags *f, struct create_opts *o)
{
    const char *keys[] = {"org.berth.net.network", "org.berth.net.ip", "org.berth.net.publish",
                          "org.berth.net.egress", "org.berth.net.ingress"};
    const char *values[] = {f->network, f->ip, f->publish[0] ? f->publish : NULL, f->egress,
                            f->ingress};
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        n += values[i] != NULL;
    if (!n)
        return 0;
    if (o->n_annotations + n > ARRAY_SIZE(f->kv))
        return cli_usage_error(cli, "too many command-line annotations");
    /* keep what other flags set, add ours */
    for (size_t i = 0; i < o->n_annotations; i++)
        f->kv[i] = o->annotations[i];
    size_t k = o->n_annotations;
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (values[i])
            f->kv[k++] = (struct json_kv){keys[i], values[i]};
    o->annotations = f->kv;
    o->n_annotations = k;
    return 0;
}

/* ---- berth network ---- */

struct create_args {
    struct net_create_opts o;
};

enum {
    OPT_SUBNET = 1000,
    OPT_GATEWAY,
    OPT_SUBNET6,
    OPT_GATEWAY6,
    OPT_MTU,
    OPT_BRIDGE,
    OPT_FORMAT,
    OPT_QUIET = 'q'
};

static int network_create_opt(struct cli *cli, int opt, const char *arg, void *data)
{
    struct net_create_opts *o = data;
    switch (opt) {
    case OPT_SUBNET: o->subnet = arg; break;
    case OPT_GATEWAY: o->gateway = arg; break;
    case OPT_SUBNET6: o->ipv6_subnet = arg; break;
    case OPT_GATEWAY6: o->ipv6_gateway = arg; break;
    case OPT_BRIDGE: o->bridge = arg; break;
    case OPT_MTU: {
        uint64_t v;
        if (parse_u64(arg, &v) < 0 || v < 576 || v > 65535)
            return cli_usage_error(cli, "--mtu: \"%s\" is not a number 576..65535", arg);
        o->mtu = (unsigned)v;
        break;
    }
    }
    return 0;
}

static const struct command cmd_network_create, cmd_network_ls, cmd_network_inspect, cmd_network_rm;

/* `network create NAME --subnet X` as well as `network create --subnet X NAME`: move the
 * words that are neither options nor their values to the end (every option takes a value). */
static void names_last(int argc, char **argv)
{
    char *tmp[argc];
    int n = 0, w = 1;
    for (int i = 1; i < argc; i++) {
        bool opt = argv[i][0] == '-' && argv[i][1];
        bool takes = opt && !strchr(argv[i], '=') && !streq(argv[i], "-h") &&
                     !streq(argv[i], "--help") && !streq(argv[i], "-help");
        if (streq(argv[i], "--")) {
            for (int j = i + 1; j < argc; j++)
                tmp[n++] = argv[j];
            break;
        }
        if (!opt) {
            tmp[n++] = argv[i];
            continue;
        }
        argv[w++] = argv[i];
        if (takes && i + 1 < argc)
            argv[w++] = argv[++i];
    }
    for (int i = 0; i < n; i++)
        argv[w++] = tmp[i];
}

static int network_create(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"subnet", required_argument, NULL, OPT_SUBNET},
                                         {"gateway", required_argument, NULL, OPT_GATEWAY},
                                         {"ipv6-subnet", required_argument, NULL, OPT_SUBNET6},
                                         {"ipv6-gateway", required_argument, NULL, OPT_GATEWAY6},
                                         {"mtu", required_argument, NULL, OPT_MTU},
                                         {"bridge", required_argument, NULL, OPT_BRIDGE},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    struct net_create_opts o = {0};
    names_last(argc, argv);
    int r = cli_parse(cli, &cmd_network_create, argc, argv, NULL, opts, network_create_opt, &o);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 1, "the network name") < 0)
        return 1;
    o.name = argv[optind];
    if (!o.subnet) {
        cli_usage_error(cli, "--subnet is required");
        return 1;
    }
    if (net_network_create(cli->rt.root, &o) < 0)
        return cli_fail(cli, o.name);
    return 0;
}

static int network_ls_opt(struct cli *cli, int opt, const char *arg, void *data)
{
    int *mode = data;
    if (opt == OPT_QUIET) {
        *mode = 2;
        return 0;
    }
    if (streq(arg, "json"))
        *mode = 1;
    else if (!streq(arg, "table"))
        return cli_usage_error(cli, "--format must be table or json, not \"%s\"", arg);
    return 0;
}

static void print_ls_json(const struct net_summary *s, size_t n)
{
    struct jw w;
    jw_init(&w, "  ");
    jw_array_begin(&w);
    for (size_t i = 0; i < n; i++) {
        jw_object_begin(&w);
        jw_kv_string(&w, "name", s[i].name);
        jw_kv_string(&w, "bridge", s[i].bridge);
        jw_kv_string(&w, "subnet", s[i].subnet);
        if (s[i].ipv6_subnet[0])
            jw_kv_string(&w, "ipv6Subnet", s[i].ipv6_subnet);
        jw_kv_uint(&w, "mtu", s[i].mtu);
        jw_kv_uint(&w, "containers", s[i].containers);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_putc(&w, '\n');
    fputs(w.buf, stdout);
    jw_free(&w);
}

static int network_ls(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, OPT_FORMAT},
                                         {"quiet", no_argument, NULL, OPT_QUIET},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int mode = 0;
    int r = cli_parse(cli, &cmd_network_ls, argc, argv, "f:q", opts, network_ls_opt, &mode);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 0, "none") < 0)
        return 1;
    struct net_summary *s = NULL;
    size_t n = 0;
    if (net_network_list(cli->rt.root, &s, &n) < 0)
        return cli_fail(cli, NULL);
    if (mode == 1) {
        print_ls_json(s, n);
    } else if (mode == 2) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", s[i].name);
    } else {
        printf("%-13s %-15s %-18s %-24s %-6s %s\n", "NAME", "BRIDGE", "SUBNET", "IPV6 SUBNET",
               "MTU", "CONTAINERS");
        for (size_t i = 0; i < n; i++)
            printf("%-13s %-15s %-18s %-24s %-6u %zu\n", s[i].name, s[i].bridge, s[i].subnet,
                   s[i].ipv6_subnet[0] ? s[i].ipv6_subnet : "-", s[i].mtu, s[i].containers);
    }
    free(s);
    return 0;
}

static int network_inspect(struct cli *cli, int argc, char **argv)
{
    int r = cli_parse(cli, &cmd_network_inspect, argc, argv, NULL, NULL, NULL, NULL);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (cli_require_args(cli, argc, optind, 1, "the network name") < 0)
        return 1;
    char *json = NULL;
    if (net_network_inspect(cli->rt.root, argv[optind], &json) < 0)
        return cli_fail(cli, argv[optind]);
    fputs(json, stdout);
    free(json);
    return 0;
}

static int network_rm(struct cli *cli, int argc, char **argv)
{
    int r = cli_parse(cli, &cmd_network_rm, argc, argv, NULL, NULL, NULL, NULL);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (argc - optind < 1) {
        cli_usage_error(cli, "requires at least one network name");
        return 1;
    }
    int ret = 0;
    for (int i = optind; i < argc; i++)
        if (net_network_remove(cli->rt.root, argv[i]) < 0)
            ret = cli_fail(cli, argv[i]);
    return ret;
}

static const struct command cmd_network_create = {
        "network create", network_create, "define a network",
        "Usage: berth network create [options] <name>\n\n"
        "Define a network: a Linux bridge (br-NAME) with an IPv4 subnet, and optionally an\n"
        "IPv6 one, in the current network namespace, with outbound NAT (masquerade).\n\n"
        "Options:\n"
        "   --subnet CIDR         IPv4 subnet, e.g. 10.90.0.0/24 (required)\n"
        "   --gateway IP          the bridge's address (default: the first host address)\n"
        "   --ipv6-subnet CIDR    IPv6 subnet, e.g. fd00:90::/64\n"
        "   --ipv6-gateway IP     the bridge's IPv6 address (default: the first one)\n"
        "   --mtu N               MTU of the bridge and the veths (default: 1500)\n"
        "   --bridge NAME         the bridge's interface name (default: br-NAME)\n"};
static const struct command cmd_network_ls = {
        "network ls", network_ls, "list networks",
        "Usage: berth network ls [options]\n\n"
        "Options:\n"
        "   --format table|json, -f   output format (default: table)\n"
        "   --quiet, -q               names only\n"};
static const struct command cmd_network_inspect = {
        "network inspect", network_inspect, "show a network as JSON",
        "Usage: berth network inspect <name>\n\n"
        "Print the network's definition and the containers on it, as JSON.\n"};
static const struct command cmd_network_rm = {
        "network rm", network_rm, "remove networks",
        "Usage: berth network rm <name>...\n\n"
        "Remove networks, their bridges and NAT rules; refused while a container uses one.\n"};

static int cmd_network_run(struct cli *cli, int argc, char **argv)
{
    static const struct command *const subs[] = {&cmd_network_create, &cmd_network_ls,
                                                 &cmd_network_inspect, &cmd_network_rm};
    if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
        fputs(cmd_network.usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    const char *sub = streq(argv[1], "list") ? "ls" : streq(argv[1], "remove") ? "rm" : argv[1];
    for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
        if (!streq(subs[i]->name + strlen("network "), sub))
            continue;
        cli->command = subs[i]->name;
        return subs[i]->run(cli, argc - 1, argv + 1);
    }
    cli_usage_error(cli, "unknown subcommand \"%s\" (create, ls, inspect, rm)", argv[1]);
    return 1;
}

const struct command cmd_network = {
        "network", cmd_network_run, "manage container networks",
        "Usage: berth network COMMAND\n\n"
        "Commands:\n"
        "   create NAME --subnet CIDR [options]   define a network (a bridge plus subnets)\n"
        "   ls [--format json]                   list networks\n"
        "   inspect NAME                         a network and its containers, as JSON\n"
        "   rm NAME...                           remove networks that no container uses\n\n"
        "A container joins a network through annotations in config.json, or the\n"
        "create/run flags that set them:\n"
        "   org.berth.net.network   --network NAME    (\"none\": no networking; default network\n"
        "                                              when another org.berth.net.* key is set)\n"
        "   org.berth.net.ip        --ip ADDR[,ADDR6]  fixed address(es), default automatic\n"
        "   org.berth.net.publish   --publish/-p [HOSTIP:]HOSTPORT:PORT[/tcp|/udp] (repeatable;\n"
        "                                              comma separated in the annotation)\n"
        "   org.berth.net.egress    --egress RATE     cap on traffic from the container (10mbit)\n"
        "   org.berth.net.ingress   --ingress RATE    cap on traffic to the container\n"};
