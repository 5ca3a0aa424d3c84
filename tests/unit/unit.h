/* A minimal unit test harness printing TAP, so the test runner counts each case. */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_failed_checks;
static int unit_case_failed;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            unit_case_failed = 1;                                               \
            unit_failed_checks++;                                               \
        }                                                                       \
    } while (0)

#define CHECK_INT(a, b)                                                                       \
    do {                                                                                      \
        long long _a = (long long)(a), _b = (long long)(b);                                   \
        if (_a != _b) {                                                                       \
            printf("#   %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a, _b); \
            unit_case_failed = 1;                                                             \
            unit_failed_checks++;                                                             \
        }                                                                                     \
    } while (0)

#define CHECK_STR(a, b)                                                                  \
    do {                                                                                 \
        const char *_a = (a), *_b = (b);                                                 \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                                         \
            printf("#   %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
                   _a ? _a : "(null)", _b ? _b : "(null)");                              \
            unit_case_failed = 1;                                                        \
            unit_failed_checks++;                                                        \
        }                                                                                \
    } while (0)

/* Substring match, for error messages. */
#define CHECK_CONTAINS(hay, needle)                                                   \
    do {                                                                              \
        const char *_h = (hay), *_n = (needle);                                       \
        if (!_h || !strstr(_h, _n)) {                                                 \
            printf("#   %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
                   _h ? _h : "(null)", _n);                                           \
            unit_case_failed = 1;                                                     \
            unit_failed_checks++;                                                     \
        }                                                                             \
    } while (0)

struct unit_case {
    const char *name;
    void (*fn)(void);
};

#define UNIT_MAIN(...)                                                                         \
    int main(void)                                                                             \
    {                                                                                          \
        static const struct unit_case cases[] = {__VA_ARGS__};                                 \
        size_t n = sizeof(cases) / sizeof(cases[0]);                                           \
        int failed = 0;                                                                        \
        printf("1..%zu\n", n);                                                                 \
        for (size_t i = 0; i < n; i++) {                                                       \
            unit_case_failed = 0;                                                              \
            cases[i].fn();                                                                     \
            printf("%s %zu - %s\n", unit_case_failed ? "not ok" : "ok", i + 1, cases[i].name); \
            failed += unit_case_failed;                                                        \
        }                                                                                      \
        return failed ? 1 : 0;                                                                 \
    }

#define UNIT(fn) \
    {            \
#fn, fn  \
    }
