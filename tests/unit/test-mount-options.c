/* mount_options_parse: fstab options -> flags, propagation, recursive attributes, data. */
#include <sys/mount.h>

#include "lib/util.h"
#include "runtime/spec.h"
#include "tests/unit/unit.h"

#define A_RO     MOUNT_ATTR_RDONLY
#define A_NOSUID MOUNT_ATTR_NOSUID
#define A_NODEV  MOUNT_ATTR_NODEV
#define A_NOEXEC MOUNT_ATTR_NOEXEC
#define A_NODIR  MOUNT_ATTR_NODIRATIME
#define A_NOSYM  MOUNT_ATTR_NOSYMFOLLOW
#define A_ATIME  MOUNT_ATTR__ATIME

enum { BIND = 1, RBIND = 2, IDMAP = 4, RIDMAP = 8 };

struct mcase {
    const char *type;
    const char *opts[12]; /* NULL-terminated */
    unsigned long flags, propagation;
    uint64_t set, clr;
    int kind; /* BIND | RBIND | IDMAP | RIDMAP */
    const char *data;
};

static const struct mcase mcases[] = {
        /* plain flags, later options win */
        {NULL, {NULL}, 0, 0, 0, 0, 0, NULL},
        {"proc", {NULL}, 0, 0, 0, 0, 0, NULL},
        {NULL, {"ro", NULL}, MS_RDONLY, 0, 0, 0, 0, NULL},
        {NULL, {"ro", "rw", NULL}, 0, 0, 0, 0, 0, NULL},
        {NULL, {"rw", "ro", NULL}, MS_RDONLY, 0, 0, 0, 0, NULL},
        {NULL,
         {"nosuid", "nodev", "noexec", "relatime", NULL},
         MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME,
         0,
         0,
         0,
         0,
         NULL},
        {NULL, {"nosuid", "suid", "nodev", "dev", "noexec", "exec", NULL}, 0, 0, 0, 0, 0, NULL},
        {NULL, {"sync", NULL}, MS_SYNCHRONOUS, 0, 0, 0, 0, NULL},
        {NULL, {"sync", "async", NULL}, 0, 0, 0, 0, 0, NULL},
        {NULL, {"noatime", "atime", "nodiratime", NULL}, MS_NODIRATIME, 0, 0, 0, 0, NULL},
        {NULL, {"nodiratime", "diratime", "noatime", NULL}, MS_NOATIME, 0, 0, 0, 0, NULL},
        {NULL,
         {"dirsync", "remount", "mand", NULL},
         MS_DIRSYNC | MS_REMOUNT | MS_MANDLOCK,
         0,
         0,
         0,
         0,
         NULL},
        {NULL, {"mand", "nomand", NULL}, 0, 0, 0, 0, 0, NULL},
        {NULL, {"iversion", "lazytime", NULL}, MS_I_VERSION | MS_LAZYTIME, 0, 0, 0, 0, NULL},
        {NULL, {"iversion", "lazytime", "noiversion", "nolazytime", NULL}, 0, 0, 0, 0, 0, NULL},
        {NULL, {"silent", NULL}, MS_SILENT, 0, 0, 0, 0, NULL},
        {NULL, {"silent", "loud", NULL}, 0, 0, 0, 0, 0, NULL},
        {NULL, {"strictatime", "relatime", NULL}, MS_STRICTATIME | MS_RELATIME, 0, 0, 0, 0, NULL},
        {NULL,
         {"strictatime", "relatime", "nostrictatime", "norelatime", NULL},
         0,
         0,
         0,
         0,
         0,
         NULL},
        {NULL, {"nosymfollow", NULL}, MS_NOSYMFOLLOW, 0, 0, 0, 0, NULL},
        {NULL, {"nosymfollow", "symfollow", NULL}, 0, 0, 0, 0, 0, NULL},
        {NULL, {"defaults", NULL}, 0, 0, 0, 0, 0, NULL},
        {NULL, {"", "ro", "", NULL}, MS_RDONLY, 0, 0, 0, 0, NULL},

        /* bind mounts */
        {NULL, {"bind", NULL}, MS_BIND, 0, 0, 0, BIND, NULL},
        {NULL, {"rbind", NULL}, MS_BIND | MS_REC, 0, 0, 0, BIND | RBIND, NULL},
        {NULL, {"rbind", "bind", NULL}, MS_BIND | MS_REC, 0, 0, 0, BIND | RBIND, NULL},
        {"bind", {NULL}, MS_BIND, 0, 0, 0, BIND, NULL},
        {"bind", {"ro", NULL}, MS_BIND | MS_RDONLY, 0, 0, 0, BIND, NULL},
        {"bind", {"rbind", NULL}, MS_BIND | MS_REC, 0, 0, 0, BIND | RBIND, NULL},
        {"none",
         {"rbind", "nosuid", "noexec", "nodev", "ro", NULL},
         MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY,
         0,
         0,
         0,
         BIND | RBIND,
         NULL},

        /* propagation: the last one wins */
        {NULL, {"private", NULL}, 0, MS_PRIVATE, 0, 0, 0, NULL},
        {NULL, {"rprivate", NULL}, 0, MS_PRIVATE | MS_REC, 0, 0, 0, NULL},
        {NULL, {"shared", NULL}, 0, MS_SHARED, 0, 0, 0, NULL},
        {NULL, {"rshared", NULL}, 0, MS_SHARED | MS_REC, 0, 0, 0, NULL},
        {NULL, {"slave", NULL}, 0, MS_SLAVE, 0, 0, 0, NULL},
        {NULL, {"rslave", NULL}, 0, MS_SLAVE | MS_REC, 0, 0, 0, NULL},
        {NULL, {"unbindable", NULL}, 0, MS_UNBINDABLE, 0, 0, 0, NULL},
        {NULL, {"runbindable", NULL}, 0, MS_UNBINDABLE | MS_REC, 0, 0, 0, NULL},
        {NULL, {"rshared", "slave", NULL}, 0, MS_SLAVE, 0, 0, 0, NULL},
        {NULL,
         {"bind", "rprivate", "ro", NULL},
         MS_BIND | MS_RDONLY,
         MS_PRIVATE | MS_REC,
         0,
         0,
         BIND,
         NULL},

        /* recursive attributes (mount_setattr) */
        {NULL, {"rro", NULL}, 0, 0, A_RO, 0, 0, NULL},
        {NULL, {"rrw", NULL}, 0, 0, 0, A_RO, 0, NULL},
        {NULL, {"rro", "rrw", NULL}, 0, 0, 0, A_RO, 0, NULL},
        {NULL, {"rrw", "rro", NULL}, 0, 0, A_RO, 0, 0, NULL},
        {NULL,
         {"rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow", NULL},
         0,
         0,
         A_NOSUID | A_NODEV | A_NOEXEC | A_NODIR | A_NOSYM,
         0,
         0,
         NULL},
        {NULL,
         {"rsuid", "rdev", "rexec", "rdiratime", "rsymfollow", NULL},
         0,
         0,
         0,
         A_NOSUID | A_NODEV | A_NOEXEC | A_NODIR | A_NOSYM,
         0,
         NULL},
        {NULL, {"rnosuid", "rsuid", "rdev", "rnodev", NULL}, 0, 0, A_NODEV, A_NOSUID, 0, NULL},
        /* atime is a mode: setting one replaces the others and clears the whole field */
        {NULL, {"rnoatime", NULL}, 0, 0, MOUNT_ATTR_NOATIME, A_ATIME, 0, NULL},
        {NULL, {"rstrictatime", NULL}, 0, 0, MOUNT_ATTR_STRICTATIME, A_ATIME, 0, NULL},
        {NULL, {"rrelatime", NULL}, 0, 0, MOUNT_ATTR_RELATIME, A_ATIME, 0, NULL},
        {NULL, {"rnoatime", "rrelatime", NULL}, 0, 0, MOUNT_ATTR_RELATIME, A_ATIME, 0, NULL},
        {NULL, {"rnoatime", "rstrictatime", NULL}, 0, 0, MOUNT_ATTR_STRICTATIME, A_ATIME, 0, NULL},
        {NULL, {"rstrictatime", "rnoatime", NULL}, 0, 0, MOUNT_ATTR_NOATIME, A_ATIME, 0, NULL},
        {NULL, {"ratime", NULL}, 0, 0, MOUNT_ATTR_RELATIME, A_ATIME, 0, NULL},
        {NULL, {"rnorelatime", NULL}, 0, 0, MOUNT_ATTR_STRICTATIME, A_ATIME, 0, NULL},
        {NULL, {"rnostrictatime", NULL}, 0, 0, MOUNT_ATTR_RELATIME, A_ATIME, 0, NULL},
        {NULL,
         {"rro", "rnoatime", "rnosuid", NULL},
         0,
         0,
         A_RO | MOUNT_ATTR_NOATIME | A_NOSUID,
         A_ATIME,
         0,
         NULL},
        {NULL, {"ro", "rro", NULL}, MS_RDONLY, 0, A_RO, 0, 0, NULL},

        /* id-mapped mounts */
        {NULL, {"idmap", NULL}, 0, 0, 0, 0, IDMAP, NULL},
        {NULL, {"ridmap", NULL}, 0, 0, 0, 0, IDMAP | RIDMAP, NULL},
        {NULL, {"rbind", "idmap", NULL}, MS_BIND | MS_REC, 0, 0, 0, BIND | RBIND | IDMAP, NULL},

        /* everything else is filesystem data, in order */
        {NULL, {"mode=755", NULL}, 0, 0, 0, 0, 0, "mode=755"},
        {"tmpfs",
         {"nosuid", "strictatime", "mode=755", "size=65536k", NULL},
         MS_NOSUID | MS_STRICTATIME,
         0,
         0,
         0,
         0,
         "mode=755,size=65536k"},
        {"devpts",
         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL},
         MS_NOSUID | MS_NOEXEC,
         0,
         0,
         0,
         0,
         "newinstance,ptmxmode=0666,mode=0620,gid=5"},
        {NULL,
         {"uid=5", "ro", "gid=5", "context=\"a,b\"", "rprivate", NULL},
         MS_RDONLY,
         MS_PRIVATE | MS_REC,
         0,
         0,
         0,
         "uid=5,gid=5,context=\"a,b\""},
        {NULL, {"RO", "Bind", "tmpcopyup", NULL}, 0, 0, 0, 0, 0, "RO,Bind,tmpcopyup"},
        {"overlay",
         {"lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "index=off", NULL},
         0,
         0,
         0,
         0,
         0,
         "lowerdir=/a:/b,upperdir=/u,workdir=/w,index=off"},
};

static void describe(const struct mcase *c)
{
    printf("#   type=%s options=", c->type ? c->type : "(none)");
    for (size_t i = 0; c->opts[i]; i++)
        printf("%s%s", i ? "," : "", c->opts[i]);
    printf("\n");
}

static void run_case(struct arena *a, const struct mcase *c)
{
    struct spec_mount m = {0};
    m.type = (char *)c->type;
    m.options = (char **)c->opts;
    m.n_options = strv_length((char **)c->opts);

    int failed_before = unit_failed_checks;
    /* twice: the second call must not accumulate anything from the first */
    for (int round = 0; round < 2; round++) {
        CHECK_INT(mount_options_parse(a, &m), 0);
        CHECK_INT(m.flags, c->flags);
        CHECK_INT(m.propagation, c->propagation);
        CHECK_INT(m.rec_attr_set, c->set);
        CHECK_INT(m.rec_attr_clr, c->clr);
        CHECK_INT(m.bind, !!(c->kind & BIND));
        CHECK_INT(m.recursive_bind, !!(c->kind & RBIND));
        CHECK_INT(m.idmap, !!(c->kind & IDMAP));
        CHECK_INT(m.ridmap, !!(c->kind & RIDMAP));
        if (c->data)
            CHECK_STR(m.data, c->data);
        else
            CHECK(m.data == NULL);
    }
    if (unit_failed_checks != failed_before)
        describe(c);
}

static void test_table(void)
{
    struct arena a = {0};
    for (size_t i = 0; i < ARRAY_SIZE(mcases); i++)
        run_case(&a, &mcases[i]);
    arena_free(&a);
}

/* n_options is authoritative: entries past it are not looked at */
static void test_count(void)
{
    struct arena a = {0};
    char *opts[] = {"ro", "mode=1", NULL};
    struct spec_mount m = {.options = opts, .n_options = 1};
    CHECK_INT(mount_options_parse(&a, &m), 0);
    CHECK_INT(m.flags, MS_RDONLY);
    CHECK(m.data == NULL);
    arena_free(&a);
}

/* many options stay linear and keep every data option */
static void test_many(void)
{
    struct arena a = {0};
    const size_t n = 20000;
    char **opts = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        opts[i] = i % 2 ? "ro" : "x=1";
    struct spec_mount m = {.options = opts, .n_options = n};
    CHECK_INT(mount_options_parse(&a, &m), 0);
    CHECK_INT(m.flags, MS_RDONLY);
    CHECK_INT(strlen(m.data), (n / 2) * 4 - 1);
    free(opts);
    arena_free(&a);
}

UNIT_MAIN(UNIT(test_table), UNIT(test_count), UNIT(test_many))
