/*
 * fstab-style mount options -> mount(2) flags, propagation, mount_setattr(2)
 * recursive attributes and the filesystem data string. Options are applied in
 * order so a later option overrides an earlier one ("ro,rw" is read-write), as
 * mount(8) does.
 */
#include <string.h>
#include <sys/mount.h>

#include "lib/util.h"
#include "runtime/spec.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

enum opt_kind {
    OPT_SET,         /* flags |= v */
    OPT_CLEAR,       /* flags &= ~v */
    OPT_PROPAGATION, /* propagation = v */
    OPT_ATTR_SET,    /* recursive attribute on */
    OPT_ATTR_CLEAR,  /* recursive attribute off */
    OPT_ATIME,       /* recursive atime mode (an enum inside MOUNT_ATTR__ATIME) */
    OPT_BIND,
    OPT_RBIND,
    OPT_IDMAP,
    OPT_RIDMAP,
};

struct mount_opt {
    const char *name;
    enum opt_kind kind;
    unsigned long v;
};

static const struct mount_opt mount_opts[] = {
        {"async", OPT_CLEAR, MS_SYNCHRONOUS},
        {"atime", OPT_CLEAR, MS_NOATIME},
        {"bind", OPT_BIND, 0},
        {"defaults", OPT_SET, 0},
        {"dev", OPT_CLEAR, MS_NODEV},
        {"diratime", OPT_CLEAR, MS_NODIRATIME},
        {"dirsync", OPT_SET, MS_DIRSYNC},
        {"exec", OPT_CLEAR, MS_NOEXEC},
        {"iversion", OPT_SET, MS_I_VERSION},
        {"lazytime", OPT_SET, MS_LAZYTIME},
        {"loud", OPT_CLEAR, MS_SILENT},
        {"mand", OPT_SET, MS_MANDLOCK},
        {"noatime", OPT_SET, MS_NOATIME},
        {"nodev", OPT_SET, MS_NODEV},
        {"nodiratime", OPT_SET, MS_NODIRATIME},
        {"noexec", OPT_SET, MS_NOEXEC},
        {"noiversion", OPT_CLEAR, MS_I_VERSION},
        {"nolazytime", OPT_CLEAR, MS_LAZYTIME},
        {"nomand", OPT_CLEAR, MS_MANDLOCK},
        {"norelatime", OPT_CLEAR, MS_RELATIME},
        {"nostrictatime", OPT_CLEAR, MS_STRICTATIME},
        {"nosuid", OPT_SET, MS_NOSUID},
        {"nosymfollow", OPT_SET, MS_NOSYMFOLLOW},
        {"rbind", OPT_RBIND, 0},
        {"relatime", OPT_SET, MS_RELATIME},
        {"remount", OPT_SET, MS_REMOUNT},
        {"ro", OPT_SET, MS_RDONLY},
        {"rw", OPT_CLEAR, MS_RDONLY},
        {"silent", OPT_SET, MS_SILENT},
        {"strictatime", OPT_SET, MS_STRICTATIME},
        {"suid", OPT_CLEAR, MS_NOSUID},
        {"symfollow", OPT_CLEAR, MS_NOSYMFOLLOW},
        {"sync", OPT_SET, MS_SYNCHRONOUS},

        {"private", OPT_PROPAGATION, MS_PRIVATE},
        {"rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC},
        {"shared", OPT_PROPAGATION, MS_SHARED},
        {"rshared", OPT_PROPAGATION, MS_SHARED | MS_REC},
        {"slave", OPT_PROPAGATION, MS_SLAVE},
        {"rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC},
        {"unbindable", OPT_PROPAGATION, MS_UNBINDABLE},
        {"runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC},

        {"rro", OPT_ATTR_SET, MOUNT_ATTR_RDONLY},
        {"rrw", OPT_ATTR_CLEAR, MOUNT_ATTR_RDONLY},
        {"rnosuid", OPT_ATTR_SET, MOUNT_ATTR_NOSUID},
        {"rsuid", OPT_ATTR_CLEAR, MOUNT_ATTR_NOSUID},
        {"rnodev", OPT_ATTR_SET, MOUNT_ATTR_NODEV},
        {"rdev", OPT_ATTR_CLEAR, MOUNT_ATTR_NODEV},
        {"rnoexec", OPT_ATTR_SET, MOUNT_ATTR_NOEXEC},
        {"rexec", OPT_ATTR_CLEAR, MOUNT_ATTR_NOEXEC},
        {"rnodiratime", OPT_ATTR_SET, MOUNT_ATTR_NODIRATIME},
        {"rdiratime", OPT_ATTR_CLEAR, MOUNT_ATTR_NODIRATIME},
        {"rnosymfollow", OPT_ATTR_SET, MOUNT_ATTR_NOSYMFOLLOW},
        {"rsymfollow", OPT_ATTR_CLEAR, MOUNT_ATTR_NOSYMFOLLOW},
        /* The atime modes are one field, not bits: turning one mode "off" selects
         * what mount(8) documents for the negation (kernel default relatime, or
         * strictatime for norelatime, i.e. always update). */
        {"rrelatime", OPT_ATIME, MOUNT_ATTR_RELATIME},
        {"rnorelatime", OPT_ATIME, MOUNT_ATTR_STRICTATIME},
        {"rnoatime", OPT_ATIME, MOUNT_ATTR_NOATIME},
        {"ratime", OPT_ATIME, MOUNT_ATTR_RELATIME},
        {"rstrictatime", OPT_ATIME, MOUNT_ATTR_STRICTATIME},
        {"rnostrictatime", OPT_ATIME, MOUNT_ATTR_RELATIME},

        {"idmap", OPT_IDMAP, 0},
        {"ridmap", OPT_RIDMAP, 0},
};

static const struct mount_opt *mount_opt_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(mount_opts); i++)
        if (streq(mount_opts[i].name, name))
            return &mount_opts[i];
    return NULL;
}

static void apply(struct spec_mount *m, const struct mount_opt *o)
{
    switch (o->kind) {
    case OPT_SET: m->flags |= o->v; break;
    case OPT_CLEAR: m->flags &= ~o->v; break;
    case OPT_PROPAGATION: m->propagation = o->v; break;
    case OPT_ATTR_SET:
        m->rec_attr_set |= o->v;
        m->rec_attr_clr &= ~(uint64_t)o->v;
        break;
    case OPT_ATTR_CLEAR:
        m->rec_attr_clr |= o->v;
        m->rec_attr_set &= ~(uint64_t)o->v;
        break;
    case OPT_ATIME:
        /* mount_setattr(2) takes a new atime mode only together with a clear of the whole field */
        m->rec_attr_set = (m->rec_attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | o->v;
        m->rec_attr_clr |= MOUNT_ATTR__ATIME;
        break;
    case OPT_BIND:
        /* a later "bind" does not undo an earlier "rbind": both ask for a bind mount */
        m->bind = true;
        m->flags |= MS_BIND;
        break;
    case OPT_RBIND:
        m->bind = m->recursive_bind = true;
        m->flags |= MS_BIND | MS_REC;
        break;
    case OPT_IDMAP: m->idmap = true; break;
    case OPT_RIDMAP: m->idmap = m->ridmap = true; break;
    }
}

int mount_options_parse(struct arena *a, struct spec_mount *m)
{
    m->flags = 0;
    m->propagation = 0;
    m->rec_attr_set = m->rec_attr_clr = 0;
    m->bind = m->recursive_bind = false;
    m->idmap = m->ridmap = false;
    m->data = NULL;

    if (m->type && streq(m->type, "bind")) {
        m->bind = true;
        m->flags |= MS_BIND;
    }

    size_t data_len = 0;
    for (size_t i = 0; i < m->n_options; i++) {
        const char *opt = m->options[i];
        if (str_empty(opt))
            continue;
        const struct mount_opt *o = mount_opt_find(opt);
        if (o)
            apply(m, o);
        else
            data_len += strlen(opt) + 1;
    }
    if (data_len == 0)
        return 0;

    /* second pass: filesystem options keep their order, comma separated */
    char *data = arena_alloc(a, data_len), *p = data;
    for (size_t i = 0; i < m->n_options; i++) {
        const char *opt = m->options[i];
        if (str_empty(opt) || mount_opt_find(opt))
            continue;
        if (p != data)
            *p++ = ',';
        size_t n = strlen(opt);
        memcpy(p, opt, n);
        p += n;
    }
    *p = '\0';
    m->data = data;
    return 0;
}
