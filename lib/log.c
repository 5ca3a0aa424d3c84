#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fs.h"
#include "json.h"
#include "log.h"
#include "util.h"

static int log_file = -1;
static bool log_json;
static bool log_debug_on;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int log_setup(const char *path, bool json, bool debug)
{
    log_json = json;
    log_debug_on = debug;
    if (!path || !*path)
        return 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return -errno;
    log_file = fd_move_above(fd, 3);
    return 0;
}

bool log_debug_enabled(void)
{
    return log_debug_on;
}

int log_fd(void)
{
    return log_file;
}

static void write_line(int fd, enum log_level level, const char *msg)
{
    char ts[64];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    format_rfc3339nano(&now, ts);
    if (log_json) {
        struct jw w;
        jw_init(&w, NULL);
        jw_object_begin(&w);
        jw_kv_string(&w, "level", level_names[level]);
        jw_kv_string(&w, "msg", msg);
        jw_kv_string(&w, "time", ts);
        jw_object_end(&w);
        jw_putc(&w, '\n');
        write_all(fd, w.buf, w.len);
        jw_free(&w);
    } else {
        _cleanup_free_ char *line =
                xasprintf("time=\"%s\" level=%s msg=\"%s\"\n", ts, level_names[level], msg);
        write_all(fd, line, strlen(line));
    }
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (log_file >= 0) {
        write_line(log_file, level, msg);
        return;
    }
    if (level == LOG_LEVEL_DEBUG || level == LOG_LEVEL_INFO)
        dprintf(STDERR_FILENO, "berth: %s\n", msg);
    else
        dprintf(STDERR_FILENO, "berth: %s: %s\n", level_names[level], msg);
}

void log_fatal(const char *msg)
{
    if (log_file >= 0)
        write_line(log_file, LOG_LEVEL_ERROR, msg);
    dprintf(STDERR_FILENO, "berth: %s\n", msg);
}
