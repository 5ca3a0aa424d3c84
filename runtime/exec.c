/* The last step: find the program, then exec it through the sealed exec stub. */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/util.h"
#include "runtime/init.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* The stub's bytes, generated at build time from runtime/exec-stub.c. */
extern const unsigned char berth_exec_stub[];
extern const unsigned int berth_exec_stub_size;

int exec_stub_memfd(int *out)
{
    int fd = memfd_create("berth-exec-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) /* kernels before 6.3 don't know MFD_EXEC */
        fd = memfd_create("berth-exec-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return err_set(errno, "create the exec stub (memfd_create)");
    int r = write_all(fd, berth_exec_stub, berth_exec_stub_size);
    if (r == 0 && fchmod(fd, 0555) < 0)
        r = -errno;
    if (r == 0 &&
        fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        r = -errno;
    if (r < 0) {
        close(fd);
        return err_set(r, "prepare the exec stub");
    }
    *out = fd;
    return 0;
}

static const char *env_get(char *const *env, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return env[i] + n + 1;
    return NULL;
}

/* HOME from the container's own /etc/passwd: never NSS, which would load host libraries. */
static char *home_of(uid_t uid)
{
    _cleanup_free_ char *text = NULL;
    if (read_file_at(AT_FDCWD, "/etc/passwd", 1 << 20, &text, NULL) < 0)
        return NULL;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[7] = {0};
        int n = 0;
        for (char *p = line; n < 7; n++) {
            f[n] = p;
            p = strchr(p, ':');
            if (!p)
                break;
            *p++ = '\0';
        }
        unsigned long id;
        char *end;
        if (n < 6 || !f[2] || !f[5])
            continue;
        id = strtoul(f[2], &end, 10);
        if (*end == '\0' && id == uid)
            return xstrdup(f[5]);
    }
    return NULL;
}

static char **build_env(const struct spec_process *p)
{
    size_t n = p->n_env;
    char **env = xcalloc(n + 2, sizeof(char *));
    if (n)
        memcpy(env, p->env, n * sizeof(char *));
    if (!env_get(p->env, "HOME")) {
        _cleanup_free_ char *home = home_of(p->user.uid);
        env[n] = xasprintf("HOME=%s", home && *home ? home : "/");
    }
    return env;
}

int exec_prepare(const struct init_ctx *c, struct exec_plan *plan)
{
    const struct spec_process *p = c->spec->process;
    plan->envp = build_env(p);
    plan->argv = xcalloc(p->n_args + 3, sizeof(char *));
    plan->argv[0] = "";
    memcpy(plan->argv + 2, p->args, p->n_args * sizeof(char *));
    snprintf(plan->stub_path, sizeof(plan->stub_path), "/proc/self/fd/%d", c->stub_fd);
    return 0;
}

static bool is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
}

/* Resolve args[0] like execvp with the container's PATH; runs as the container's user. */
int exec_resolve(const struct init_ctx *c, struct exec_plan *plan)
{
    const struct spec_process *p = c->spec->process;
    const char *prog = p->args[0];
    if (strchr(prog, '/')) {
        if (is_executable(prog)) {
            plan->argv[1] = (char *)prog;
            return 0;
        }
        return err_set(errno ? errno : EACCES, "exec: \"%s\"", prog);
    }
    const char *path = env_get(plan->envp, "PATH");
    if (path && *prog) {
        _cleanup_free_ char *dirs = xstrdup(path);
        char *save = NULL;
        for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            char *cand = xasprintf("%s/%s", *d ? d : ".", prog);
            if (is_executable(cand)) {
                plan->argv[1] = cand;
                return 0;
            }
            free(cand);
        }
    }
    return err_setx(ENOENT, "exec: \"%s\": executable file not found in $PATH", prog);
}

/* Not declared noreturn on purpose: a sanitizer build would otherwise run its no-return hook
 * (which makes system calls) at the call site, after the container's seccomp filter is loaded. */
void exec_now(const struct init_ctx *c, struct exec_plan *plan)
{
    /* only raw system calls from here: seccomp is loaded and may refuse anything else */
    if (c->proc_mounted)
        syscall(SYS_execve, plan->stub_path, plan->argv, plan->envp);
    else
        syscall(SYS_execveat, c->stub_fd, "", plan->argv, plan->envp, AT_EMPTY_PATH);
    int e = errno;
    dprintf(STDERR_FILENO, "berth: container %s: exec %s: %s\n", c->id, plan->argv[1], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
}

/* ---- protecting the berth binary when a container can see berth's processes ---- */

/* /proc/self/exe is on a read-only mount or a write-sealed memfd: it cannot be rewritten. */
static bool exe_protected(void)
{
    _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    struct statvfs sv;
    if (fd < 0)
        return false;
    if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
        return true;
    int seals = fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & F_SEAL_WRITE);
}

/* Re-exec from a read-only bind mount of ourselves in a private mount namespace. */
static int reexec_from_readonly_bind(char *const *argv)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n <= 0)
        return -errno;
    path[n] = '\0';
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
        mount(path, path, NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        return -errno;
    execv(path, argv);
    return -errno;
}

/* Fallback (e.g. the binary was replaced on disk): a sealed memfd copy of ourselves. */
static int reexec_from_sealed_copy(char *const *argv)
{
    extern char **environ;
    _cleanup_close_ int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    _cleanup_close_ int fd = memfd_create("berth", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL)
        fd = memfd_create("berth", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (src < 0 || fd < 0)
        return -errno;
    _cleanup_free_ char *bin = NULL;
    size_t len;
    int r = read_all_fd(src, 256 << 20, &bin, &len);
    if (r < 0 || (r = write_all(fd, bin, len)) < 0)
        return r;
    if (fchmod(fd, 0555) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        return -errno;
    syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
    return -errno;
}

int exe_protect(char *const *argv)
{
    if (exe_protected())
        return 0;
    int r = reexec_from_readonly_bind(argv);
    int r2 = reexec_from_sealed_copy(argv);
    return err_set(r2 ? r2 : r, "cannot protect the berth binary from the container "
                                "(CVE-2019-5736) before joining it");
}
