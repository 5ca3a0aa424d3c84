/*
 * JSON in and out.
 *
 * Reading: yajl's event parser builds a tree in an arena. Nesting is capped
 * (JSON_MAX_DEPTH) while parsing, numbers keep their text (uint64 values such as
 * RLIM_INFINITY do not fit a long long), and freeing is one arena_free: no
 * input can exhaust the stack. Typed accessors carry a JSON path so every error
 * reads "config.json: .process.rlimits[1].hard: expected unsigned integer".
 *
 * Writing: a small writer that formats exactly as Go's encoding/json does
 * (runc's outputs), including its HTML-safe escaping and two-space indents.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "macros.h"

#define JSON_MAX_DEPTH 128

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_OBJECT, JSON_ARRAY };

struct json {
    enum json_type type;
    size_t n; /* members of an object, items of an array, bytes of a string */
    union {
        bool boolean;
        const char *number; /* the literal text */
        const char *string;
        struct {
            const char **keys;
            struct json **values;
        } object;
        struct json **items;
    };
};

/* Parse text (len bytes) into a tree allocated in arena. `what` names the input in errors. */
int json_parse(struct arena *arena, const char *text, size_t len, const char *what,
               struct json **out);

/* json_parse, but stop at the first key that completes the path stop (NULL-terminated keys
 * from the root, e.g. {"a", "b", NULL} for the key b of the object a): *out then holds what
 * came before, every open object and array closed, and *stopped is true. What follows the
 * stop is neither built nor checked. */
int json_parse_until(struct arena *arena, const char *text, size_t len, const char *what,
                     const char *const *stop, struct json **out, bool *stopped);

/* The member `key` of an object, or NULL when absent, null, or v is not an object.
 * Duplicate keys: the last one wins, as in Go. */
struct json *json_get(const struct json *v, const char *key);

/* A location in a document, built on the stack while descending. */
struct jpath {
    const struct jpath *up;
    const char *key; /* NULL for an array element */
    size_t index;
};
#define JP_KEY(parent, k) (&(const struct jpath){.up = (parent), .key = (k)})
#define JP_IDX(parent, i) (&(const struct jpath){.up = (parent), .index = (i)})

/* ".process.rlimits[1].hard" (keys that are not identifiers as ["key"]). */
void jpath_format(const struct jpath *p, char *buf, size_t size);

/* Context for typed reads: the document name for errors and the arena for copies. */
struct jctx {
    const char *what;
    struct arena *arena;
};

/* Record "<what>: <path>: <message>" and return -EINVAL. */
int json_error(const struct jctx *c, const struct jpath *p, const char *fmt, ...) _printf_(3, 4);

struct opt_u64 {
    uint64_t v;
    bool set;
};
struct opt_i64 {
    int64_t v;
    bool set;
};
struct opt_u32 {
    uint32_t v;
    bool set;
};
struct opt_i32 {
    int32_t v;
    bool set;
};
struct opt_bool {
    bool v;
    bool set;
};

struct json_kv {
    const char *key;
    const char *value;
};

/* Typed reads of a value. */
int jv_object(const struct jctx *c, const struct json *v, const struct jpath *p);
int jv_array(const struct jctx *c, const struct json *v, const struct jpath *p);
int jv_string(const struct jctx *c, const struct json *v, const struct jpath *p, char **out);
int jv_bool(const struct jctx *c, const struct json *v, const struct jpath *p, bool *out);
int jv_u64(const struct jctx *c, const struct json *v, const struct jpath *p, uint64_t *out);
int jv_i64(const struct jctx *c, const struct json *v, const struct jpath *p, int64_t *out);
int jv_uint_max(const struct jctx *c, const struct json *v, const struct jpath *p, uint64_t max,
                uint64_t *out);
int jv_int_range(const struct jctx *c, const struct json *v, const struct jpath *p, int64_t min,
                 int64_t max, int64_t *out);
/* Array of strings -> NULL-terminated vector in the arena. */
int jv_strv(const struct jctx *c, const struct json *v, const struct jpath *p, char ***out,
            size_t *n);
/* Object of strings -> array of key/value pairs in the arena. */
int jv_strmap(const struct jctx *c, const struct json *v, const struct jpath *p,
              struct json_kv **out, size_t *n);

/*
 * Typed reads of an object member: return 1 when present, 0 when absent (out is
 * left untouched), -EINVAL on a type or range error. `p` is the object's path.
 */
int jo_object(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
              struct json **out);
int jo_array(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
             struct json **out);
int jo_string(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
              char **out);
int jo_bool(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
            bool *out);
int jo_opt_bool(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
                struct opt_bool *out);
int jo_opt_u64(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
               struct opt_u64 *out);
int jo_opt_i64(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
               struct opt_i64 *out);
int jo_opt_u32(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
               struct opt_u32 *out);
int jo_opt_i32(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
               struct opt_i32 *out);
int jo_strv(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
            char ***out, size_t *n);
int jo_strmap(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
              struct json_kv **out, size_t *n);
/* A required member: error "missing required field" when absent. */
int jo_require(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
               struct json **out);

/* Required members (error "missing required field" when absent) and optional ones with a
 * range; the optional readers return 1 when present, 0 when absent. */
int jo_req_string(const struct jctx *c, const struct json *o, const struct jpath *p,
                  const char *key, char **out);
int jo_req_uint(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
                uint64_t max, uint64_t *out);
int jo_req_int(const struct jctx *c, const struct json *o, const struct jpath *p, const char *key,
               int64_t min, int64_t max, int64_t *out);
int jo_opt_u32_max(const struct jctx *c, const struct json *o, const struct jpath *p,
                   const char *key, uint32_t max, struct opt_u32 *out);
int jo_opt_u64_max(const struct jctx *c, const struct json *o, const struct jpath *p,
                   const char *key, uint64_t max, struct opt_u64 *out);
int jo_opt_i64_range(const struct jctx *c, const struct json *o, const struct jpath *p,
                     const char *key, int64_t min, int64_t max, struct opt_i64 *out);
int jo_opt_i32_range(const struct jctx *c, const struct json *o, const struct jpath *p,
                     const char *key, int32_t min, int32_t max, struct opt_i32 *out);

/* ---- writer ---- */

struct jw {
    char *buf;
    size_t len, cap;
    int depth;
    const char *indent; /* NULL: compact (Encoder.Encode); else MarshalIndent(v, "", indent) */
    bool first[JSON_MAX_DEPTH];
    bool after_key;
};

void jw_init(struct jw *w, const char *indent);
void jw_free(struct jw *w);
/* Hand out the buffer (NUL-terminated); the writer is reset. */
char *jw_steal(struct jw *w, size_t *len);
void jw_object_begin(struct jw *w);
void jw_object_end(struct jw *w);
void jw_array_begin(struct jw *w);
void jw_array_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_string(struct jw *w, const char *s);
void jw_string_len(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Insert already-encoded JSON text as a value. */
void jw_raw(struct jw *w, const char *json, size_t n);
/* Write a parsed tree back out. */
void jw_value(struct jw *w, const struct json *v);
/* A copy of base with patch merged in: objects merge key by key (recursively), anything
 * else in patch replaces; null in patch removes the key. Allocated in arena. */
struct json *json_merge(struct arena *arena, const struct json *base, const struct json *patch);
/* Append a raw character (e.g. the trailing newline of Encoder.Encode). */
void jw_putc(struct jw *w, char ch);

/* key + value shorthands */
void jw_kv_string(struct jw *w, const char *key, const char *s);
void jw_kv_int(struct jw *w, const char *key, int64_t v);
void jw_kv_uint(struct jw *w, const char *key, uint64_t v);
void jw_kv_bool(struct jw *w, const char *key, bool v);
