/* The pure parts of container networking: CIDR parsing and arithmetic, IPAM allocation,
 * published ports, rates, network names, the leases file and network JSON, the default
 * subnet pick. Needs no privileges. */
#include <errno.h>
#include <string.h>

#include "lib/err.h"
#include "lib/util.h"
#include "netns/addr.h"
#include "netns/bridge.h"
#include "netns/nft.h"
#include "netns/options.h"
#include "netns/store.h"
#include "tests/unit/unit.h"

static void test_cidr(void)
{
    struct ipnet n;
    char buf[CIDR_STRLEN];
    CHECK_INT(cidr_parse("10.88.0.0/16", "x", &n), 0);
    CHECK_INT(n.addr.family, AF_INET);
    CHECK_INT(n.prefix, 16);
    cidr_format(&n, buf);
    CHECK_STR(buf, "10.88.0.0/16");
    CHECK_INT(cidr_parse("fd00:1::/64", "x", &n), 0);
    CHECK_INT(n.addr.family, AF_INET6);
    CHECK_INT(cidr_parse("10.88.0.1/16", "--subnet", &n), -EINVAL);
    CHECK_CONTAINS(err_msg(), "host bits set (did you mean 10.88.0.0/16?)");
    CHECK_INT(cidr_parse("10.88.0.0", "--subnet", &n), -EINVAL);
    CHECK_CONTAINS(err_msg(), "not a CIDR prefix");
    CHECK_INT(cidr_parse("10.88.0.0/31", "--subnet", &n), -EINVAL);
    CHECK_INT(cidr_parse("10.0.0.0/7", "--subnet", &n), -EINVAL);
    CHECK_INT(cidr_parse("fd00::/48", "--subnet", &n), -EINVAL);
    CHECK_INT(cidr_parse("300.1.1.0/24", "--subnet", &n), -EINVAL);
    CHECK_INT(cidr_parse("10.1.1.0/2x", "--subnet", &n), -EINVAL);
}

static void test_net_math(void)
{
    struct ipnet a, b;
    struct ipaddr ip;
    char s[IP_STRLEN];
    cidr_parse("10.88.0.0/16", "x", &a);
    net_nth(&a, 258, &ip);
    ip_format(&ip, s);
    CHECK_STR(s, "10.88.1.2");
    CHECK_INT(net_index(&a, &ip), 258);
    CHECK(net_contains(&a, &ip));
    ip_parse("10.89.0.1", "x", &ip);
    CHECK(!net_contains(&a, &ip));
    CHECK_INT(net_last_index(&a), 65534);
    cidr_parse("10.88.4.0/24", "x", &b);
    CHECK(net_overlap(&a, &b));
    CHECK(net_overlap(&b, &a));
    cidr_parse("10.89.0.0/24", "x", &b);
    CHECK(!net_overlap(&a, &b));
    cidr_parse("10.0.0.0/29", "x", &b);
    CHECK_INT(net_last_index(&b), 6);
    cidr_parse("fd00::/64", "x", &b);
    net_nth(&b, 0x1ff, &ip);
    ip_format(&ip, s);
    CHECK_STR(s, "fd00::1ff");
    CHECK_INT(net_index(&b, &ip), 0x1ff);
    CHECK_INT(net_last_index(&b), 1 << 24);
    struct ipaddr x;
    ip_parse("fd00::1ff", "x", &x);
    CHECK(ip_equal(&x, &ip));
    CHECK_INT(ip_parse("nope", "--ip", &x), -EINVAL);
    CHECK_CONTAINS(err_msg(), "--ip: \"nope\" is not an IPv4 or IPv6 address");
}

static void test_ipam_pick(void)
{
    const uint64_t used[] = {1, 2, 3, 5};
    CHECK_INT(ipam_pick(6, used, 4), 4);
    const uint64_t used2[] = {5, 3, 1, 2, 4, 6};
    CHECK_INT(ipam_pick(6, used2, 6), 0);
    CHECK_INT(ipam_pick(6, NULL, 0), 1);
    const uint64_t dup[] = {1, 1, 2, 2};
    CHECK_INT(ipam_pick(6, dup, 4), 3);
    const uint64_t outside[] = {1, 100};
    CHECK_INT(ipam_pick(2, outside, 2), 2);
}

static void test_ports(void)
{
    struct port_map p, q;
    char buf[96];
    CHECK_INT(port_parse("8080:80", &p), 0);
    CHECK_INT(p.proto, IPPROTO_TCP);
    CHECK_INT(p.host_port, 8080);
    CHECK_INT(p.ctr_port, 80);
    CHECK_INT(p.host.family, 0);
    port_format(&p, buf, sizeof(buf));
    CHECK_STR(buf, "8080:80/tcp");
    CHECK_INT(port_parse("127.0.0.1:53:5353/udp", &p), 0);
    CHECK_INT(p.proto, IPPROTO_UDP);
    CHECK_INT(p.host.family, AF_INET);
    port_format(&p, buf, sizeof(buf));
    CHECK_STR(buf, "127.0.0.1:53:5353/udp");
    CHECK_INT(port_parse("[fd00::1]:443:8443/TCP", &p), 0);
    CHECK_INT(p.host.family, AF_INET6);
    port_format(&p, buf, sizeof(buf));
    CHECK_STR(buf, "[fd00::1]:443:8443/tcp");
    CHECK_INT(port_parse(buf, &q), 0);
    CHECK(port_conflict(&p, &q));
    CHECK_INT(port_parse("80", &p), -EINVAL);
    CHECK_INT(port_parse("0:80", &p), -EINVAL);
    CHECK_CONTAINS(err_msg(), "host port \"0\"");
    CHECK_INT(port_parse("80:70000", &p), -EINVAL);
    CHECK_INT(port_parse("80:80/sctp", &p), -EINVAL);
    CHECK_CONTAINS(err_msg(), "tcp or udp");
    CHECK_INT(port_parse("a.b:80:80", &p), -EINVAL);
    CHECK_INT(port_parse("fd00::1:80:80", &p), -EINVAL);
    /* conflicts: same protocol and port, overlapping host addresses */
    port_parse("8080:80", &p);
    port_parse("10.0.0.1:8080:81", &q);
    CHECK(port_conflict(&p, &q));
    port_parse("10.0.0.2:8080:81", &p);
    CHECK(!port_conflict(&p, &q));
    port_parse("8080:80/udp", &p);
    CHECK(!port_conflict(&p, &q));
}

static void test_rates(void)
{
    uint64_t b;
    char buf[32];
    CHECK_INT(rate_parse("10mbit", "x", &b), 0);
    CHECK_INT(b, 10000000);
    CHECK_INT(rate_parse("500kbit", "x", &b), 0);
    CHECK_INT(b, 500000);
    CHECK_INT(rate_parse("1.5Gbit", "x", &b), 0);
    CHECK_INT(b, 1500000000);
    CHECK_INT(rate_parse("2mbps", "x", &b), 0);
    CHECK_INT(b, 16000000);
    CHECK_INT(rate_parse("100k", "x", &b), 0);
    CHECK_INT(b, 100000);
    CHECK_INT(rate_parse("10", "--egress", &b), -EINVAL);
    CHECK_CONTAINS(err_msg(), "--egress: \"10\" is not a rate");
    CHECK_INT(rate_parse("mbit", "x", &b), -EINVAL);
    CHECK_INT(rate_parse("10furlongs", "x", &b), -EINVAL);
    CHECK_INT(rate_parse("1bit", "x", &b), -ERANGE);
    CHECK_INT(rate_parse("1tbit", "x", &b), -ERANGE);
    rate_format(10000000, buf, sizeof(buf));
    CHECK_STR(buf, "10mbit");
    rate_format(1500000, buf, sizeof(buf));
    CHECK_STR(buf, "1500kbit");
}

static void test_names(void)
{
    CHECK_INT(network_name_validate("default"), 0);
    CHECK_INT(network_name_validate("a.b_c-1"), 0);
    CHECK_INT(network_name_validate("abcdefghijkl"), 0);
    CHECK_INT(network_name_validate("abcdefghijklm"), -EINVAL);
    CHECK_INT(network_name_validate(".hidden"), -EINVAL);
    CHECK_INT(network_name_validate("a/b"), -EINVAL);
    CHECK_INT(network_name_validate(""), -EINVAL);
    char tag[300];
    nft_container_tag("abc", tag, sizeof(tag));
    CHECK_STR(tag, "berth container abc");
    char long_id[1025];
    memset(long_id, 'x', 1024);
    long_id[1024] = '\0';
    nft_container_tag(long_id, tag, sizeof(tag));
    CHECK(strlen(tag) < 256);
}

static void test_leases(void)
{
    struct leases l;
    const char *text = "# comment\n"
                       "net1 10.88.0.2 ctr-a 100 12345 8080:80/tcp,[fd00::1]:53:53/udp\n"
                       "net1 10.88.0.3,fd00::3 ctr-b 0 0 -\n";
    CHECK_INT(leases_parse(text, &l), 0);
    CHECK_INT(l.n, 2);
    CHECK_STR(l.v[0].id, "ctr-a");
    CHECK_INT(l.v[0].pid, 100);
    CHECK_INT(l.v[0].start, 12345);
    CHECK_INT(l.v[0].n_ports, 2);
    CHECK_INT(l.v[0].ports[1].proto, IPPROTO_UDP);
    CHECK_INT(l.v[1].n_ports, 0);
    struct ipaddr a;
    ip_parse("10.88.0.9", "x", &a);
    CHECK_INT(l.v[1].addr6.family, AF_INET6);
    CHECK_INT(l.v[0].addr6.family, 0);
    leases_add(&l, "net2", &a, NULL, "ctr-c", 5, 6, NULL, 0);
    char *out = leases_format(&l);
    CHECK_STR(out, "net1 10.88.0.2 ctr-a 100 12345 8080:80/tcp,[fd00::1]:53:53/udp\n"
                   "net1 10.88.0.3,fd00::3 ctr-b 0 0 -\n"
                   "net2 10.88.0.9 ctr-c 5 6 -\n");
    free(out);
    leases_remove(&l, 0);
    CHECK_INT(l.n, 2);
    CHECK_STR(l.v[0].id, "ctr-b");
    leases_free(&l);
    CHECK_INT(leases_parse("net1 10.88.0.2 ctr-a\n", &l), -EINVAL);
    CHECK_CONTAINS(err_msg(), "line 1: malformed");
    CHECK_INT(leases_parse("net1 10.88.0.2 a 1 2 99999:1\n", &l), -EINVAL);
    CHECK_INT(leases_parse("", &l), 0);
    CHECK_INT(l.n, 0);
    leases_free(&l);
}

static void test_network_json(void)
{
    struct network n;
    memset(&n, 0, sizeof(n));
    snprintf(n.name, sizeof(n.name), "tn");
    cidr_parse("10.90.0.0/24", "x", &n.v4);
    n.has_v6 = true;
    cidr_parse("fd00:90::/64", "x", &n.v6);
    CHECK_INT(network_complete(&n, NULL, NULL), 0);
    CHECK_STR(n.bridge, "br-tn");
    CHECK_INT(n.mtu, 1500);
    char ip[IP_STRLEN];
    ip_format(&n.gw4, ip);
    CHECK_STR(ip, "10.90.0.1");
    ip_format(&n.gw6, ip);
    CHECK_STR(ip, "fd00:90::1");
    struct jw w;
    jw_init(&w, NULL);
    network_write_json(&w, &n);
    struct network back;
    CHECK_INT(network_parse(w.buf, w.len, "network tn", &back), 0);
    jw_free(&w);
    CHECK_STR(back.name, "tn");
    CHECK_STR(back.bridge, "br-tn");
    CHECK(back.has_v6);
    CHECK(ip_equal(&back.gw6, &n.gw6));
    CHECK_INT(back.v4.prefix, 24);
    /* gateways must be host addresses of the subnet */
    struct network bad = n;
    CHECK_INT(network_complete(&bad, "10.91.0.1", NULL), -EINVAL);
    bad = n;
    CHECK_INT(network_complete(&bad, "10.90.0.255", NULL), -EINVAL);
    bad = n;
    CHECK_INT(network_complete(&bad, "10.90.0.254", NULL), 0);
    /* the IPv6 subnet needs as many host numbers as the IPv4 one */
    bad = n;
    cidr_parse("10.0.0.0/8", "x", &bad.v4);
    cidr_parse("fd00::/120", "x", &bad.v6);
    CHECK_INT(network_complete(&bad, NULL, NULL), -EINVAL);
    struct network def;
    memset(&def, 0, sizeof(def));
    snprintf(def.name, sizeof(def.name), "default");
    cidr_parse("10.88.0.0/16", "x", &def.v4);
    CHECK_INT(network_complete(&def, NULL, NULL), 0);
    CHECK_STR(def.bridge, "berth0");
    CHECK_INT(network_parse("{\"name\":\"x\"}", 12, "network x", &back), -EINVAL);
    CHECK_CONTAINS(err_msg(), "missing required field");
}

static void test_default_subnet(void)
{
    struct ipnet used[3], out;
    char buf[CIDR_STRLEN];
    CHECK_INT(default_subnet_pick(NULL, 0, &out), 0);
    cidr_format(&out, buf);
    CHECK_STR(buf, "10.88.0.0/16");
    cidr_parse("10.88.7.0/24", "x", &used[0]);
    cidr_parse("10.0.0.0/8", "x", &used[1]);
    CHECK_INT(default_subnet_pick(used, 1, &out), 0);
    cidr_format(&out, buf);
    CHECK_STR(buf, "10.89.0.0/16");
    CHECK_INT(default_subnet_pick(used, 2, &out), 0);
    cidr_format(&out, buf);
    CHECK_STR(buf, "172.17.0.0/16");
    /* a default route (prefix 0) overlaps nothing */
    memset(&used[2], 0, sizeof(used[2]));
    used[2].addr.family = AF_INET;
    CHECK_INT(default_subnet_pick(&used[2], 1, &out), 0);
    cidr_format(&out, buf);
    CHECK_STR(buf, "10.88.0.0/16");
}

UNIT_MAIN(UNIT(test_cidr), UNIT(test_net_math), UNIT(test_ipam_pick), UNIT(test_ports),
          UNIT(test_rates), UNIT(test_names), UNIT(test_leases), UNIT(test_network_json),
          UNIT(test_default_subnet))
