/*
 * The error of the current operation: functions return -errno and record a
 * message saying what failed, on what; callers add context with err_prefix().
 * berth is single-threaded, so one buffer per process is enough (a cloned
 * child has its own copy and sends it to the parent over the sync socket).
 */
#pragma once

#include "macros.h"

/* Record "<message>: <strerror(errnum)>" and return -errnum. */
int err_set(int errnum, const char *fmt, ...) _printf_(2, 3);
/* Record "<message>" only and return -errnum. */
int err_setx(int errnum, const char *fmt, ...) _printf_(2, 3);
/* Prefix the recorded message with "<context>: " and return r unchanged. */
int err_prefix(int r, const char *fmt, ...) _printf_(2, 3);

const char *err_msg(void);
int err_code(void);
void err_clear(void);
