/* Network definitions and address leases under <root>/.networks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/util.h"
#include "netns/store.h"
#include "runtime/state.h"

#define NETWORK_FILE_MAX (64 * 1024)
#define LEASES_FILE_MAX  (64 * 1024 * 1024)

int store_open(const char *root, bool create, int *dirfd)
{
    _cleanup_free_ char *path = xasprintf("%s" STORE_DIR, root);
    if (create) {
        int r = mkdir_p(path, 0700);
        if (r < 0)
            return err_set(r, "create the networks directory %s", path);
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && !create)
            return -ENOENT;
        return err_set(errno, "open the networks directory %s", path);
    }
    *dirfd = fd;
    return 0;
}

int store_lock(int dirfd, int *lockfd)
{
    int fd = openat(dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(errno, "open the networks lock file");
    if (RETRY_EINTR(flock(fd, LOCK_EX)) < 0) {
        int e = errno;
        close(fd);
        return err_set(e, "lock the networks store");
    }
    *lockfd = fd;
    return 0;
}

/* ---- networks ---- */

void network_write_json(struct jw *w, const struct network *n)
{
    char buf[CIDR_STRLEN], ip[IP_STRLEN];
    jw_object_begin(w);
    jw_kv_string(w, "name", n->name);
    jw_kv_string(w, "bridge", n->bridge);
    cidr_format(&n->v4, buf);
    jw_kv_string(w, "subnet", buf);
    ip_format(&n->gw4, ip);
    jw_kv_string(w, "gateway", ip);
    if (n->has_v6) {
        cidr_format(&n->v6, buf);
        jw_kv_string(w, "ipv6Subnet", buf);
        ip_format(&n->gw6, ip);
        jw_kv_string(w, "ipv6Gateway", ip);
    }
    jw_kv_uint(w, "mtu", n->mtu);
    jw_kv_string(w, "created", n->created);
    jw_object_end(w);
}

int network_complete(struct network *n, const char *gw4, const char *gw6)
{
    int r;
    if (gw4) {
        if ((r = ip_parse(gw4, "--gateway", &n->gw4)) < 0)
            return r;
        uint64_t i = net_contains(&n->v4, &n->gw4) ? net_index(&n->v4, &n->gw4) : 0;
        if (n->gw4.family != AF_INET || i < 1 || i > net_last_index(&n->v4))
            return err_setx(EINVAL, "--gateway %s is not a host address of the subnet", gw4);
    } else {
        net_nth(&n->v4, 1, &n->gw4);
    }
    if (n->has_v6 && gw6) {
        if ((r = ip_parse(gw6, "--ipv6-gateway", &n->gw6)) < 0)
            return r;
        if (n->gw6.family != AF_INET6 || !net_contains(&n->v6, &n->gw6))
            return err_setx(EINVAL, "--ipv6-gateway %s is not in the IPv6 subnet", gw6);
    } else if (n->has_v6) {
        net_nth(&n->v6, 1, &n->gw6);
    }
    if (n->has_v6 && net_host_bits(&n->v6) < net_host_bits(&n->v4))
        return err_setx(EINVAL, "the IPv6 subnet must have at least as many host addresses as "
                                "the IPv4 subnet (containers get the same host number in both)");
    if (!n->mtu)
        n->mtu = 1500;
    if (n->mtu < 576 || n->mtu > 65535)
        return err_setx(EINVAL, "MTU %u is outside 576..65535", n->mtu);
    if (!n->bridge[0])
        snprintf(n->bridge, sizeof(n->bridge), streq(n->name, "default") ? "berth0" : "br-%s",
                 n->name);
    if (!n->created[0]) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        format_rfc3339nano(&now, n->created);
    }
    return 0;
}

int network_parse(const char *text, size_t len, const char *what, struct network *out)
{
    struct arena a = {0};
    struct json *doc;
    struct jctx c = {.what = what, .arena = &a};
    char *name = NULL, *bridge = NULL, *subnet = NULL, *gw = NULL, *subnet6 = NULL, *gw6 = NULL,
         *created = NULL;
    struct opt_u32 mtu = {0};
    memset(out, 0, sizeof(*out));
    int r = json_parse(&a, text, len, what, &doc);
    if (r == 0)
        r = jv_object(&c, doc, NULL);
    if (r == 0)
        r = jo_req_string(&c, doc, NULL, "name", &name);
    if (r == 0)
        r = jo_req_string(&c, doc, NULL, "bridge", &bridge);
    if (r == 0)
        r = jo_req_string(&c, doc, NULL, "subnet", &subnet);
    if (r == 0)
        r = jo_req_string(&c, doc, NULL, "gateway", &gw);
    if (r >= 0)
        r = jo_string(&c, doc, NULL, "ipv6Subnet", &subnet6);
    if (r >= 0)
        r = jo_string(&c, doc, NULL, "ipv6Gateway", &gw6);
    if (r >= 0)
        r = jo_string(&c, doc, NULL, "created", &created);
    if (r >= 0)
        r = jo_opt_u32(&c, doc, NULL, "mtu", &mtu);
    if (r >= 0 && (strlen(name) > NETWORK_NAME_MAX || strlen(bridge) >= IFNAMSIZ))
        r = err_setx(EINVAL, "%s: name or bridge too long", what);
    if (r >= 0) {
        snprintf(out->name, sizeof(out->name), "%s", name);
        snprintf(out->bridge, sizeof(out->bridge), "%s", bridge);
        snprintf(out->created, sizeof(out->created), "%s", created ? created : "");
        out->mtu = mtu.set ? mtu.v : 1500;
        r = cidr_parse(subnet, what, &out->v4);
    }
    if (r >= 0)
        r = ip_parse(gw, what, &out->gw4);
    if (r >= 0 && subnet6) {
        out->has_v6 = true;
        r = cidr_parse(subnet6, what, &out->v6);
        if (r >= 0)
            r = gw6 ? ip_parse(gw6, what, &out->gw6) : err_setx(EINVAL, "%s: no ipv6Gateway", what);
    }
    arena_free(&a);
    return r < 0 ? r : 0;
}

int network_load(int dirfd, const char *name, struct network *out)
{
    _cleanup_free_ char *file = xasprintf("%s.json", name), *text = NULL;
    size_t len;
    int r = read_file_at(dirfd, file, NETWORK_FILE_MAX, &text, &len);
    if (r == -ENOENT)
        return err_setx(ENOENT,
                        "network %s does not exist (create it with: berth network create "
                        "%s --subnet CIDR)",
                        name, name);
    if (r < 0)
        return err_set(r, "read network %s", name);
    _cleanup_free_ char *what = xasprintf("network %s", name);
    return network_parse(text, len, what, out);
}

int network_save(int dirfd, const struct network *n)
{
    struct jw w;
    jw_init(&w, "  ");
    network_write_json(&w, n);
    jw_putc(&w, '\n');
    _cleanup_free_ char *file = xasprintf("%s.json", n->name);
    int r = write_file_atomic_at(dirfd, file, w.buf, w.len, 0600);
    jw_free(&w);
    return r < 0 ? err_set(r, "save network %s", n->name) : 0;
}

int network_delete_file(int dirfd, const char *name)
{
    _cleanup_free_ char *file = xasprintf("%s.json", name);
    if (unlinkat(dirfd, file, 0) < 0 && errno != ENOENT)
        return err_set(errno, "remove network %s", name);
    return 0;
}

static int cmp_network(const void *a, const void *b)
{
    return strcmp(((const struct network *)a)->name, ((const struct network *)b)->name);
}

int network_list(int dirfd, struct network **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_set(errno, "open the networks directory");
    _cleanup_closedir_ DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return err_set(errno, "list the networks directory");
    }
    struct dirent *de;
    size_t cap = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !endswith(de->d_name, ".json"))
            continue;
        _cleanup_free_ char *name = xstrndup(de->d_name, strlen(de->d_name) - 5);
        struct network net;
        if (network_name_validate(name) < 0 || network_load(dirfd, name, &net) < 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = xreallocarray(*out, cap, sizeof(**out));
        }
        (*out)[(*n)++] = net;
    }
    err_clear();
    if (*n)
        qsort(*out, *n, sizeof(**out), cmp_network);
    return 0;
}

/* ---- leases ---- */

void leases_free(struct leases *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].id);
        free(l->v[i].ports);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void leases_remove(struct leases *l, size_t i)
{
    free(l->v[i].id);
    free(l->v[i].ports);
    memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(l->v[0]));
    l->n--;
}

void leases_add(struct leases *l, const char *network, const struct ipaddr *a,
                const struct ipaddr *a6, const char *id, pid_t pid, uint64_t start,
                const struct port_map *ports, size_t n_ports)
{
    l->v = xreallocarray(l->v, l->n + 1, sizeof(l->v[0]));
    struct lease *e = &l->v[l->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->network, sizeof(e->network), "%s", network);
    e->addr = *a;
    if (a6)
        e->addr6 = *a6;
    e->id = xstrdup(id);
    e->pid = pid;
    e->start = start;
    if (n_ports) {
        e->ports = xcalloc(n_ports, sizeof(*ports));
        memcpy(e->ports, ports, n_ports * sizeof(*ports));
    }
    e->n_ports = n_ports;
}

static int parse_ports(char *s, struct lease *e)
{
    if (streq(s, "-"))
        return 0;
    size_t n = 1;
    for (char *p = s; *p; p++)
        n += *p == ',';
    e->ports = xcalloc(n, sizeof(*e->ports));
    char *save = NULL;
    for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int r = port_parse(tok, &e->ports[e->n_ports]);
        if (r < 0)
            return r;
        e->n_ports++;
    }
    return 0;
}

static int parse_lease_line(char *line, struct lease *e)
{
    char *f[6];
    char *save = NULL;
    size_t n = 0;
    for (char *tok = strtok_r(line, " \t", &save); tok && n < 6; tok = strtok_r(NULL, " \t", &save))
        f[n++] = tok;
    memset(e, 0, sizeof(*e));
    if (n != 6 || strlen(f[0]) > NETWORK_NAME_MAX)
        return -EINVAL;
    snprintf(e->network, sizeof(e->network), "%s", f[0]);
    int pid;
    char *comma = strchr(f[1], ',');
    if (comma) {
        *comma = '\0';
        if (ip_parse(comma + 1, "lease", &e->addr6) < 0 || e->addr6.family != AF_INET6)
            return -EINVAL;
    }
    if (ip_parse(f[1], "lease", &e->addr) < 0 || parse_int(f[3], &pid) < 0 ||
        parse_u64(f[4], &e->start) < 0)
        return -EINVAL;
    e->pid = pid;
    e->id = xstrdup(f[2]);
    return parse_ports(f[5], e);
}

int leases_parse(const char *text, struct leases *out)
{
    memset(out, 0, sizeof(*out));
    _cleanup_free_ char *copy = xstrdup(text);
    char *save = NULL;
    size_t lineno = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (!*line || *line == '#')
            continue;
        struct lease e;
        int r = parse_lease_line(line, &e);
        if (r < 0) {
            free(e.id);
            free(e.ports);
            leases_free(out);
            return err_setx(EINVAL,
                            "networks leases file, line %zu: malformed (expected "
                            "NETWORK ADDRESS ID PID START PORTS)",
                            lineno);
        }
        out->v = xreallocarray(out->v, out->n + 1, sizeof(out->v[0]));
        out->v[out->n++] = e;
    }
    return 0;
}

char *leases_format(const struct leases *l)
{
    size_t cap = 256, len = 0;
    char *buf = xmalloc(cap);
    buf[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        const struct lease *e = &l->v[i];
        char ip[2 * IP_STRLEN + 1], ip6[IP_STRLEN], port[96];
        ip_format(&e->addr, ip);
        if (e->addr6.family) {
            ip_format(&e->addr6, ip6);
            strcat(ip, ",");
            strcat(ip, ip6);
        }
        size_t need = strlen(e->network) + strlen(ip) + strlen(e->id) + 64 + e->n_ports * 96;
        if (len + need + 1 > cap) {
            cap = (len + need + 1) * 2;
            buf = xrealloc(buf, cap);
        }
        len += (size_t)snprintf(buf + len, cap - len, "%s %s %s %d %llu ", e->network, ip, e->id,
                                (int)e->pid, (unsigned long long)e->start);
        for (size_t j = 0; j < e->n_ports; j++) {
            port_format(&e->ports[j], port, sizeof(port));
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", j ? "," : "", port);
        }
        len += (size_t)snprintf(buf + len, cap - len, "%s\n", e->n_ports ? "" : "-");
    }
    return buf;
}

int leases_load(int dirfd, struct leases *out)
{
    _cleanup_free_ char *text = NULL;
    memset(out, 0, sizeof(*out));
    int r = read_file_at(dirfd, "leases", LEASES_FILE_MAX, &text, NULL);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return err_set(r, "read the networks leases file");
    return leases_parse(text, out);
}

int leases_save(int dirfd, const struct leases *l)
{
    _cleanup_free_ char *text = leases_format(l);
    int r = write_file_atomic_at(dirfd, "leases", text, strlen(text), 0600);
    return r < 0 ? err_set(r, "write the networks leases file") : 0;
}

static bool lease_stale(int rootfd, const struct lease *e)
{
    struct stat st;
    char dir[STATE_DIR_NAME_MAX];
    if (id_validate(e->id) < 0)
        return true;
    state_dir_name(e->id, dir);
    if (fstatat(rootfd, dir, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
        return true;
    if (e->pid <= 0)
        return false; /* being attached */
    uint64_t start;
    char state;
    if (proc_start_time(e->pid, &start, &state) < 0 || start != e->start || state == 'Z')
        return true;
    return false;
}

bool lease_is_stale(const char *root, const struct lease *e)
{
    _cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool stale = rootfd >= 0 && lease_stale(rootfd, e);
    err_clear();
    return stale;
}

size_t leases_reclaim(const char *root, struct leases *l)
{
    _cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return 0;
    size_t dropped = 0;
    for (size_t i = 0; i < l->n;) {
        if (lease_stale(rootfd, &l->v[i])) {
            leases_remove(l, i);
            dropped++;
        } else {
            i++;
        }
    }
    err_clear();
    return dropped;
}
