/* File helpers: whole-file reads and writes, atomic replace, directory trees. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read all of fd (at most max bytes, else -EFBIG); the buffer is NUL-terminated. */
int read_all_fd(int fd, size_t max, char **out, size_t *len);
int read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len);
/* openat2 confined below dirfd that follows no symlink or magic link (RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, plus extra_resolve); "" opens dirfd itself.
 * The fd, or -errno (-ENOSYS without openat2). */
int openat_beneath(int dirfd, const char *path, int flags, uint64_t extra_resolve);
/* Write all of buf, retrying short writes and EINTR. */
int write_all(int fd, const void *buf, size_t len);
/* Open path (O_WRONLY, O_TRUNC unless append) and write s: for /proc and cgroup files. */
int write_file_at(int dirfd, const char *path, const char *s, size_t len);
int write_string_at(int dirfd, const char *path, const char *s);
/* Replace dirfd/name atomically: write a temporary file in dirfd, then rename. */
int write_file_atomic_at(int dirfd, const char *name, const char *data, size_t len, mode_t mode);
/* mkdir -p; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode);
/* Remove dirfd/name and everything below it without crossing into other mounts. */
int rm_rf_at(int dirfd, const char *name);
/* Close every fd >= from except those listed. */
void close_fds_from(int from, const int *keep, size_t n_keep);
/* Set or clear FD_CLOEXEC. */
int fd_set_cloexec(int fd, bool on);
/* Move fd to number >= min, returning the new fd (the old one is closed). */
int fd_move_above(int fd, int min);
/* The absolute path of an fd via /proc/self/fd (caller frees). */
int fd_path(int fd, char **out);
