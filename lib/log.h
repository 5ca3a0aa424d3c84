/* Logging as runc does it: with --log, messages go to that file (text or JSON
 * lines {"level":..,"msg":..,"time":..} that containerd reads); errors are also
 * printed to stderr as "berth: <message>". */
#pragma once

#include <stdbool.h>

#include "macros.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* path may be NULL (stderr only). Returns -errno if the file cannot be opened. */
int log_setup(const char *path, bool json, bool debug);
bool log_debug_enabled(void);
void log_msg(enum log_level level, const char *fmt, ...) _printf_(2, 3);
/* The final error of a command: stderr and the log file. */
void log_fatal(const char *msg);
/* The log file descriptor (or -1), e.g. to keep it out of close_fds(). */
int log_fd(void);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                             \
    do {                                           \
        if (log_debug_enabled())                   \
            log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); \
    } while (0)
