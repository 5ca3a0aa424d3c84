/*
 * The container process ("init" until it execs the user's program).
 *
 * The parent (berth create/run) prepares everything that can fail early or
 * needs the host's view — config, rootfs path, namespace fds, the cgroup, the
 * seccomp program, the exec stub — into struct init_ctx, then clones. The child
 * works through the steps in init.c, talking to the parent over a
 * SOCK_SEQPACKET socketpair (sync.h); every step returns -errno with a message
 * that travels back to the parent, which prints it and cleans up.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"
#include "runtime/state.h"

/* How namespaces are entered. */
struct ns_plan {
    int clone_flags;         /* CLONE_NEW* given to clone3 */
    int unshare_flags;       /* created later with unshare (cgroup after joining, time) */
    int join_fd[NS__COUNT];  /* namespace fds to setns() into, -1 = none */
    bool staged;             /* joins must precede creations (user ns order): fork again */
    bool new_user;           /* a new user namespace is created */
    bool new_time;           /* a new time namespace is created */
    bool new_cgroup;         /* a new cgroup namespace is created */
    bool pid_join_in_parent; /* the parent setns()es into the pid ns before cloning */
};

struct init_ctx {
    const struct spec *spec;
    const char *id;
    const char *bundle;             /* absolute */
    const char *rootfs;             /* absolute host path */
    const char *state_dir;          /* absolute, for hooks' state and messages */
    const struct cgroup *cgroup;    /* may be NULL */
    struct seccomp_filter *seccomp; /* may be NULL */
    struct ns_plan plan;

    int sync_fd;    /* child's end of the socketpair */
    int fifo_fd;    /* exec.fifo opened O_RDWR (create), -1 for run */
    int console_fd; /* connected --console-socket, -1 if none */
    int stub_fd;    /* sealed memfd holding the exec stub */
    unsigned preserve_fds;
    bool no_pivot;
    bool no_new_keyring;
    bool await_parent;           /* wait for the parent to enter the cgroup / write id maps first */
    bool proc_mounted;           /* the config mounts proc at /proc: exec through /proc/self/fd */
    bool pause_after_namespaces; /* the parent has work once namespaces exist (network, hooks) */
    pid_t parent_pid;
    const struct container_state *state; /* for the state JSON given to hooks */

    /* exec: join the running container instead of creating it */
    bool exec_process; /* a process joining a running container (not its first) */
    int target_pidfd; /* pidfd of the container's process */
    int join_flags;   /* CLONE_NEW* of the namespaces it has */
};

/* Messages on the sync socket. */
enum sync_type {
    SYNC_ERROR = 1,        /* child -> parent: value = errno, text = message */
    SYNC_CONTINUE,         /* parent -> child */
    SYNC_USERNS,           /* child -> parent: write id maps for pid `value` */
    SYNC_STAGE2_PID,       /* child -> parent: `value` is the container process */
    SYNC_NAMESPACES_READY, /* child -> parent: run createRuntime hooks, set up the network */
    SYNC_SECCOMP_FD,       /* child -> parent: listener fd attached */
    SYNC_READY,            /* child -> parent: waiting for start */
    SYNC_START,            /* parent -> child (run) */
};

int sync_send(int fd, enum sync_type type, int value, const char *text, int pass_fd);
/* Receive one message; returns 0 on EOF (the peer is gone), 1 on a message. */
int sync_recv(int fd, enum sync_type *type, int *value, char *text, size_t text_size, int *recv_fd);
/* Child: wait for SYNC_CONTINUE (or an error on EOF). */
int sync_wait_continue(int fd, const char *waiting_for);

/* The child's main; never returns. */
_noreturn_ void init_main(struct init_ctx *c);
/* exec's child: join the container's namespaces, fork the process into them, set it up and
 * exec it; never returns. */
_noreturn_ void init_exec_main(struct init_ctx *c);

/* namespaces.c */
int ns_plan_build(const struct spec *s, struct ns_plan *plan);
void ns_plan_close(struct ns_plan *plan);
int ns_join_all(const struct ns_plan *plan, bool user_only);
int ns_write_id_maps(pid_t pid, const struct spec *s);
int ns_setup_time(const struct spec *s);

/* rootfs.c */
int rootfs_prepare(struct init_ctx *c); /* propagation, mounts, devices (before pivot) */
int rootfs_pivot(struct init_ctx *c);
int rootfs_finish(struct init_ctx *c); /* masked/readonly paths, read-only root */
int open_in_root(int rootfd, const char *path, int flags, int *out);
/* Create path and its missing parents inside the root (a directory, or an empty file) and
 * return an O_PATH fd of it. */
int create_in_root(int rootfd, const char *path, bool file, int *out);

/* devices.c */
int devices_setup(struct init_ctx *c, int rootfd, bool in_userns);

/* security.c */
int security_apply_process_attrs(const struct init_ctx *c); /* rlimits, oom, sched, ... */
int security_set_sysctls(const struct spec *s);
int security_set_user_and_caps(const struct spec_process *p, bool keep_sys_admin);
int security_final_caps(const struct spec_process *p);
int security_join_session_keyring(const char *id);

/* terminal.c */
int terminal_setup(struct init_ctx *c);

/* exec.c */
int exec_stub_memfd(int *out);
struct exec_plan {
    char **argv; /* "", path, args... : what the stub receives */
    char **envp;
    char stub_path[64];
};
int exec_prepare(const struct init_ctx *c, struct exec_plan *plan);
int exec_resolve(const struct init_ctx *c, struct exec_plan *plan);
/* Exec the program through the stub; returns only by exiting the process (see exec.c). */
void exec_now(const struct init_ctx *c, struct exec_plan *plan);

/*
 * A process the container can already see (exec, or a config that joins a pid namespace or
 * has none) must not run from a writable berth binary: with CAP_SYS_PTRACE a container process
 * could open /proc/<pid>/exe and rewrite it later. Unless /proc/self/exe is already read-only or
 * sealed, re-exec berth (argv) from a read-only bind mount of itself in a private mount
 * namespace (a sealed memfd copy as fallback). Returns only when already protected, or with an
 * error.
 */
int exe_protect(char *const *argv);

/* hooks.c */
int hooks_run(const struct spec *s, enum hook_kind kind, const char *state_json);
/* Run every hook of kind, warning about failures (poststart, poststop). */
void hooks_run_warn(const struct spec *s, enum hook_kind kind, const char *state_json);
/* The OCI state JSON hooks read on stdin. */
char *hook_state_json(const struct container_state *st, enum container_status status, pid_t pid);
