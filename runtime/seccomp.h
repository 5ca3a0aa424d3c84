/*
 * linux.seccomp: the filter is compiled with libseccomp in the parent before
 * the container process exists (so a bad profile fails `create` before anything
 * is made) and loaded by the container process as its last step before exec.
 */
#pragma once

#include "runtime/spec.h"

struct seccomp_filter;

/* Compile the profile. Unknown syscall names are skipped with a debug log (as runc
 * does: profiles list syscalls newer than the kernel); bad actions, arguments or
 * architectures are errors naming the JSON path. */
int seccomp_filter_build(const struct spec_seccomp *s, struct seccomp_filter **out);

/* True when the profile uses SCMP_ACT_NOTIFY (a listener fd will exist). */
bool seccomp_filter_has_notify(const struct seccomp_filter *f);

/* Load the filter into the calling process. With notify rules, *notify_fd gets
 * the listener fd (else -1). */
int seccomp_filter_load(struct seccomp_filter *f, int *notify_fd);

/* Send the listener fd to the agent at listenerPath as the runtime-spec's
 * container process state: {"ociVersion", "fds": ["seccompFd"], "pid",
 * "metadata", "state": <state_json>} with the fd in SCM_RIGHTS. */
int seccomp_send_listener(const char *listener_path, const char *metadata, int notify_fd, pid_t pid,
                          const char *state_json);

void seccomp_filter_free(struct seccomp_filter *f);
