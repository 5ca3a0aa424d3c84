#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

#define ERR_MAX 4096

static char err_buf[ERR_MAX];
static int err_errno;

static int err_vrecord(int errnum, bool with_strerror, const char *fmt, va_list ap)
{
    if (errnum < 0)
        errnum = -errnum;
    if (errnum == 0)
        errnum = EINVAL;
    int n = vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
    if (with_strerror && n >= 0 && (size_t)n < sizeof(err_buf))
        snprintf(err_buf + n, sizeof(err_buf) - n, ": %s", strerror(errnum));
    err_errno = errnum;
    return -errnum;
}

int err_set(int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = err_vrecord(errnum, true, fmt, ap);
    va_end(ap);
    return r;
}

int err_setx(int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = err_vrecord(errnum, false, fmt, ap);
    va_end(ap);
    return r;
}

int err_prefix(int r, const char *fmt, ...)
{
    char prefix[1024];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof(prefix) - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return r;
    if ((size_t)n > sizeof(prefix) - 3)
        n = (int)sizeof(prefix) - 3;
    memcpy(prefix + n, ": ", 3);
    n += 2;
    if (err_buf[0] == '\0')
        snprintf(err_buf, sizeof(err_buf), "%s", strerror(r < 0 ? -r : r));
    size_t old = strnlen(err_buf, sizeof(err_buf) - 1);
    if ((size_t)n + old >= sizeof(err_buf))
        old = sizeof(err_buf) - 1 - (size_t)n;
    memmove(err_buf + n, err_buf, old);
    memcpy(err_buf, prefix, (size_t)n);
    err_buf[(size_t)n + old] = '\0';
    if (err_errno == 0)
        err_errno = r < 0 ? -r : r;
    return r;
}

const char *err_msg(void)
{
    return err_buf[0] ? err_buf : "unknown error";
}

int err_code(void)
{
    return err_errno;
}

void err_clear(void)
{
    err_buf[0] = '\0';
    err_errno = 0;
}
