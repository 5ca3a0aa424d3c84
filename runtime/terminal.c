/*
 * process.terminal: the pty is created inside the container (its own devpts),
 * the slave becomes the process's controlling terminal and stdio, and the
 * master goes to whoever listens on --console-socket (runc's protocol: one
 * message, the pty name as payload, the master fd in SCM_RIGHTS).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/sock.h"
#include "lib/util.h"
#include "runtime/init.h"

int terminal_setup(struct init_ctx *c)
{
    const struct spec_process *p = c->spec->process;
    if (!p->terminal)
        return 0;
    if (c->console_fd < 0)
        return err_setx(EINVAL, "process.terminal is true but there is no console socket");
    _cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return err_set(errno, "terminal: open /dev/ptmx in the container (mount a devpts at "
                              "/dev/pts with newinstance,ptmxmode=0666)");
    if (unlockpt(master) < 0)
        return err_set(errno, "terminal: unlockpt");
    char name[64];
    if (ptsname_r(master, name, sizeof(name)) != 0)
        return err_set(errno, "terminal: ptsname");
    /* TIOCGPTPEER opens the slave through the master: no path lookup to race */
    _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return err_set(errno, "terminal: open the pty slave %s", name);
    if (p->has_console_size) {
        struct winsize ws = {.ws_row = (unsigned short)p->console_height,
                             .ws_col = (unsigned short)p->console_width};
        if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
            return err_set(errno, "terminal: set console size");
    }
    /* the container's console is its first process's terminal; exec'd ones leave it alone */
    if (!c->exec_process && access("/dev/console", F_OK) == 0 &&
        mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
        return err_set(errno, "terminal: bind %s to /dev/console", name);
    int r = sock_send_fd(c->console_fd, name, strlen(name), master);
    if (r < 0)
        return err_set(r, "terminal: send the pty master to the console socket");
    close(c->console_fd);
    c->console_fd = -1;
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        return err_set(errno, "terminal: make %s the controlling terminal", name);
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0)
            return err_set(errno, "terminal: dup the pty to fd %d", fd);
    return 0;
}
