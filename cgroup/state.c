/*
 * The resolved cgroup in state.json: later commands (delete, update, pause,
 * ps, events) use the directories recorded at create time instead of
 * re-deriving them from a caller whose own cgroup may differ by then.
 *
 * {"mode":"hybrid","path":"/a/ctr","hierarchies":[{"name":"memory",
 *  "mountpoint":"/sys/fs/cgroup/memory","rel":"/a/ctr","dir":"...","top":"..."},...]}
 *
 * Written compactly, since list parses every container's state: "mountpoint" is left out when
 * it is /sys/fs/cgroup/NAME (v1), "dir" when it is mountpoint + rel, and "top" is true when it
 * is dir itself. The full form is read as well.
 */
#include <errno.h>
#include <string.h>

#include "cgroup/internal.h"
#include "lib/err.h"
#include "lib/util.h"

static const char *mode_key(enum cgroup_mode m)
{
    switch (m) {
    case CGROUP_MODE_UNIFIED: return "unified";
    case CGROUP_MODE_LEGACY: return "legacy";
    case CGROUP_MODE_HYBRID: return "hybrid";
    }
    return "unknown";
}

/* A v1 hierarchy's usual mountpoint; NULL for the unified one (it has no usual place). */
static char *default_mountpoint(const char *name, bool unified)
{
    return unified ? NULL : xstrjoin("/sys/fs/cgroup/", name);
}

static char *default_dir(const char *mountpoint, const char *rel)
{
    return xstrjoin(mountpoint, streq(rel, "/") ? "" : rel);
}

void cgroup_state_write(const struct cgroup *cg, struct jw *w)
{
    jw_object_begin(w);
    jw_kv_string(w, "mode", mode_key(cg->mode));
    jw_kv_string(w, "path", cg->path);
    jw_key(w, "hierarchies");
    jw_array_begin(w);
    for (size_t i = 0; i < cg->n_h; i++) {
        const struct cg_hier *h = &cg->h[i];
        _cleanup_free_ char *mnt = default_mountpoint(h->name, h->unified);
        _cleanup_free_ char *dir = default_dir(h->mountpoint, h->rel);
        jw_object_begin(w);
        jw_kv_string(w, "name", h->name);
        if (h->unified)
            jw_kv_bool(w, "unified", true);
        if (!mnt || !streq(mnt, h->mountpoint))
            jw_kv_string(w, "mountpoint", h->mountpoint);
        jw_kv_string(w, "rel", h->rel);
        if (!streq(dir, h->dir))
            jw_kv_string(w, "dir", h->dir);
        if (h->top && streq(h->top, h->dir))
            jw_kv_bool(w, "top", true);
        else if (h->top)
            jw_kv_string(w, "top", h->top);
        jw_object_end(w);
    }
    jw_array_end(w);
    jw_object_end(w);
}

static int bad(const char *what)
{
    return err_setx(EINVAL, "cgroup: state: %s", what);
}

static const char *str_member(const struct json *o, const char *key)
{
    const struct json *v = json_get(o, key);
    return v && v->type == JSON_STRING ? v->string : NULL;
}

/* Absolute, no "." or ".." components, no empty ones. */
static bool clean_abs_path(const char *p)
{
    if (!p || p[0] != '/')
        return false;
    for (const char *s = p; *s;) {
        while (*s == '/')
            s++;
        const char *e = strchrnul(s, '/');
        size_t n = (size_t)(e - s);
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        s = e;
    }
    return !strchr(p, '\n');
}

/* child equals parent or lies below it */
static bool within(const char *child, const char *parent, bool strictly)
{
    size_t n = strlen(parent);
    if (strncmp(child, parent, n) != 0)
        return false;
    if (child[n] == '\0')
        return !strictly;
    return child[n] == '/';
}

static int read_hier(const struct json *o, size_t idx, struct cg_hier *h)
{
    char what[128];
    if (!o || o->type != JSON_OBJECT) {
        snprintf(what, sizeof(what), "hierarchies[%zu] is not an object", idx);
        return bad(what);
    }
    const char *name = str_member(o, "name"), *mnt = str_member(o, "mountpoint");
    const char *rel = str_member(o, "rel"), *dir = str_member(o, "dir");
    const char *top = str_member(o, "top");
    const struct json *u = json_get(o, "unified"), *top_v = json_get(o, "top");
    bool unified = u && u->type == JSON_BOOL && u->boolean;
    _cleanup_free_ char *mnt_default = NULL, *dir_default = NULL;
    if (!mnt && name && (mnt_default = default_mountpoint(name, unified)))
        mnt = mnt_default;
    if (!dir && mnt && rel)
        dir = dir_default = default_dir(mnt, rel);
    if (top_v && top_v->type == JSON_BOOL && top_v->boolean)
        top = dir;

    if (!name || !mnt || !rel || !dir) {
        snprintf(what, sizeof(what), "hierarchies[%zu] lacks name, mountpoint, rel or dir", idx);
        return bad(what);
    }
    if (!clean_abs_path(mnt) || !within(mnt, "/sys/fs/cgroup", false) || !clean_abs_path(rel) ||
        !clean_abs_path(dir) || !within(dir, mnt, true) || (top && !clean_abs_path(top)) ||
        (top && (!within(dir, top, false) || !within(top, mnt, true)))) {
        snprintf(what, sizeof(what),
                 "hierarchies[%zu]: directory \"%s\" is not a clean path below a cgroup mount "
                 "in /sys/fs/cgroup",
                 idx, dir);
        return bad(what);
    }
    if (unified != (*name == '\0')) {
        snprintf(what, sizeof(what), "hierarchies[%zu]: name and unified disagree", idx);
        return bad(what);
    }
    h->unified = unified;
    h->name = xstrdup(name);
    h->mountpoint = xstrdup(mnt);
    h->mount_root = xstrdup("/");
    h->rel = xstrdup(rel);
    h->dir = xstrdup(dir);
    h->top = top ? xstrdup(top) : NULL;
    if (unified) {
        /* what the leaf is offered now, read when first needed: list and state never need it */
        h->ctrls_stale = true;
    } else {
        _cleanup_free_ char *copy = xstrdup(name);
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            int c = cg_ctrl_from_name(t, false);
            if (c >= 0)
                h->ctrls |= CG_BIT(c);
        }
    }
    return 0;
}

int cgroup_state_read(const struct json *v, struct cgroup **out)
{
    if (!v || v->type != JSON_OBJECT)
        return bad("expected an object");
    const char *mode = str_member(v, "mode"), *path = str_member(v, "path");
    const struct json *hs = json_get(v, "hierarchies");
    if (!mode || !path || !hs || hs->type != JSON_ARRAY || hs->n == 0)
        return bad("expected mode, path and a non-empty hierarchies array");

    _cleanup_cgroup_ struct cgroup *cg = xzalloc(sizeof(*cg));
    if (streq(mode, "unified"))
        cg->mode = CGROUP_MODE_UNIFIED;
    else if (streq(mode, "legacy"))
        cg->mode = CGROUP_MODE_LEGACY;
    else if (streq(mode, "hybrid"))
        cg->mode = CGROUP_MODE_HYBRID;
    else
        return bad("unknown mode");
    if (!clean_abs_path(path))
        return bad("path is not a clean absolute path");
    cg->path = xstrdup(path);

    cg->h = xcalloc(hs->n, sizeof(*cg->h));
    size_t n_unified = 0;
    for (size_t i = 0; i < hs->n; i++) {
        cg->n_h = i + 1;
        int r = read_hier(hs->items[i], i, &cg->h[i]);
        if (r < 0)
            return r;
        n_unified += cg->h[i].unified;
    }
    if (n_unified > 1 || (cg->mode == CGROUP_MODE_UNIFIED && (cg->n_h != 1 || n_unified != 1)) ||
        (cg->mode == CGROUP_MODE_HYBRID && n_unified != 1) ||
        (cg->mode == CGROUP_MODE_LEGACY && n_unified != 0))
        return bad("the hierarchies do not fit the mode");
    *out = TAKE_PTR(cg);
    return 0;
}

/* Whether name ("cpu,cpuacct", "freezer", ...) lists the v1 freezer. */
static bool names_freezer(const char *name)
{
    for (const char *s = name; *s;) {
        const char *e = strchrnul(s, ',');
        if (e - s == 7 && strncmp(s, "freezer", 7) == 0)
            return true;
        s = *e ? e + 1 : e;
    }
    return false;
}

int cgroup_state_is_frozen(const struct json *v, bool *frozen)
{
    *frozen = false;
    const struct json *hs = v && v->type == JSON_OBJECT ? json_get(v, "hierarchies") : NULL;
    if (!hs || hs->type != JSON_ARRAY)
        return bad("expected a hierarchies array");
    /* the v1 freezer when there is one, else the unified hierarchy: cgroup_is_frozen's order */
    size_t pick = hs->n;
    for (size_t i = 0; i < hs->n; i++) {
        const char *name = hs->items[i] && hs->items[i]->type == JSON_OBJECT
                                   ? str_member(hs->items[i], "name")
                                   : NULL;
        if (name && names_freezer(name)) {
            pick = i;
            break;
        }
        if (name && !*name)
            pick = i;
    }
    if (pick == hs->n)
        return 0;
    _cleanup_cgroup_ struct cgroup *cg = xzalloc(sizeof(*cg));
    cg->h = xcalloc(1, sizeof(*cg->h));
    cg->n_h = 1;
    int r = read_hier(hs->items[pick], pick, &cg->h[0]);
    return r < 0 ? r : cgroup_is_frozen(cg, frozen);
}
