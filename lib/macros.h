/* Small language helpers shared by every module (systemd style cleanup). */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)     __attribute__((cleanup(f)))
#define _unused_         __attribute__((unused))
#define _noreturn_       __attribute__((noreturn))
#define _printf_(a, b)   __attribute__((format(printf, a, b)))
#define _must_check_     __attribute__((warn_unused_result))
#define _likely_(x)      __builtin_expect(!!(x), 1)
#define _unlikely_(x)    __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(x)    (sizeof(x) / sizeof((x)[0]))
#define STRINGIFY_ARG(x) #x
#define STRINGIFY(x)     STRINGIFY_ARG(x)

static inline void freep(void *p)
{
    free(*(void **)p);
}

static inline void closep(const int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static inline void fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

static inline void closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}

#define _cleanup_free_     _cleanup_(freep)
#define _cleanup_close_    _cleanup_(closep)
#define _cleanup_fclose_   _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Hand ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                \
    ({                             \
        __typeof__(p) _took = (p); \
        (p) = NULL;                \
        _took;                     \
    })
#define TAKE_FD(fd)       \
    ({                    \
        int _took = (fd); \
        (fd) = -1;        \
        _took;            \
    })

/* Retry a system call interrupted by a signal. */
#define RETRY_EINTR(expr)                 \
    ({                                    \
        __typeof__(expr) _r;              \
        do                                \
            _r = (expr);                  \
        while (_r < 0 && errno == EINTR); \
        _r;                               \
    })

#define streq(a, b) (strcmp((a), (b)) == 0)
