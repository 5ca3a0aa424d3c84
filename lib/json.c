#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "err.h"
#include "json.h"
#include "util.h"

/* ---- tree building on yajl events ---- */

/* The members of every open container sit on one stack (a frame's start at `base`), so a
 * document costs no allocation per object or array: a closed container copies its slice into
 * the arena and pops it. */
struct member {
    const char *key;
    struct json *val;
};

struct frame {
    struct json *node;
    size_t base;
    const char *pending_key;
};

#define MEMBERS_INLINE 64

struct builder {
    struct arena *arena;
    struct frame stack[JSON_MAX_DEPTH];
    int depth;
    struct json *root;
    bool too_deep;
    const char *const *stop; /* json_parse_until's key path */
    bool stopped;
    struct member *members;
    size_t n_members, cap_members;
    struct member inline_members[MEMBERS_INLINE];
};

static struct json *node_new(struct builder *b, enum json_type t)
{
    struct json *v = arena_alloc(b->arena, sizeof(*v));
    v->type = t;
    return v;
}

static void members_grow(struct builder *b)
{
    size_t cap = b->cap_members * 2;
    if (b->members == b->inline_members) {
        b->members = xreallocarray(NULL, cap, sizeof(*b->members));
        memcpy(b->members, b->inline_members, sizeof(b->inline_members));
    } else {
        b->members = xreallocarray(b->members, cap, sizeof(*b->members));
    }
    b->cap_members = cap;
}

static int add_value(struct builder *b, struct json *v)
{
    if (b->depth == 0) {
        b->root = v;
        return 1;
    }
    if (b->n_members == b->cap_members)
        members_grow(b);
    struct frame *f = &b->stack[b->depth - 1];
    b->members[b->n_members++] = (struct member){.key = f->pending_key, .val = v};
    return 1;
}

static int on_null(void *ctx)
{
    return add_value(ctx, node_new(ctx, JSON_NULL));
}

static int on_boolean(void *ctx, int value)
{
    struct json *v = node_new(ctx, JSON_BOOL);
    v->boolean = value != 0;
    return add_value(ctx, v);
}

static int on_number(void *ctx, const char *s, size_t len)
{
    struct builder *b = ctx;
    struct json *v = node_new(b, JSON_NUMBER);
    v->number = arena_strndup(b->arena, s, len);
    v->n = len;
    return add_value(b, v);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    struct builder *b = ctx;
    struct json *v = node_new(b, JSON_STRING);
    v->string = arena_strndup(b->arena, (const char *)s, len);
    v->n = len;
    return add_value(b, v);
}

static int open_container(struct builder *b, enum json_type t)
{
    if (b->depth >= JSON_MAX_DEPTH) {
        b->too_deep = true;
        return 0;
    }
    struct json *v = node_new(b, t);
    add_value(b, v);
    b->stack[b->depth++] = (struct frame){.node = v, .base = b->n_members};
    return 1;
}

static int close_container(struct builder *b)
{
    struct frame *f = &b->stack[--b->depth];
    struct json *v = f->node;
    const struct member *m = b->members + f->base;
    size_t n = b->n_members - f->base;
    v->n = n;
    if (v->type == JSON_OBJECT) {
        v->object.keys = arena_alloc_array(b->arena, n, sizeof(*v->object.keys));
        v->object.values = arena_alloc_array(b->arena, n, sizeof(*v->object.values));
        for (size_t i = 0; i < n; i++) {
            v->object.keys[i] = m[i].key;
            v->object.values[i] = m[i].val;
        }
    } else {
        v->items = arena_alloc_array(b->arena, n, sizeof(*v->items));
        for (size_t i = 0; i < n; i++)
            v->items[i] = m[i].val;
    }
    b->n_members = f->base;
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, JSON_OBJECT);
}

/* Whether key, arriving in the innermost open object, completes the path b->stop. */
static bool at_stop(const struct builder *b, const unsigned char *key, size_t len)
{
    const char *const *p = b->stop;
    for (int i = 0; i < b->depth - 1; i++, p++)
        if (!*p || !b->stack[i].pending_key || !streq(*p, b->stack[i].pending_key))
            return false;
    return p[0] && !p[1] && strlen(p[0]) == len && memcmp(p[0], key, len) == 0;
}

static int on_map_key(void *ctx, const unsigned char *key, size_t len)
{
    struct builder *b = ctx;
    if (b->stop && at_stop(b, key, len)) {
        b->stopped = true;
        return 0;
    }
    b->stack[b->depth - 1].pending_key = arena_strndup(b->arena, (const char *)key, len);
    return 1;
}

static int on_end(void *ctx)
{
    return close_container(ctx);
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, JSON_ARRAY);
}

static const yajl_callbacks callbacks = {
        .yajl_null = on_null,
        .yajl_boolean = on_boolean,
        .yajl_number = on_number,
        .yajl_string = on_string,
        .yajl_start_map = on_start_map,
        .yajl_map_key = on_map_key,
        .yajl_end_map = on_end,
        .yajl_start_array = on_start_array,
        .yajl_end_array = on_end,
};

static void where(const char *text, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int parse_error(yajl_handle h, struct builder *b, const char *text, size_t len,
                       const char *what, bool at_end)
{
    size_t line, col;
    /* an error from yajl_complete_parse (e.g. premature EOF) is at the end of the input */
    size_t off = at_end ? len : yajl_get_bytes_consumed(h);
    where(text, off > len ? len : off, &line, &col);
    if (b->too_deep)
        return err_setx(EINVAL,
                        "%s: invalid JSON at line %zu, column %zu: nested deeper than %d levels",
                        what, line, col, JSON_MAX_DEPTH);
    unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)text, len);
    char clean[256];
    snprintf(clean, sizeof(clean), "%s", msg ? (char *)msg : "parse error");
    clean[strcspn(clean, "\n")] = '\0';
    size_t n = strlen(clean);
    while (n > 0 && (clean[n - 1] == '.' || clean[n - 1] == ' '))
        clean[--n] = '\0';
    if (msg)
        yajl_free_error(h, msg);
    return err_setx(EINVAL, "%s: invalid JSON at line %zu, column %zu: %s", what, line, col, clean);
}

int json_parse(struct arena *arena, const char *text, size_t len, const char *what,
               struct json **out)
{
    return json_parse_until(arena, text, len, what, NULL, out, NULL);
}

int json_parse_until(struct arena *arena, const char *text, size_t len, const char *what,
                     const char *const *stop, struct json **out, bool *stopped)
{
    struct builder b = {.arena = arena, .cap_members = MEMBERS_INLINE, .stop = stop};
    b.members = b.inline_members;
    yajl_handle h = yajl_alloc(&callbacks, NULL, &b);
    if (!h)
        die_oom();
    yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
    bool at_end = false;
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
        at_end = true;
    }
    int r = 0;
    if (b.stopped) {
        while (b.depth > 0)
            close_container(&b);
        st = yajl_status_ok;
    }
    if (stopped)
        *stopped = b.stopped;
    if (st != yajl_status_ok || !b.root)
        r = b.root || st != yajl_status_ok ? parse_error(h, &b, text, len, what, at_end)
                                           : err_setx(EINVAL, "%s: empty document", what);
    if (b.members != b.inline_members)
        free(b.members);
    yajl_free(h);
    if (r == 0)
        *out = b.root;
    return r;
}

/* True when the object has key with an explicit null (json_get hides those). */
static bool json_has_null(const struct json *v, const char *key)
{
    for (size_t i = v->n; i-- > 0;)
        if (streq(v->object.keys[i], key))
            return v->object.values[i]->type == JSON_NULL;
    return false;
}

struct json *json_get(const struct json *v, const char *key)
{
    if (!v || v->type != JSON_OBJECT)
        return NULL;
    for (size_t i = v->n; i-- > 0;)
        if (streq(v->object.keys[i], key))
            return v->object.values[i]->type == JSON_NULL ? NULL : v->object.values[i];
    return NULL;
}

/* ---- paths and errors ---- */

static bool is_ident(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

void jpath_format(const struct jpath *p, char *buf, size_t size)
{
    const struct jpath *chain[JSON_MAX_DEPTH + 8];
    int n = 0;
    for (; p && n < (int)ARRAY_SIZE(chain); p = p->up)
        chain[n++] = p;
    size_t len = 0;
    buf[0] = '\0';
    if (n == 0) {
        snprintf(buf, size, ".");
        return;
    }
    for (int i = n - 1; i >= 0 && len < size; i--) {
        const struct jpath *c = chain[i];
        int w;
        if (!c->key)
            w = snprintf(buf + len, size - len, "[%zu]", c->index);
        else if (is_ident(c->key))
            w = snprintf(buf + len, size - len, ".%s", c->key);
        else
            w = snprintf(buf + len, size - len, "[\"%s\"]", c->key);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

int json_error(const struct jctx *c, const struct jpath *p, const char *fmt, ...)
{
    char path[1024], msg[1024];
    va_list ap;
    jpath_format(p, path, sizeof(path));
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_setx(EINVAL, "%s: %s: %s", c->what, path, msg);
}

/* ---- typed reads ---- */

int jv_object(const struct jctx *c, const struct json *v, const struct jpath *p)
{
    return v->type == JSON_OBJECT ? 0 : json_error(c, p, "expected object");
}

int jv_array(const struct jctx *c, const struct json *v, const struct jpath *p)
{
    return v->type == JSON_ARRAY ? 0 : json_error(c, p, "expected array");
}

int jv_string(const struct jctx *c, const struct json *v, const struct jpath *p, char **out)
{
    if (v->type != JSON_STRING)
        return json_error(c, p, "expected string");
    if (memchr(v->string, '\0', v->n))
        return json_error(c, p, "string contains a NUL character");
    *out = (char *)v->string;
    return 0;
}

int jv_bool(const struct jctx *c, const struct json *v, const struct jpath *p, bool *out)
{
    if (v->type != JSON_BOOL)
        return json_error(c, p, "expected boolean");
    *out = v->boolean;
    return 0;
}

static bool is_integer_literal(const struct json *v, bool allow_negative)
{
    if (v->type != JSON_NUMBER)
        return false;
    const char *s = v->number;
    if (*s == '-') {
        if (!allow_negative)
            return false;
        s++;
    }
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int jv_u64(const struct jctx *c, const struct json *v, const struct jpath *p, uint64_t *out)
{
    return jv_uint_max(c, v, p, UINT64_MAX, out);
}

int jv_uint_max(const struct jctx *c, const struct json *v, const struct jpath *p, uint64_t max,
                uint64_t *out)
{
    if (!is_integer_literal(v, false))
        return json_error(c, p, "expected unsigned integer");
    uint64_t x;
    if (parse_u64(v->number, &x) < 0 || x > max)
        return json_error(c, p, "value %s out of range (0 to %" PRIu64 ")", v->number, max);
    *out = x;
    return 0;
}

int jv_i64(const struct jctx *c, const struct json *v, const struct jpath *p, int64_t *out)
{
    return jv_int_range(c, v, p, INT64_MIN, INT64_MAX, out);
}

int jv_int_range(const struct jctx *c, const struct json *v, const struct jpath *p, int64_t min,
                 int64_t max, int64_t *out)
{
    if (!is_integer_literal(v, true))
        return json_error(c, p, "expected integer");
    int64_t x;
    if (parse_i64(v->number, &x) < 0 || x < min || x > max)
        return json_error(c, p, "value %s out of range (%" PRId64 " to %" PRId64 ")", v->number,
                          min, max);
    *out = x;
    return 0;
}

int jv_strv(const struct jctx *c, const struct json *v, const struct jpath *p, char ***out,
            size_t *n)
{
    int r = jv_array(c, v, p);
    if (r < 0)
        return r;
    char **strv = arena_alloc_array(c->arena, v->n + 1, sizeof(char *));
    for (size_t i = 0; i < v->n; i++) {
        r = jv_string(c, v->items[i], JP_IDX(p, i), &strv[i]);
        if (r < 0)
            return r;
    }
    *out = strv;
    if (n)
        *n = v->n;
    return 0;
}

struct kv_sort {
    struct json_kv kv;
    size_t order;
};

static int kv_sort_cmp(const void *a, const void *b)
{
    const struct kv_sort *x = a, *y = b;
    int c = strcmp(x->kv.key, y->kv.key);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

int jv_strmap(const struct jctx *c, const struct json *v, const struct jpath *p,
              struct json_kv **out, size_t *n)
{
    int r = jv_object(c, v, p);
    if (r < 0)
        return r;
    _cleanup_free_ struct kv_sort *tmp = xcalloc(v->n, sizeof(*tmp));
    size_t k = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (v->object.values[i]->type == JSON_NULL)
            continue;
        char *s;
        r = jv_string(c, v->object.values[i], JP_KEY(p, v->object.keys[i]), &s);
        if (r < 0)
            return r;
        tmp[k++] = (struct kv_sort){.kv = {v->object.keys[i], s}, .order = i};
    }
    /* sorted by key like Go's map encoding; a repeated key keeps its last value */
    qsort(tmp, k, sizeof(*tmp), kv_sort_cmp);
    struct json_kv *kv = arena_alloc_array(c->arena, k, sizeof(*kv));
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (i + 1 < k && streq(tmp[i].kv.key, tmp[i + 1].kv.key))
            continue;
        kv[m++] = tmp[i].kv;
    }
    *out = kv;
    *n = m;
    return 0;
}

/* ---- members ---- */

#define MEMBER(o, key)                       \
    struct json *m = json_get((o), (key));   \
    if (!m)                                  \
        return 0;                            \
    const struct jpath *mp = JP_KEY(p, key); \
    int r

int jo_object(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
              struct json **out)
{
    MEMBER(o, key);
    if ((r = jv_object(c, m, mp)) < 0)
        return r;
    *out = m;
    return 1;
}

int jo_array(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
             struct json **out)
{
    MEMBER(o, key);
    if ((r = jv_array(c, m, mp)) < 0)
        return r;
    *out = m;
    return 1;
}

int jo_string(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
              char **out)
{
    MEMBER(o, key);
    return (r = jv_string(c, m, mp, out)) < 0 ? r : 1;
}

int jo_bool(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
            bool *out)
{
    MEMBER(o, key);
    return (r = jv_bool(c, m, mp, out)) < 0 ? r : 1;
}

int jo_opt_bool(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
                struct opt_bool *out)
{
    MEMBER(o, key);
    if ((r = jv_bool(c, m, mp, &out->v)) < 0)
        return r;
    out->set = true;
    return 1;
}

int jo_opt_u64(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
               struct opt_u64 *out)
{
    MEMBER(o, key);
    if ((r = jv_u64(c, m, mp, &out->v)) < 0)
        return r;
    out->set = true;
    return 1;
}

int jo_opt_i64(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
               struct opt_i64 *out)
{
    MEMBER(o, key);
    if ((r = jv_i64(c, m, mp, &out->v)) < 0)
        return r;
    out->set = true;
    return 1;
}

int jo_opt_u32(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
               struct opt_u32 *out)
{
    MEMBER(o, key);
    uint64_t x;
    if ((r = jv_uint_max(c, m, mp, UINT32_MAX, &x)) < 0)
        return r;
    out->v = (uint32_t)x;
    out->set = true;
    return 1;
}

int jo_opt_i32(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
               struct opt_i32 *out)
{
    MEMBER(o, key);
    int64_t x;
    if ((r = jv_int_range(c, m, mp, INT32_MIN, INT32_MAX, &x)) < 0)
        return r;
    out->v = (int32_t)x;
    out->set = true;
    return 1;
}

int jo_strv(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
            char ***out, size_t *n)
{
    MEMBER(o, key);
    return (r = jv_strv(c, m, mp, out, n)) < 0 ? r : 1;
}

int jo_strmap(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
              struct json_kv **out, size_t *n)
{
    MEMBER(o, key);
    return (r = jv_strmap(c, m, mp, out, n)) < 0 ? r : 1;
}

int jo_require(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
               struct json **out)
{
    struct json *m = json_get(o, key);
    if (!m)
        return json_error(c, JP_KEY(p, key), "missing required field");
    *out = m;
    return 0;
}

int jo_req_string(const struct jctx *c, const struct json *o, const struct jpath *p,
                  const char *key, char **out)
{
    struct json *v = NULL;
    int r = jo_require(c, o, p, key, &v);
    if (r < 0)
        return r;
    return jv_string(c, v, JP_KEY(p, key), out);
}

int jo_req_uint(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
                uint64_t max, uint64_t *out)
{
    struct json *v = NULL;
    int r = jo_require(c, o, p, key, &v);
    if (r < 0)
        return r;
    return jv_uint_max(c, v, JP_KEY(p, key), max, out);
}

int jo_req_int(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
               int64_t min, int64_t max, int64_t *out)
{
    struct json *v = NULL;
    int r = jo_require(c, o, p, key, &v);
    if (r < 0)
        return r;
    return jv_int_range(c, v, JP_KEY(p, key), min, max, out);
}

int jo_opt_u32_max(const struct jctx *c, const struct json *o, const struct jpath *p,
                   const char *key, uint32_t max, struct opt_u32 *out)
{
    struct opt_u64 x;
    int r = jo_opt_u64_max(c, o, p, key, max, &x);
    if (r > 0)
        *out = (struct opt_u32){.v = (uint32_t)x.v, .set = true};
    return r;
}

int jo_opt_u64_max(const struct jctx *c, const struct json *o, const struct jpath *p,
                   const char *key, uint64_t max, struct opt_u64 *out)
{
    MEMBER(o, key);
    if ((r = jv_uint_max(c, m, mp, max, &out->v)) < 0)
        return r;
    out->set = true;
    return 1;
}

int jo_opt_i64_range(const struct jctx *c, const struct json *o, const struct jpath *p,
                     const char *key, int64_t min, int64_t max, struct opt_i64 *out)
{
    MEMBER(o, key);
    if ((r = jv_int_range(c, m, mp, min, max, &out->v)) < 0)
        return r;
    out->set = true;
    return 1;
}

int jo_opt_i32_range(const struct jctx *c, const struct json *o, const struct jpath *p,
                     const char *key, int32_t min, int32_t max, struct opt_i32 *out)
{
    struct opt_i64 x;
    int r = jo_opt_i64_range(c, o, p, key, min, max, &x);
    if (r > 0)
        *out = (struct opt_i32){.v = (int32_t)x.v, .set = true};
    return r;
}

struct json *json_merge(struct arena *arena, const struct json *base, const struct json *patch)
{
    if (!patch)
        return (struct json *)base;
    if (!base || base->type != JSON_OBJECT || patch->type != JSON_OBJECT)
        return (struct json *)patch;
    struct json *out = arena_alloc(arena, sizeof(*out));
    out->type = JSON_OBJECT;
    size_t cap = base->n + patch->n;
    out->object.keys = arena_alloc_array(arena, cap, sizeof(char *));
    out->object.values = arena_alloc_array(arena, cap, sizeof(struct json *));
    for (size_t i = 0; i < base->n; i++) {
        const char *k = base->object.keys[i];
        struct json *pv = json_get(patch, k);
        bool removed = !pv && json_has_null(patch, k);
        if (removed || (json_get(base, k) != base->object.values[i]))
            continue; /* a duplicate key earlier in base, or removed by the patch */
        out->object.keys[out->n] = k;
        out->object.values[out->n++] = json_merge(arena, base->object.values[i], pv);
    }
    for (size_t i = 0; i < patch->n; i++) {
        const char *k = patch->object.keys[i];
        struct json *pv = patch->object.values[i];
        if (pv->type == JSON_NULL || json_get(base, k) || json_get(patch, k) != pv)
            continue;
        out->object.keys[out->n] = k;
        out->object.values[out->n++] = pv;
    }
    return out;
}
