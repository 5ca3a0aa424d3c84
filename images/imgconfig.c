#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/imgconfig.h"
#include "lib/err.h"
#include "lib/util.h"

#define ID_MAX 4294967294ULL

static bool numeric(const char *s, uint32_t *out)
{
    uint64_t v;
    if (parse_u64(s, &v) < 0 || v > ID_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Field i (0-based) of a colon separated line, copied into buf. */
static bool field(const char *line, size_t len, int i, char *buf, size_t size)
{
    const char *p = line, *end = line + len;
    for (int k = 0; k < i; k++) {
        const char *c = memchr(p, ':', (size_t)(end - p));
        if (!c)
            return false;
        p = c + 1;
    }
    const char *c = memchr(p, ':', (size_t)(end - p));
    size_t n = (size_t)((c ? c : end) - p);
    if (n >= size)
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return true;
}

typedef bool (*line_fn)(const char *line, size_t len, void *data);

static void each_line(const char *text, line_fn fn, void *data)
{
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len && p[0] != '#' && fn(p, len, data))
            return;
        p = nl ? nl + 1 : NULL;
    }
}

struct pw_query {
    const char *name; /* match by name, or */
    bool by_uid;
    uint32_t uid;
    bool found;
    char pw_name[256];
    uint32_t pw_uid, pw_gid;
    char home[1024];
};

static bool pw_line(const char *line, size_t len, void *data)
{
    struct pw_query *q = data;
    char name[256], uid[32], gid[32], home[1024];
    if (!field(line, len, 0, name, sizeof(name)) || !field(line, len, 2, uid, sizeof(uid)) ||
        !field(line, len, 3, gid, sizeof(gid)))
        return false;
    if (!field(line, len, 5, home, sizeof(home)))
        home[0] = '\0';
    uint32_t u, g;
    if (!numeric(uid, &u) || !numeric(gid, &g))
        return false;
    if (q->by_uid ? u != q->uid : !streq(name, q->name))
        return false;
    q->found = true;
    snprintf(q->pw_name, sizeof(q->pw_name), "%s", name);
    q->pw_uid = u;
    q->pw_gid = g;
    snprintf(q->home, sizeof(q->home), "%s", home);
    return true;
}

struct gr_query {
    const char *name;
    bool found;
    uint32_t gid;
};

static bool gr_line(const char *line, size_t len, void *data)
{
    struct gr_query *q = data;
    char name[256], gid[32];
    if (!field(line, len, 0, name, sizeof(name)) || !field(line, len, 2, gid, sizeof(gid)))
        return false;
    if (!streq(name, q->name) || !numeric(gid, &q->gid))
        return false;
    q->found = true;
    return true;
}

struct member_query {
    struct arena *a;
    const char *user;
    uint32_t primary;
    uint32_t gids[64];
    size_t n;
};

static bool member_line(const char *line, size_t len, void *data)
{
    struct member_query *q = data;
    char gid[32], members[4096];
    uint32_t g;
    if (!field(line, len, 2, gid, sizeof(gid)) || !field(line, len, 3, members, sizeof(members)) ||
        !numeric(gid, &g) || g == q->primary)
        return false;
    char *save = NULL;
    for (char *m = strtok_r(members, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*m))
            m++;
        for (size_t l = strlen(m); l && isspace((unsigned char)m[l - 1]); l--)
            m[l - 1] = '\0';
        if (!streq(m, q->user))
            continue;
        bool dup = false;
        for (size_t i = 0; i < q->n; i++)
            dup = dup || q->gids[i] == g;
        if (!dup && q->n < ARRAY_SIZE(q->gids))
            q->gids[q->n++] = g;
        break;
    }
    return false;
}

int user_resolve(struct arena *a, const char *spec, const char *passwd, const char *group,
                 struct resolved_user *out)
{
    memset(out, 0, sizeof(*out));
    char user[256] = "", grp[256] = "";
    const char *colon = spec ? strchr(spec, ':') : NULL;
    if (spec && strlen(spec) >= sizeof(user))
        return err_setx(EINVAL, "user \"%s\": too long", spec);
    if (spec) {
        snprintf(user, sizeof(user), "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
        if (colon)
            snprintf(grp, sizeof(grp), "%s", colon + 1);
    }
    if (colon && !*grp)
        return err_setx(EINVAL, "user \"%s\": the group after ':' is empty", spec);
    if (!*user && colon)
        return err_setx(EINVAL, "user \"%s\": the user before ':' is empty", spec);
    if (!*user)
        snprintf(user, sizeof(user), "0");
    struct pw_query pq = {0};
    uint32_t uid;
    if (numeric(user, &uid)) {
        pq.by_uid = true;
        pq.uid = uid;
        each_line(passwd, pw_line, &pq);
        out->uid = uid;
        out->gid = pq.found ? pq.pw_gid : 0;
    } else {
        pq.name = user;
        each_line(passwd, pw_line, &pq);
        if (!pq.found)
            return err_setx(ENOENT, "user \"%s\" not found in the image's /etc/passwd%s", user,
                            passwd ? "" : " (the image has none)");
        out->uid = pq.pw_uid;
        out->gid = pq.pw_gid;
    }
    if (*grp) {
        uint32_t gid;
        struct gr_query gq = {.name = grp};
        if (numeric(grp, &gid)) {
            out->gid = gid;
        } else {
            each_line(group, gr_line, &gq);
            if (!gq.found)
                return err_setx(ENOENT, "group \"%s\" not found in the image's /etc/group%s", grp,
                                group ? "" : " (the image has none)");
            out->gid = gq.gid;
        }
    }
    if (pq.found && *pq.home)
        out->home = arena_strdup(a, pq.home);
    else if (out->uid == 0)
        out->home = arena_strdup(a, "/root");
    if (pq.found) {
        struct member_query mq = {.a = a, .user = pq.pw_name, .primary = out->gid};
        each_line(group, member_line, &mq);
        if (mq.n) {
            out->gids = arena_alloc_array(a, mq.n, sizeof(uint32_t));
            memcpy(out->gids, mq.gids, mq.n * sizeof(uint32_t));
            out->n_gids = mq.n;
        }
    }
    return 0;
}

/* ---- process ---- */

struct strv_builder {
    struct arena *a;
    char **v;
    size_t n, cap;
};

static void sb_add(struct strv_builder *b, const char *s)
{
    if (b->n + 1 >= b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        char **v = arena_alloc_array(b->a, cap, sizeof(char *));
        if (b->n)
            memcpy(v, b->v, b->n * sizeof(char *));
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = arena_strdup(b->a, s);
    b->v[b->n] = NULL;
}

static int strv_of(const struct json *cfg, const char *key, const struct json **out)
{
    *out = NULL;
    const struct json *v = cfg ? json_get(cfg, key) : NULL;
    if (!v)
        return 0;
    if (v->type != JSON_ARRAY)
        return err_setx(EINVAL, "image config: .config.%s: expected an array of strings", key);
    for (size_t i = 0; i < v->n; i++)
        if (v->items[i]->type != JSON_STRING)
            return err_setx(EINVAL, "image config: .config.%s[%zu]: expected a string", key, i);
    *out = v;
    return 0;
}

static size_t key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Set (replace or append) KEY=VALUE in the env builder. */
static void env_set(struct strv_builder *b, const char *kv)
{
    size_t k = key_len(kv);
    for (size_t i = 0; i < b->n; i++) {
        if (key_len(b->v[i]) == k && strncmp(b->v[i], kv, k) == 0) {
            b->v[i] = arena_strdup(b->a, kv);
            return;
        }
    }
    sb_add(b, kv);
}

static bool env_has(const struct strv_builder *b, const char *key)
{
    size_t k = strlen(key);
    for (size_t i = 0; i < b->n; i++)
        if (key_len(b->v[i]) == k && strncmp(b->v[i], key, k) == 0)
            return true;
    return false;
}

static int build_env(struct arena *a, const struct json *cfg, const struct run_overrides *o,
                     const struct resolved_user *u, struct image_process *out)
{
    const struct json *env;
    int r = strv_of(cfg, "Env", &env);
    if (r < 0)
        return r;
    struct strv_builder b = {.a = a};
    for (size_t i = 0; env && i < env->n; i++)
        if (strchr(env->items[i]->string, '='))
            env_set(&b, env->items[i]->string);
    for (size_t i = 0; i < o->n_env; i++) {
        const char *e = o->env[i];
        if (!*e || *e == '=')
            return err_setx(EINVAL, "-e \"%s\": expected KEY=VALUE or KEY", e);
        if (strchr(e, '=')) {
            env_set(&b, e);
            continue;
        }
        const char *v = getenv(e);
        if (v) {
            _cleanup_free_ char *kv = xasprintf("%s=%s", e, v);
            env_set(&b, kv);
        }
    }
    if (!env_has(&b, "PATH"))
        env_set(&b, DEFAULT_PATH_ENV);
    if (!env_has(&b, "HOME") && u->home) {
        _cleanup_free_ char *kv = xasprintf("HOME=%s", u->home);
        env_set(&b, kv);
    }
    if (o->hostname && !env_has(&b, "HOSTNAME")) {
        _cleanup_free_ char *kv = xasprintf("HOSTNAME=%s", o->hostname);
        env_set(&b, kv);
    }
    if (o->terminal && !env_has(&b, "TERM"))
        env_set(&b, "TERM=xterm");
    if (!b.v)
        sb_add(&b, DEFAULT_PATH_ENV);
    out->env = b.v;
    out->n_env = b.n;
    return 0;
}

static int build_args(struct arena *a, const struct json *cfg, const struct run_overrides *o,
                      struct image_process *out)
{
    const struct json *ep, *cmd;
    int r = strv_of(cfg, "Entrypoint", &ep);
    if (r < 0 || (r = strv_of(cfg, "Cmd", &cmd)) < 0)
        return r;
    struct strv_builder b = {.a = a};
    if (o->entrypoint) {
        if (*o->entrypoint)
            sb_add(&b, o->entrypoint);
    } else {
        for (size_t i = 0; ep && i < ep->n; i++)
            sb_add(&b, ep->items[i]->string);
    }
    if (o->n_cmd) {
        for (size_t i = 0; i < o->n_cmd; i++)
            sb_add(&b, o->cmd[i]);
    } else if (!o->entrypoint) {
        for (size_t i = 0; cmd && i < cmd->n; i++)
            sb_add(&b, cmd->items[i]->string);
    }
    if (!b.n)
        return err_setx(EINVAL, "the image has no Entrypoint or Cmd: give the command to run "
                                "after the container id");
    out->args = b.v;
    out->n_args = b.n;
    return 0;
}

int image_process_build(struct arena *a, const struct json *config, const struct run_overrides *o,
                        const char *passwd, const char *group, struct image_process *out)
{
    memset(out, 0, sizeof(*out));
    const struct json *cfg = config && config->type == JSON_OBJECT ? config : NULL;
    const struct json *user = cfg ? json_get(cfg, "User") : NULL;
    const char *spec = o->user ? o->user : user && user->type == JSON_STRING ? user->string : NULL;
    int r = user_resolve(a, spec, passwd, group, &out->user);
    if (r < 0)
        return r;
    if ((r = build_args(a, cfg, o, out)) < 0 || (r = build_env(a, cfg, o, &out->user, out)) < 0)
        return r;
    const struct json *wd = cfg ? json_get(cfg, "WorkingDir") : NULL;
    const char *cwd = o->workdir                                     ? o->workdir
                      : wd && wd->type == JSON_STRING && *wd->string ? wd->string
                                                                     : "/";
    if (cwd[0] != '/')
        return err_setx(EINVAL, "working directory \"%s\" is not absolute", cwd);
    out->cwd = arena_strdup(a, cwd);
    const struct json *ss = cfg ? json_get(cfg, "StopSignal") : NULL;
    if (ss && ss->type == JSON_STRING && *ss->string)
        out->stop_signal = arena_strdup(a, ss->string);
    const struct json *labels = cfg ? json_get(cfg, "Labels") : NULL;
    if (labels && labels->type == JSON_OBJECT && labels->n) {
        out->labels = arena_alloc_array(a, labels->n, sizeof(*out->labels));
        for (size_t i = 0; i < labels->n; i++) {
            if (labels->object.values[i]->type != JSON_STRING)
                continue;
            out->labels[out->n_labels++] =
                    (struct json_kv){arena_strdup(a, labels->object.keys[i]),
                                     arena_strdup(a, labels->object.values[i]->string)};
        }
    }
    return 0;
}

/* ---- sizes ---- */

int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !isdigit((unsigned char)*s))
        return -EINVAL;
    double v = strtod(s, &end);
    if (errno || end == s)
        return -EINVAL;
    uint64_t mult = 1;
    if (*end) {
        switch (tolower((unsigned char)*end)) {
        case 'b': mult = 1; break;
        case 'k': mult = 1ULL << 10; break;
        case 'm': mult = 1ULL << 20; break;
        case 'g': mult = 1ULL << 30; break;
        case 't': mult = 1ULL << 40; break;
        default: return -EINVAL;
        }
        end++;
        if (*end == 'i')
            end++;
        if (*end == 'b' || *end == 'B')
            end++;
        if (*end)
            return -EINVAL;
    }
    double bytes = v * (double)mult;
    if (bytes < 1 || bytes > 9.0e18)
        return -ERANGE;
    *out = (uint64_t)bytes;
    return 0;
}

int parse_cpus(const char *s, uint64_t *quota)
{
    char *end;
    errno = 0;
    if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
        return -EINVAL;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return -EINVAL;
    if (v < 0.01 || v > 4096)
        return -ERANGE;
    *quota = (uint64_t)(v * 100000.0 + 0.5);
    return 0;
}
