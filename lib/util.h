/* Memory, string and time helpers. Allocation failure ends the process with a
 * clear message (like bubblewrap's die_oom): berth cannot do anything useful
 * without memory, and it keeps every caller free of NULL checks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "macros.h"

_noreturn_ void die_oom(void);
void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* a + b, without printf's cost (list joins paths for every container) */
char *xstrjoin(const char *a, const char *b);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);

static inline bool str_empty(const char *s)
{
    return !s || !*s;
}

static inline bool startswith(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool endswith(const char *s, const char *suffix);

/* Parse a whole decimal string; -EINVAL when not a number, -ERANGE when out of range. */
int parse_u64(const char *s, uint64_t *out);
int parse_i64(const char *s, int64_t *out);
int parse_int(const char *s, int *out);

/* Go's time.RFC3339Nano in UTC ("2006-01-02T15:04:05.999999999Z"), as runc writes it. */
void format_rfc3339nano(const struct timespec *ts, char buf[64]);

/* NULL-terminated string vectors. */
size_t strv_length(char *const *v);
void strv_free(char **v);
bool strv_contains(char *const *v, const char *s);
