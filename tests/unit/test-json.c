/* lib/json: the parser's limits, typed readers, paths, and the Go-compatible writer. */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "lib/err.h"
#include "lib/json.h"
#include "lib/util.h"
#include "runtime/spec.h"
#include "tests/unit/unit.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse from an exact-size heap copy, so ASan sees any read past the end. */
static int parse_exact(struct arena *a, const char *text, size_t len, struct json **out)
{
    char *copy = xmalloc(len ? len : 1);
    memcpy(copy, text, len);
    int r = json_parse(a, copy, len, "test.json", out);
    free(copy);
    return r;
}

static int parse_str(struct arena *a, const char *text, struct json **out)
{
    return parse_exact(a, text, strlen(text), out);
}

/* Write a parsed tree back out: the writer's view of the reader's result. */
static void emit(struct jw *w, const struct json *v)
{
    switch (v->type) {
    case JSON_NULL: jw_null(w); break;
    case JSON_BOOL: jw_bool(w, v->boolean); break;
    case JSON_NUMBER: jw_raw(w, v->number, v->n); break;
    case JSON_STRING: jw_string_len(w, v->string, v->n); break;
    case JSON_OBJECT:
        jw_object_begin(w);
        for (size_t i = 0; i < v->n; i++) {
            jw_key(w, v->object.keys[i]);
            emit(w, v->object.values[i]);
        }
        jw_object_end(w);
        break;
    case JSON_ARRAY:
        jw_array_begin(w);
        for (size_t i = 0; i < v->n; i++)
            emit(w, v->items[i]);
        jw_array_end(w);
        break;
    }
}

static char *reserialize(const char *text, const char *indent)
{
    struct arena a = {0};
    struct json *v;
    char *out = NULL;
    if (parse_str(&a, text, &v) == 0) {
        struct jw w;
        jw_init(&w, indent);
        emit(&w, v);
        out = jw_steal(&w, NULL);
    }
    arena_free(&a);
    return out;
}

static void test_round_trip(void)
{
    static const struct {
        const char *in, *compact;
    } cases[] = {
            {" { \"a\" : 1 , \"b\" : [ true , false , null ] } ",
             "{\"a\":1,\"b\":[true,false,null]}"},
            {"[]", "[]"},
            {"{}", "{}"},
            {"\"x\"", "\"x\""},
            {"-0", "-0"},
            {"18446744073709551615", "18446744073709551615"},
            {"[1.5e10, -2E-3, 0.25]", "[1.5e10,-2E-3,0.25]"},
            {"{\"k\":{\"n\":{\"m\":[[],{}]}}}", "{\"k\":{\"n\":{\"m\":[[],{}]}}}"},
            {"\"\\u00e9\\n\\t\\\"\\\\/\"", "\"\xc3\xa9\\n\\t\\\"\\\\/\""},
            {"{\"a\":1,\"a\":2}", "{\"a\":1,\"a\":2}"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *once = reserialize(cases[i].in, NULL);
        CHECK_STR(once, cases[i].compact);
        char *twice = once ? reserialize(once, NULL) : NULL;
        CHECK_STR(twice, cases[i].compact);
        free(once);
        free(twice);
    }

    /* the real thing survives a trip through the indented writer unchanged */
    char *def = spec_default_json(false);
    char *again = reserialize(def, "\t");
    CHECK_STR(again, def);
    free(def);
    free(again);
}

static void test_indent(void)
{
    char *s = reserialize("{\"a\":[],\"b\":{},\"c\":[1,{\"d\":\"e\"}]}", "\t");
    CHECK_STR(s, "{\n\t\"a\": [],\n\t\"b\": {},\n\t\"c\": [\n\t\t1,\n\t\t{\n\t\t\t\"d\": "
                 "\"e\"\n\t\t}\n\t]\n}");
    free(s);
    s = reserialize("{\"a\":[1]}", "  ");
    CHECK_STR(s, "{\n  \"a\": [\n    1\n  ]\n}");
    free(s);
    s = reserialize("{}", "\t");
    CHECK_STR(s, "{}");
    free(s);
    s = reserialize("[]", "  ");
    CHECK_STR(s, "[]");
    free(s);

    /* compact mode as Encoder.Encode writes it, with the newline added by hand */
    struct jw w;
    jw_init(&w, NULL);
    jw_object_begin(&w);
    jw_kv_string(&w, "id", "c1");
    jw_kv_int(&w, "pid", -1);
    jw_kv_uint(&w, "max", UINT64_MAX);
    jw_kv_bool(&w, "ok", true);
    jw_key(&w, "none");
    jw_null(&w);
    jw_key(&w, "empty");
    jw_array_begin(&w);
    jw_array_end(&w);
    jw_object_end(&w);
    jw_putc(&w, '\n');
    size_t len;
    char *out = jw_steal(&w, &len);
    CHECK_STR(out,
              "{\"id\":\"c1\",\"pid\":-1,\"max\":18446744073709551615,\"ok\":true,\"none\":null,"
              "\"empty\":[]}\n");
    CHECK_INT(len, strlen(out));
    free(out);
}

static char *write_string(const char *s, size_t n)
{
    struct jw w;
    jw_init(&w, NULL);
    jw_string_len(&w, s, n);
    return jw_steal(&w, NULL);
}

static void test_writer_escaping(void)
{
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
#define C(in, out) {in, sizeof(in) - 1, out}
            C("plain", "\"plain\""),
            C("<a href=\"x\">&</a>", "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u003c/a\\u003e\""),
            C("back\\slash", "\"back\\\\slash\""),
            C("\n\r\t", "\"\\n\\r\\t\""),
            C("\b\f", "\"\\b\\f\""),
            C("\x01\x1f", "\"\\u0001\\u001f\""),
            C("nul\0byte", "\"nul\\u0000byte\""),
            C("\x7f", "\"\x7f\""),
            C("line\xe2\x80\xa8sep\xe2\x80\xa9", "\"line\\u2028sep\\u2029\""),
            C("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3",
              "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3\""),
            C("bad\xff", "\"bad\\ufffd\""),
            C("\xc0\x80", "\"\\ufffd\\ufffd\""),                       /* overlong */
            C("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""),            /* surrogate */
            C("\xe2\x82", "\"\\ufffd\\ufffd\""),                       /* truncated */
            C("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""), /* above U+10FFFF */
            C("", "\"\""),
#undef C
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *s = write_string(cases[i].in, cases[i].n);
        CHECK_STR(s, cases[i].out);
        free(s);
    }

    /* keys are escaped the same way */
    struct jw w;
    jw_init(&w, NULL);
    jw_object_begin(&w);
    jw_kv_string(&w, "a<b", "c>d");
    jw_object_end(&w);
    char *s = jw_steal(&w, NULL);
    CHECK_STR(s, "{\"a\\u003cb\":\"c\\u003ed\"}");
    free(s);
}

static void test_jpath(void)
{
    char buf[256];
    jpath_format(NULL, buf, sizeof(buf));
    CHECK_STR(buf, ".");

    const struct jpath *process = JP_KEY(NULL, "process");
    const struct jpath *hard = JP_KEY(JP_IDX(JP_KEY(process, "rlimits"), 1), "hard");
    jpath_format(hard, buf, sizeof(buf));
    CHECK_STR(buf, ".process.rlimits[1].hard");

    const struct jpath *sysctl = JP_KEY(JP_KEY(NULL, "linux"), "sysctl");
    jpath_format(JP_KEY(sysctl, "net.ipv4.ip_forward"), buf, sizeof(buf));
    CHECK_STR(buf, ".linux.sysctl[\"net.ipv4.ip_forward\"]");

    jpath_format(JP_KEY(JP_KEY(NULL, "annotations"), ""), buf, sizeof(buf));
    CHECK_STR(buf, ".annotations[\"\"]");
    jpath_format(JP_IDX(NULL, 7), buf, sizeof(buf));
    CHECK_STR(buf, "[7]");
    jpath_format(JP_KEY(NULL, "snake_case9"), buf, sizeof(buf));
    CHECK_STR(buf, ".snake_case9");

    /* a buffer too small truncates rather than overflows */
    char tiny[8];
    jpath_format(hard, tiny, sizeof(tiny));
    CHECK_INT(strlen(tiny) < sizeof(tiny), 1);
    CHECK(startswith(".process.rlimits", tiny));

    struct jctx c = {.what = "config.json"};
    CHECK_INT(json_error(&c, hard, "expected unsigned integer"), -EINVAL);
    CHECK_STR(err_msg(), "config.json: .process.rlimits[1].hard: expected unsigned integer");
}

static void check_deep(char open, const char *member)
{
    const size_t depth = 100000;
    size_t per = strlen(member) + 1;
    char *text = xmalloc(depth * per + 1);
    char *p = text;
    for (size_t i = 0; i < depth; i++) {
        *p++ = open;
        memcpy(p, member, per - 1);
        p += per - 1;
    }
    struct arena a = {0};
    struct json *v;
    int r = json_parse(&a, text, (size_t)(p - text), "deep.json", &v);
    CHECK_INT(r, -EINVAL);
    CHECK_CONTAINS(err_msg(), "deep.json: invalid JSON at line 1, column ");
    CHECK_CONTAINS(err_msg(), "nested deeper than 128 levels");
    arena_free(&a);
    free(text);
}

static char *nested_arrays(int depth)
{
    char *s = xmalloc((size_t)depth * 2 + 1);
    memset(s, '[', (size_t)depth);
    memset(s + depth, ']', (size_t)depth);
    s[depth * 2] = '\0';
    return s;
}

static void test_depth_limit(void)
{
    check_deep('[', "");
    check_deep('{', "\"a\":");

    struct arena a = {0};
    struct json *v;
    char *ok = nested_arrays(JSON_MAX_DEPTH);
    CHECK_INT(parse_str(&a, ok, &v), 0);
    char *bad = nested_arrays(JSON_MAX_DEPTH + 1);
    CHECK_INT(parse_str(&a, bad, &v), -EINVAL);
    CHECK_CONTAINS(err_msg(), "nested deeper than 128 levels");
    free(ok);
    free(bad);
    arena_free(&a);
}

static void test_truncated(void)
{
    char *def = spec_default_json(false);
    size_t len = strlen(def);
    size_t failed = 0;
    for (size_t n = 0; n < len; n++) {
        struct arena a = {0};
        struct json *v;
        err_clear();
        int r = parse_exact(&a, def, n, &v);
        if (r == -EINVAL && strlen(err_msg()) > 0)
            failed++;
        else
            printf("#   prefix of %zu bytes: r=%d \"%s\"\n", n, r, err_msg());
        arena_free(&a);

        struct spec *s = NULL;
        char *copy = xmalloc(n ? n : 1);
        memcpy(copy, def, n);
        CHECK_INT(spec_parse(copy, n, "config.json", &s), -EINVAL);
        CHECK(s == NULL);
        free(copy);
    }
    CHECK_INT(failed, len);

    struct arena a = {0};
    struct json *v;
    CHECK_INT(parse_str(&a, "", &v), -EINVAL);
    CHECK_INT(parse_str(&a, "   ", &v), -EINVAL);
    CHECK_INT(parse_str(&a, "{\"a\":1}\n{\"b\":2}", &v), -EINVAL);
    CHECK_INT(parse_str(&a, "{\"a\":1,}", &v), -EINVAL);
    CHECK_CONTAINS(err_msg(), "test.json: invalid JSON at line 1, column ");
    CHECK_INT(parse_str(&a, "{\n  \"a\": tru\n}", &v), -EINVAL);
    CHECK_CONTAINS(err_msg(), "line 2");
    CHECK_INT(parse_str(&a, "\"\xff\"", &v), -EINVAL); /* not UTF-8 */
    CHECK_INT(parse_str(&a, "{\"a\":1} ", &v), 0);
    free(def);
    arena_free(&a);
}

static void test_huge(void)
{
    /* a 16 MiB string */
    const size_t big = 16u << 20;
    char *text = xmalloc(big + 3);
    text[0] = '"';
    memset(text + 1, 'x', big);
    text[big + 1] = '"';
    text[big + 2] = '\0';
    struct arena a = {0};
    struct json *v;
    double t0 = now();
    CHECK_INT(json_parse(&a, text, big + 2, "big.json", &v), 0);
    double t_string = now() - t0;
    CHECK_INT(v->type, JSON_STRING);
    CHECK_INT(v->n, big);
    arena_free(&a);
    free(text);

    /* a 1,000,000-element array */
    const size_t items = 1000000;
    text = xmalloc(items * 2 + 2);
    char *p = text;
    *p++ = '[';
    for (size_t i = 0; i < items; i++) {
        *p++ = (char)('0' + i % 10);
        *p++ = ',';
    }
    p[-1] = ']';
    t0 = now();
    CHECK_INT(json_parse(&a, text, (size_t)(p - text), "array.json", &v), 0);
    double t_array = now() - t0;
    CHECK_INT(v->type, JSON_ARRAY);
    CHECK_INT(v->n, items);
    CHECK_STR(v->items[items - 1]->number, "9");
    arena_free(&a);
    free(text);

    printf("#   16 MiB string: %.3fs, 1e6-element array: %.3fs\n", t_string, t_array);
    CHECK(t_string < 3.0);
    CHECK(t_array < 3.0);
}

static struct json *one(struct arena *a, const char *text)
{
    struct json *v = NULL;
    if (parse_str(a, text, &v) < 0)
        printf("#   parse of %s failed: %s\n", text, err_msg());
    return v;
}

static void test_numbers(void)
{
    struct arena a = {0};
    struct jctx c = {.what = "n.json", .arena = &a};
    const struct jpath *p = JP_KEY(NULL, "n");
    uint64_t u;
    int64_t i;

    CHECK_INT(jv_u64(&c, one(&a, "18446744073709551615"), p, &u), 0);
    CHECK(u == UINT64_MAX);
    CHECK_INT(jv_u64(&c, one(&a, "0"), p, &u), 0);
    CHECK(u == 0);
    CHECK_INT(jv_i64(&c, one(&a, "-9223372036854775808"), p, &i), 0);
    CHECK(i == INT64_MIN);
    CHECK_INT(jv_i64(&c, one(&a, "9223372036854775807"), p, &i), 0);
    CHECK(i == INT64_MAX);

    CHECK_INT(jv_u64(&c, one(&a, "18446744073709551616"), p, &u), -EINVAL);
    CHECK_STR(err_msg(),
              "n.json: .n: value 18446744073709551616 out of range (0 to 18446744073709551615)");
    CHECK_INT(jv_i64(&c, one(&a, "-9223372036854775809"), p, &i), -EINVAL);
    CHECK_CONTAINS(err_msg(), "out of range");
    CHECK_INT(jv_u64(&c, one(&a, "-1"), p, &u), -EINVAL);
    CHECK_STR(err_msg(), "n.json: .n: expected unsigned integer");

    static const char *const not_integers[] = {"1.5",  "1e3",  "\"1\"", "1.0",
                                               "-1E2", "true", "null",  "[1]"};
    for (size_t k = 0; k < ARRAY_SIZE(not_integers); k++) {
        struct json *v = one(&a, not_integers[k]);
        CHECK_INT(jv_u64(&c, v, p, &u), -EINVAL);
        CHECK_STR(err_msg(), "n.json: .n: expected unsigned integer");
        CHECK_INT(jv_i64(&c, v, p, &i), -EINVAL);
        CHECK_STR(err_msg(), "n.json: .n: expected integer");
    }

    CHECK_INT(jv_uint_max(&c, one(&a, "4294967296"), p, UINT32_MAX, &u), -EINVAL);
    CHECK_STR(err_msg(), "n.json: .n: value 4294967296 out of range (0 to 4294967295)");
    CHECK_INT(jv_int_range(&c, one(&a, "-21"), p, -20, 19, &i), -EINVAL);
    CHECK_STR(err_msg(), "n.json: .n: value -21 out of range (-20 to 19)");
    arena_free(&a);
}

static void test_readers(void)
{
    struct arena a = {0};
    struct jctx c = {.what = "config.json", .arena = &a};
    struct json *o =
            one(&a, "{\"s\":\"v\",\"n\":null,\"b\":true,\"arr\":[\"x\",\"y\"],"
                    "\"map\":{\"z\":\"1\",\"a\":\"2\",\"m\":null,\"a\":\"3\"},\"dup\":1,\"dup\":2,"
                    "\"nul\":\"a\\u0000b\",\"bad\":[\"x\",3]}");
    char *s;
    bool b;
    struct json *v;

    CHECK_INT(jo_string(&c, o, NULL, "s", &s), 1);
    CHECK_STR(s, "v");
    CHECK_INT(jo_string(&c, o, NULL, "n", &s), 0); /* null is absent */
    CHECK_INT(jo_string(&c, o, NULL, "missing", &s), 0);
    CHECK_INT(jo_bool(&c, o, NULL, "b", &b), 1);
    CHECK(b);
    CHECK_INT(jo_bool(&c, o, NULL, "s", &b), -EINVAL);
    CHECK_STR(err_msg(), "config.json: .s: expected boolean");
    CHECK_INT(jo_require(&c, o, NULL, "n", &v), -EINVAL);
    CHECK_STR(err_msg(), "config.json: .n: missing required field");
    CHECK_INT(jo_require(&c, o, NULL, "root", &v), -EINVAL);
    CHECK_STR(err_msg(), "config.json: .root: missing required field");
    CHECK_INT(jo_object(&c, o, NULL, "arr", &v), -EINVAL);
    CHECK_STR(err_msg(), "config.json: .arr: expected object");

    v = json_get(o, "dup");
    CHECK(v && streq(v->number, "2")); /* the last one wins, as in Go */

    char **strv;
    size_t n;
    CHECK_INT(jo_strv(&c, o, NULL, "arr", &strv, &n), 1);
    CHECK_INT(n, 2);
    CHECK_STR(strv[1], "y");
    CHECK(strv[2] == NULL);
    CHECK_INT(jo_strv(&c, o, NULL, "bad", &strv, &n), -EINVAL);
    CHECK_STR(err_msg(), "config.json: .bad[1]: expected string");

    struct json_kv *kv;
    CHECK_INT(jo_strmap(&c, o, NULL, "map", &kv, &n), 1);
    CHECK_INT(n, 2);
    CHECK_STR(kv[0].key, "a");
    CHECK_STR(kv[0].value, "3");
    CHECK_STR(kv[1].key, "z");

    CHECK_INT(jo_string(&c, o, NULL, "nul", &s), -EINVAL);
    CHECK_STR(err_msg(), "config.json: .nul: string contains a NUL character");

    struct opt_u32 u32 = {0};
    CHECK_INT(jo_opt_u32(&c, o, NULL, "missing", &u32), 0);
    CHECK(!u32.set);
    arena_free(&a);
}

/* The member stack outgrows its inline slots while outer containers are still open. */
static void test_many_members(void)
{
    struct jw w;
    jw_init(&w, NULL);
    jw_object_begin(&w);
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        jw_key(&w, key);
        jw_array_begin(&w);
        for (int j = 0; j < 70; j++)
            jw_int(&w, i * 1000 + j);
        jw_array_end(&w);
    }
    jw_object_end(&w);
    char *text = jw_steal(&w, NULL);
    char *again = reserialize(text, NULL);
    CHECK_STR(again, text);
    free(again);
    free(text);
}

static void test_parse_until(void)
{
    static const char *const stop[] = {"b", "c", NULL};
    static const char text[] =
            "{\"a\":1,\"z\":{\"c\":9},\"b\":{\"x\":[{\"c\":0}],\"y\":{\"c\":2},\"c\":{\"big\":3},"
            "\"d\":4},\"e\":5}";
    struct arena a = {0};
    struct json *v;
    bool stopped = false;
    char *copy = xstrdup(text);
    CHECK_INT(json_parse_until(&a, copy, strlen(copy), "t", stop, &v, &stopped), 0);
    CHECK(stopped);
    struct jw w;
    jw_init(&w, NULL);
    emit(&w, v);
    /* z.c, c below x's array and y.c do not match; b.c does, and nothing after it is built */
    CHECK_STR(w.buf, "{\"a\":1,\"z\":{\"c\":9},\"b\":{\"x\":[{\"c\":0}],\"y\":{\"c\":2}}}");
    jw_free(&w);

    /* no such key: the whole document, not stopped */
    static const char *const absent[] = {"b", "z", NULL};
    CHECK_INT(json_parse_until(&a, copy, strlen(copy), "t", absent, &v, &stopped), 0);
    CHECK(!stopped);
    CHECK(json_get(v, "e") != NULL);

    /* what follows the stop is not checked; what comes before is */
    static const char bad_after[] = "{\"b\":{\"c\":{oops";
    CHECK_INT(json_parse_until(&a, bad_after, strlen(bad_after), "t", stop, &v, &stopped), 0);
    CHECK(stopped);
    CHECK(json_get(v, "b") != NULL && json_get(v, "b")->n == 0);
    static const char bad_before[] = "{\"a\":oops,\"b\":{\"c\":1}}";
    CHECK_INT(json_parse_until(&a, bad_before, strlen(bad_before), "t", stop, &v, &stopped),
              -EINVAL);
    free(copy);
    arena_free(&a);
}

UNIT_MAIN(UNIT(test_round_trip), UNIT(test_indent), UNIT(test_writer_escaping), UNIT(test_jpath),
          UNIT(test_depth_limit), UNIT(test_truncated), UNIT(test_huge), UNIT(test_numbers),
          UNIT(test_readers), UNIT(test_many_members), UNIT(test_parse_until))
