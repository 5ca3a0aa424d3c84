/* JSON writer with the exact output of Go's encoding/json (what runc prints). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "util.h"

static void put(struct jw *w, const char *s, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (w->len + n + 1 > cap)
            cap *= 2;
        w->buf = xrealloc(w->buf, cap);
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void puts_(struct jw *w, const char *s)
{
    put(w, s, strlen(s));
}

void jw_putc(struct jw *w, char ch)
{
    put(w, &ch, 1);
}

static void newline_indent(struct jw *w)
{
    if (!w->indent)
        return;
    jw_putc(w, '\n');
    size_t n = strlen(w->indent);
    for (int i = 0; i < w->depth; i++)
        put(w, w->indent, n);
}

void jw_init(struct jw *w, const char *indent)
{
    memset(w, 0, sizeof(*w));
    w->indent = indent;
}

void jw_free(struct jw *w)
{
    free(w->buf);
    memset(w, 0, sizeof(*w));
}

char *jw_steal(struct jw *w, size_t *len)
{
    if (!w->buf)
        put(w, "", 0);
    char *b = w->buf;
    if (len)
        *len = w->len;
    const char *indent = w->indent;
    jw_init(w, indent);
    return b;
}

static void before_value(struct jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0)
        return;
    if (!w->first[w->depth])
        jw_putc(w, ',');
    w->first[w->depth] = false;
    newline_indent(w);
}

static void open_(struct jw *w, char ch)
{
    before_value(w);
    jw_putc(w, ch);
    if (w->depth + 1 < JSON_MAX_DEPTH)
        w->depth++;
    w->first[w->depth] = true;
}

static void close_(struct jw *w, char ch)
{
    bool empty = w->first[w->depth];
    if (w->depth > 0)
        w->depth--;
    if (!empty)
        newline_indent(w);
    jw_putc(w, ch);
}

void jw_object_begin(struct jw *w)
{
    open_(w, '{');
}

void jw_object_end(struct jw *w)
{
    close_(w, '}');
}

void jw_array_begin(struct jw *w)
{
    open_(w, '[');
}

void jw_array_end(struct jw *w)
{
    close_(w, ']');
}

/* Length of the valid UTF-8 sequence at s (max n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

void jw_string_len(struct jw *w, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    before_value(w);
    jw_putc(w, '"');
    size_t start = 0, i = 0;
    while (i < n) {
        unsigned char c = s[i];
        const char *esc = NULL;
        char ubuf[8];
        size_t adv = 1;
        if (c < 0x80) {
            if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
                i++;
                continue;
            }
            switch (c) {
            case '"': esc = "\\\""; break;
            case '\\': esc = "\\\\"; break;
            case '\n': esc = "\\n"; break;
            case '\r': esc = "\\r"; break;
            case '\t': esc = "\\t"; break;
            case '\b': esc = "\\b"; break;
            case '\f': esc = "\\f"; break;
            default:
                snprintf(ubuf, sizeof(ubuf), "\\u00%c%c", hex[c >> 4], hex[c & 0xf]);
                esc = ubuf;
            }
        } else {
            uint32_t cp;
            adv = utf8_len(s + i, n - i, &cp);
            if (adv == 0) {
                esc = "\\ufffd";
                adv = 1;
            } else if (cp == 0x2028 || cp == 0x2029) {
                esc = cp == 0x2028 ? "\\u2028" : "\\u2029";
            } else {
                i += adv;
                continue;
            }
        }
        put(w, str + start, i - start);
        puts_(w, esc);
        i += adv;
        start = i;
    }
    put(w, str + start, n - start);
    jw_putc(w, '"');
}

void jw_string(struct jw *w, const char *s)
{
    jw_string_len(w, s ? s : "", s ? strlen(s) : 0);
}

void jw_key(struct jw *w, const char *key)
{
    jw_string(w, key);
    jw_putc(w, ':');
    if (w->indent)
        jw_putc(w, ' ');
    w->after_key = true;
}

void jw_int(struct jw *w, int64_t v)
{
    char buf[32];
    before_value(w);
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    puts_(w, buf);
}

void jw_uint(struct jw *w, uint64_t v)
{
    char buf[32];
    before_value(w);
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    puts_(w, buf);
}

void jw_bool(struct jw *w, bool v)
{
    before_value(w);
    puts_(w, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
    before_value(w);
    puts_(w, "null");
}

void jw_raw(struct jw *w, const char *json, size_t n)
{
    before_value(w);
    put(w, json, n);
}

void jw_kv_string(struct jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_string(w, s);
}

void jw_kv_int(struct jw *w, const char *key, int64_t v)
{
    jw_key(w, key);
    jw_int(w, v);
}

void jw_kv_uint(struct jw *w, const char *key, uint64_t v)
{
    jw_key(w, key);
    jw_uint(w, v);
}

void jw_kv_bool(struct jw *w, const char *key, bool v)
{
    jw_key(w, key);
    jw_bool(w, v);
}

void jw_value(struct jw *w, const struct json *v)
{
    switch (v->type) {
    case JSON_NULL: jw_null(w); break;
    case JSON_BOOL: jw_bool(w, v->boolean); break;
    case JSON_NUMBER: jw_raw(w, v->number, v->n); break;
    case JSON_STRING: jw_string_len(w, v->string, v->n); break;
    case JSON_ARRAY:
        jw_array_begin(w);
        for (size_t i = 0; i < v->n; i++)
            jw_value(w, v->items[i]);
        jw_array_end(w);
        break;
    case JSON_OBJECT:
        jw_object_begin(w);
        for (size_t i = 0; i < v->n; i++) {
            jw_key(w, v->object.keys[i]);
            jw_value(w, v->object.values[i]);
        }
        jw_object_end(w);
        break;
    }
}
