/*
 * `berth run --image NAME [options] ID [CMD ARGS...]` and `create --image`: make a bundle
 * from an image (images/bundle.h) and hand it to the runtime. Plain `run` and `create`
 * (with a bundle) are in cmd_lifecycle.c and keep runc's meaning.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "images/bundle.h"
#include "images/images.h"
#include "images/store.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"

#define RUN_IMAGE_HELP                                                                          \
    "Usage: berth run --image NAME [options] <container-id> [COMMAND [ARG...]]\n"               \
    "       berth create --image NAME [options] <container-id> [COMMAND [ARG...]]\n\n"          \
    "Run (or create) a container from an image of the store: berth writes the bundle\n"         \
    "under <image-root>/containers/<id>/ from the image config (Entrypoint, Cmd, Env,\n"        \
    "WorkingDir, User via the image's /etc/passwd and /etc/group, Labels as annotations,\n"     \
    "StopSignal as org.opencontainers.image.stopSignal) and gives the container an\n"           \
    "overlayfs snapshot of the image's layers. 'berth delete' removes bundle and snapshot.\n"   \
    "COMMAND replaces the image's Cmd. The image \"default\" (busybox and berth-testhelper)\n"  \
    "is built in.\n\n"                                                                          \
    "Options:\n"                                                                                \
    "   --image NAME               the image (name[:tag], digest or digest prefix)\n"           \
    "   --rm                       delete the container when it exits (also with -d)\n"         \
    "   -d, --detach               return once started; output goes to\n"                       \
    "                              <image-root>/containers/<id>/output.log\n"                   \
    "   -t, --tty                  give the container a terminal (foreground only, unless\n"    \
    "                              --console-socket is given)\n"                                \
    "   -i, --interactive          keep stdin attached (default: /dev/null)\n"                  \
    "   -e, --env KEY=VALUE|KEY    set an environment variable (KEY alone: copy berth's)\n"     \
    "   -w, --workdir DIR          working directory (default: the image's, else /)\n"          \
    "   -u, --user USER[:GROUP]    user and group, names or numbers (default: the image's)\n"   \
    "   --entrypoint CMD           replace the image's Entrypoint (and drop its Cmd)\n"         \
    "   --hostname NAME            hostname (default: the container id)\n"                      \
    "   --read-only                mount the root filesystem read-only\n"                       \
    "   -v, --volume SRC:DST[:ro]  bind mount a host path into the container\n"                 \
    "   -m, --memory SIZE          memory limit (512m, 1g)\n"                                   \
    "   --cpus N                   CPU limit in CPUs (0.5, 2)\n"                                \
    "   --pids-limit N             maximum number of processes\n"                               \
    "   --network NAME             network to join (\"none\": none; default: none unless -p,\n" \
    "                              --ip, --egress or --ingress ask for networking)\n"           \
    "   --ip ADDR                  fixed address on the network\n"                              \
    "   -p, --publish [HOSTIP:]HOSTPORT:PORT[/tcp|/udp]  publish a port (repeatable)\n"         \
    "   --egress RATE              cap outgoing traffic (10mbit, 500kbit)\n"                    \
    "   --ingress RATE             cap incoming traffic\n"                                      \
    "   --console-socket PATH      send the terminal to this socket (as plain run)\n"           \
    "   --pid-file PATH            write the container's pid here\n\n"                          \
    "Networking flags set the org.berth.net.* annotations (see netns/net.h). The image\n"       \
    "store is " STORE_DEFAULT_ROOT ", $" STORE_ROOT_ENV " or the global --image-root DIR.\n"    \
    "$" SNAPSHOT_ENV "=copy copies the layers instead of using overlayfs (berth --debug\n"      \
    "says when it has to do so on its own).\n"

enum {
    OPT_IMAGE = 3000, /* above the network flags (cli.h) */
    OPT_RM,
    OPT_HOSTNAME,
    OPT_READ_ONLY,
    OPT_CPUS,
    OPT_PIDS,
    OPT_ENTRYPOINT,
    OPT_CONSOLE_SOCKET,
    OPT_PID_FILE,
};

struct run_args {
    struct image_run_opts o;
    bool detach, rm, interactive;
    char **env, **volumes;
    size_t n_env, n_volumes;
    struct net_flags net; /* the same network flags as a bundle run */
    const char *console_socket, *pid_file;
};

static void push(char ***v, size_t *n, const char *s)
{
    *v = xreallocarray(*v, *n + 1, sizeof(char *));
    (*v)[(*n)++] = (char *)s;
}

static int run_opt(struct cli *cli, int opt, const char *arg, void *data)
{
    struct run_args *a = data;
    struct image_run_opts *o = &a->o;
    uint64_t n;
    switch (opt) {
    case OPT_IMAGE: o->image = arg; break;
    case OPT_RM: a->rm = true; break;
    case 'd': a->detach = true; break;
    case 't': o->ov.terminal = true; break;
    case 'i': a->interactive = true; break;
    case 'e': push(&a->env, &a->n_env, arg); break;
    case 'w': o->ov.workdir = arg; break;
    case 'u': o->ov.user = arg; break;
    case 'v': push(&a->volumes, &a->n_volumes, arg); break;
    case OPT_NET_NETWORK:
    case OPT_NET_IP:
    case OPT_NET_PUBLISH:
    case OPT_NET_EGRESS:
    case OPT_NET_INGRESS: return net_flag(cli, &a->net, opt, arg);
    case OPT_ENTRYPOINT: o->ov.entrypoint = arg; break;
    case OPT_HOSTNAME: o->ov.hostname = arg; break;
    case OPT_READ_ONLY: o->read_only = true; break;
    case 'm':
        if (parse_size(arg, &o->memory) < 0)
            return cli_usage_error(cli, "--memory: \"%s\" is not a size (512m, 1g)", arg);
        break;
    case OPT_CPUS:
        if (parse_cpus(arg, &o->cpu_quota) < 0)
            return cli_usage_error(cli, "--cpus: \"%s\" is not a number of CPUs (0.5, 2)", arg);
        break;
    case OPT_PIDS:
        if (parse_u64(arg, &n) < 0 || n == 0 || n > INT64_MAX)
            return cli_usage_error(cli, "--pids-limit: \"%s\" is not a positive number", arg);
        o->pids_limit = (int64_t)n;
        break;
    case OPT_CONSOLE_SOCKET: a->console_socket = arg; break;
    case OPT_PID_FILE: a->pid_file = arg; break;
    }
    return 0;
}

bool cli_wants_image(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (streq(argv[i], "--"))
            return false;
        if (streq(argv[i], "--image") || streq(argv[i], "-image") ||
            startswith(argv[i], "--image=") || startswith(argv[i], "-image="))
            return true;
    }
    return false;
}

/* ---- stdio ---- */

struct saved_stdio {
    int fd[3];
};

static int redirect_stdio(const char *in, const char *out, struct saved_stdio *sv)
{
    for (int i = 0; i < 3; i++)
        sv->fd[i] = -1;
    _cleanup_close_ int ifd = in ? open(in, O_RDONLY | O_CLOEXEC) : -1;
    _cleanup_close_ int ofd = out ? open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
    if ((in && ifd < 0) || (out && ofd < 0))
        return err_set(errno, "open %s", in && ifd < 0 ? in : out);
    fflush(NULL);
    for (int i = 0; i < 3; i++) {
        int src = i == 0 ? ifd : ofd;
        if (src < 0)
            continue;
        sv->fd[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
        if (dup2(src, i) < 0)
            return err_set(errno, "redirect fd %d", i);
    }
    return 0;
}

static void restore_stdio(struct saved_stdio *sv)
{
    fflush(NULL);
    for (int i = 0; i < 3; i++) {
        if (sv->fd[i] < 0)
            continue;
        dup2(sv->fd[i], i);
        close(sv->fd[i]);
        sv->fd[i] = -1;
    }
}

/* ---- terminal: receive the pty master and relay it to our stdio ---- */

static int recv_fd(int sock)
{
    char name[256];
    struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.b,
                         .msg_controllen = sizeof(ctl.b)};
    if (RETRY_EINTR(recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0)
        return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (!cm || cm->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    return fd;
}

static bool relay(int from, int to)
{
    char buf[8192];
    ssize_t n = RETRY_EINTR(read(from, buf, sizeof(buf)));
    return n > 0 && write_all(to, buf, (size_t)n) == 0;
}

_noreturn_ static void console_relay(int listener)
{
    int conn = RETRY_EINTR(accept4(listener, NULL, NULL, SOCK_CLOEXEC));
    int master = conn >= 0 ? recv_fd(conn) : -1;
    if (master < 0)
        _exit(1);
    struct termios saved, raw;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        struct winsize ws;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
            ioctl(master, TIOCSWINSZ, &ws);
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    struct pollfd p[2] = {{.fd = master, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!relay(master, STDOUT_FILENO))
                break;
        }
        if (p[1].revents & POLLIN) {
            if (!relay(STDIN_FILENO, master))
                p[1].fd = -1;
        } else if (p[1].revents & (POLLHUP | POLLERR)) {
            p[1].fd = -1;
        }
    }
    if (tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    _exit(0);
}

static int console_start(const char *path, pid_t *pid)
{
    _cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (s < 0)
        return err_set(errno, "console socket");
    if (strlen(path) >= sizeof(sa.sun_path))
        return err_setx(ENAMETOOLONG, "console socket %s: path too long (shorten --image-root)",
                        path);
    strcpy(sa.sun_path, path);
    unlink(path);
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0)
        return err_set(errno, "listen on %s", path);
    fflush(NULL);
    *pid = fork();
    if (*pid < 0)
        return err_set(errno, "fork the terminal relay");
    if (*pid == 0)
        console_relay(s);
    return 0;
}

/* ---- --rm with -d: a small watcher deletes the container when it exits ---- */

static void spawn_remover(struct cli *cli, const char *id)
{
    _cleanup_state_ struct container_state *st = NULL;
    enum container_status status;
    if (container_load(&cli->rt, id, false, NULL, &st, &status) < 0 || st->pid <= 0) {
        log_warn("--rm: cannot watch container %s: %s", id, err_msg());
        return;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    if (pidfd < 0) {
        log_warn("--rm: cannot watch container %s: pidfd_open: %s", id, strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        setsid();
        if (fork() != 0)
            _exit(0);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
        container_delete(&cli->rt, id, true);
        _exit(0);
    }
    close(pidfd);
    if (child > 0)
        waitpid(child, NULL, 0);
}

/* ---- the command ---- */

/*
 * A created or detached container keeps every fd berth had until it execs (a clone of berth
 * waits on exec.fifo): if we kept our own stdout there to print errors later, whoever reads
 * our output would wait for that container. So a child with its stdio on /dev/null and the
 * log does the work and reports an error as one datagram.
 */
static int start_background(struct cli *cli, struct create_opts *o, const struct prepared *p,
                            bool create, bool terminal)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return err_set(errno, "socketpair");
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) {
        close(sv[0]);
        close(sv[1]);
        return err_set(errno, "fork");
    }
    if (child == 0) {
        struct saved_stdio unused;
        close(sv[0]);
        int code = 0;
        int r = redirect_stdio("/dev/null", terminal ? NULL : p->log, &unused);
        for (int i = 0; i < 3; i++)
            if (unused.fd[i] >= 0)
                close(unused.fd[i]);
        if (r == 0)
            r = create ? container_create(&cli->rt, o)
                       : container_run(&cli->rt, o, true, true, &code);
        if (r < 0) {
            char msg[4200];
            int n = snprintf(msg, sizeof(msg), "%d %s", -r, err_msg());
            if (send(sv[1], msg, (size_t)n, MSG_NOSIGNAL) < 0)
                _exit(2);
        }
        _exit(r < 0 ? 1 : 0);
    }
    close(sv[1]);
    int status = 0;
    RETRY_EINTR(waitpid(child, &status, 0));
    char msg[4200];
    ssize_t n = recv(sv[0], msg, sizeof(msg) - 1, MSG_DONTWAIT);
    close(sv[0]);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (n <= 0)
        return err_setx(EIO, "the container could not be started (status 0x%x)", status);
    msg[n] = '\0';
    char *space = strchr(msg, ' ');
    int e = atoi(msg);
    return err_setx(e > 0 ? e : EIO, "%s", space ? space + 1 : msg);
}

static int start(struct cli *cli, struct run_args *a, const struct prepared *p, bool create,
                 int *code)
{
    struct create_opts o = {.id = a->o.id,
                            .bundle = p->bundle,
                            .image_record = p->record,
                            .console_socket = a->console_socket,
                            .pid_file = a->pid_file};
    if (create || a->detach)
        return start_background(cli, &o, p, create, a->o.ov.terminal);
    struct saved_stdio sv;
    pid_t relay = 0;
    _cleanup_free_ char *sock = NULL;
    int r = 0;
    if (a->o.ov.terminal && !a->console_socket) {
        sock = xasprintf("%s/console.sock", p->bundle);
        if ((r = console_start(sock, &relay)) < 0)
            return r;
        o.console_socket = sock;
    }
    r = redirect_stdio(a->interactive ? NULL : "/dev/null", NULL, &sv);
    if (r == 0)
        r = container_run(&cli->rt, &o, false, !a->rm, code);
    restore_stdio(&sv);
    if (relay > 0) {
        if (r < 0)
            kill(relay, SIGKILL);
        waitpid(relay, NULL, 0);
        unlink(sock);
    }
    return r;
}

static int check_args(struct cli *cli, struct run_args *a, bool create)
{
    if (!a->o.image || !*a->o.image)
        return cli_usage_error(cli, "--image needs an image name");
    if (a->o.ov.terminal && (a->detach || create) && !a->console_socket)
        return cli_usage_error(cli,
                               "-t with %s needs --console-socket: nothing would hold the "
                               "terminal",
                               create ? "create" : "-d");
    if (a->rm && create)
        return cli_usage_error(cli, "--rm is for run; a created container is deleted with "
                                    "'berth delete'");
    return 0;
}

static int run_parsed(struct cli *cli, struct run_args *a, int argc, char **argv, bool create)
{
    a->o.id = argv[0];
    a->o.ov.cmd = argv + 1;
    a->o.ov.n_cmd = (size_t)(argc - 1);
    a->o.ov.env = a->env;
    a->o.ov.n_env = a->n_env;
    a->o.volumes = a->volumes;
    a->o.n_volumes = a->n_volumes;
    a->o.network = a->net.network;
    a->o.ip = a->net.ip;
    a->o.egress = a->net.egress;
    a->o.ingress = a->net.ingress;
    a->o.publish = a->net.publish[0] ? a->net.publish : NULL;
    a->o.store_root = imgstore_root_choose(cli->image_root);
    _cleanup_free_ char *root = realpath(cli->rt.root, NULL);
    a->o.runtime_root = root ? root : cli->rt.root;
    struct prepared p;
    if (images_prepare_container(&a->o, &p) < 0)
        return cli_fail(cli, a->o.id);
    int code = 0, ret;
    int r = start(cli, a, &p, create, &code);
    if (r < 0) {
        ret = cli_fail(cli, a->o.id);
        /* the container never came to be: its bundle goes too */
        _cleanup_state_ struct container_state *st = NULL;
        enum container_status status;
        if (container_load(&cli->rt, a->o.id, false, NULL, &st, &status) == -ENOENT &&
            images_release_container(p.record) < 0)
            log_warn("%s", err_msg());
    } else {
        ret = code;
        if (a->detach && a->rm)
            spawn_remover(cli, a->o.id);
    }
    prepared_free(&p);
    return ret;
}

int cmd_run_image(struct cli *cli, int argc, char **argv, bool create)
{
    static const struct option opts[] = {
            {"image", required_argument, NULL, OPT_IMAGE},
            {"rm", no_argument, NULL, OPT_RM},
            {"detach", no_argument, NULL, 'd'},
            {"tty", no_argument, NULL, 't'},
            {"interactive", no_argument, NULL, 'i'},
            {"env", required_argument, NULL, 'e'},
            {"workdir", required_argument, NULL, 'w'},
            {"user", required_argument, NULL, 'u'},
            {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
            {"hostname", required_argument, NULL, OPT_HOSTNAME},
            {"read-only", no_argument, NULL, OPT_READ_ONLY},
            {"volume", required_argument, NULL, 'v'},
            {"memory", required_argument, NULL, 'm'},
            {"cpus", required_argument, NULL, OPT_CPUS},
            {"pids-limit", required_argument, NULL, OPT_PIDS},
            NET_OPTIONS,
            {"console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET},
            {"pid-file", required_argument, NULL, OPT_PID_FILE},
            {"help", no_argument, NULL, 'h'},
            {0},
    };
    static const struct command help = {"run", NULL, NULL, RUN_IMAGE_HELP};
    struct run_args a = {0};
    int ret = 1;
    for (int i = 1; i + 1 < argc; i++)
        if ((streq(argv[i], "--image") || streq(argv[i], "-image")) &&
            (streq(argv[i + 1], "--help") || streq(argv[i + 1], "-h"))) {
            fputs(RUN_IMAGE_HELP, stdout);
            return 0;
        }
    int r = cli_parse(cli, &help, argc, argv, "dtie:w:u:v:m:p:", opts, run_opt, &a);
    if (r != 0) {
        ret = r > 0 ? 0 : 1;
        goto out;
    }
    if (check_args(cli, &a, create) < 0)
        goto out;
    if (optind >= argc) {
        cli_usage_error(cli, "requires the container id (and optionally a command)");
        goto out;
    }
    ret = run_parsed(cli, &a, argc - optind, argv + optind, create);
out:
    free(a.env);
    free(a.volumes);
    return ret;
}
