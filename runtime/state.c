#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/hash.h"
#include "lib/util.h"
#include "runtime/state.h"

#define STATE_FILE     "state.json"
#define STATE_MAX_SIZE (4 << 20)
#define OCI_VERSION    BERTH_SPEC_VERSION

static const char *const status_names[] = {
        [STATUS_CREATING] = "creating", [STATUS_CREATED] = "created", [STATUS_RUNNING] = "running",
        [STATUS_PAUSED] = "paused",     [STATUS_STOPPED] = "stopped",
};

const char *status_name(enum container_status s)
{
    return status_names[s];
}

int id_validate(const char *id)
{
    size_t n = strlen(id);
    if (n == 0)
        return err_setx(EINVAL, "container id is empty");
    if (n > 1024)
        return err_setx(EINVAL, "container id is %zu bytes long: at most 1024 are allowed", n);
    if (!isalnum((unsigned char)id[0]))
        return err_setx(EINVAL, "invalid container id \"%s\": it must start with a letter or digit",
                        id);
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.+-", *p))
            return err_setx(EINVAL,
                            "invalid container id \"%s\": only letters, digits and _ . + - "
                            "are allowed",
                            id);
    return 0;
}

/* The directory of a container: its id, or for an id longer than a file name may be
 * (ids go up to 1024 bytes), "_" and the id's sha256 — no id starts with "_". */
void state_dir_name(const char *id, char out[STATE_DIR_NAME_MAX])
{
    size_t n = strlen(id);
    if (n <= NAME_MAX) {
        memcpy(out, id, n + 1);
        return;
    }
    out[0] = '_';
    sha256_hex(id, n, out + 1);
}

char *state_dir_path(const char *root, const char *id)
{
    char name[STATE_DIR_NAME_MAX];
    state_dir_name(id, name);
    return xasprintf("%s/%s", root, name);
}

int state_root_open(const char *root, bool create, int *out)
{
    if (create) {
        /* 0711: a user-namespaced container's root must be able to pass through to what is
         * bind-mounted from its state directory (the notify socket); nothing is listable */
        int r = mkdir_p(root, 0711);
        if (r < 0)
            return err_set(r, "create state root %s", root);
    }
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_set(errno, "open state root %s", root);
    *out = fd;
    return 0;
}

static int lock_dir(int fd, const char *id)
{
    if (RETRY_EINTR(flock(fd, LOCK_EX)) < 0)
        return err_set(errno, "lock container %s", id);
    /* the container may have been deleted while we waited for the lock */
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_set(errno, "stat container %s", id);
    if (st.st_nlink == 0)
        return err_setx(ENOENT, "container %s does not exist", id);
    return 0;
}

int state_dir_create(int rootfd, const char *id, int *out)
{
    char name[STATE_DIR_NAME_MAX];
    state_dir_name(id, name);
    if (mkdirat(rootfd, name, 0711) < 0) {
        if (errno == EEXIST)
            return err_setx(EEXIST, "container %s already exists", id);
        return err_set(errno, "create state directory for %s", id);
    }
    int fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        unlinkat(rootfd, name, AT_REMOVEDIR);
        return err_set(e, "open state directory of %s", id);
    }
    if (RETRY_EINTR(flock(fd, LOCK_EX)) < 0) {
        int e = errno;
        close(fd);
        unlinkat(rootfd, name, AT_REMOVEDIR);
        return err_set(e, "lock container %s", id);
    }
    *out = fd;
    return 0;
}

int state_dir_open(int rootfd, const char *id, int *out)
{
    char name[STATE_DIR_NAME_MAX];
    state_dir_name(id, name);
    int fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return err_setx(ENOENT, "container %s does not exist", id);
        return err_set(errno, "open state of container %s", id);
    }
    *out = fd;
    return 0;
}

int state_dir_open_locked(int rootfd, const char *id, int *out)
{
    _cleanup_close_ int fd = -1;
    int r = state_dir_open(rootfd, id, &fd);
    if (r < 0)
        return r;
    r = lock_dir(fd, id);
    if (r < 0)
        return r;
    *out = TAKE_FD(fd);
    return 0;
}

bool state_dir_busy(int dirfd)
{
    /* a second open file description so our own locks don't count */
    _cleanup_close_ int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        return errno == EWOULDBLOCK;
    flock(fd, LOCK_UN);
    return false;
}

int state_dir_remove(int rootfd, const char *id)
{
    char name[STATE_DIR_NAME_MAX];
    state_dir_name(id, name);
    int r = rm_rf_at(rootfd, name);
    if (r < 0)
        return err_set(r, "remove state directory of %s", id);
    return 0;
}

int read_boot_id(char out[40])
{
    char buf[64];
    _cleanup_close_ int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return n < 0 ? -errno : -EIO;
    buf[n] = '\0';
    size_t len = strcspn(buf, "\n");
    if (len > 39)
        len = 39;
    memcpy(out, buf, len);
    out[len] = '\0';
    return 0;
}

int proc_start_time(pid_t pid, uint64_t *out, char *state_char)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return n < 0 ? -errno : -EIO;
    buf[n] = '\0';
    /* comm may contain spaces and parentheses: fields restart after the last ')' */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -EIO;
    p += 2;
    if (state_char)
        *state_char = *p;
    /* p is field 3 (state); starttime is field 22 */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -EIO;
        p++;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno || end == p)
        return -EIO;
    *out = v;
    return 0;
}

int state_process_alive(const struct container_state *st)
{
    if (st->pid <= 0)
        return 0;
    uint64_t start;
    char s;
    if (proc_start_time(st->pid, &start, &s) < 0)
        return 0;
    if (start != st->pid_start || s == 'Z' || s == 'X')
        return 0;
    /* read once per process: list checks every container against it */
    static char now[40];
    static int have_now = -1;
    if (have_now < 0)
        have_now = read_boot_id(now) == 0;
    if (st->boot_id[0] && have_now && !streq(now, st->boot_id))
        return 0;
    return 1;
}

bool state_status_needs_dir(const struct container_state *st)
{
    return st->pid <= 0 || st->recorded_status != STATUS_RUNNING;
}

enum container_status state_status(const struct container_state *st, int dirfd)
{
    if (st->pid <= 0)
        return state_dir_busy(dirfd) ? STATUS_CREATING : STATUS_STOPPED;
    if (!state_process_alive(st))
        return STATUS_STOPPED;
    /* start removes exec.fifo before it records "running", so only "created" needs a look */
    if (st->recorded_status != STATUS_RUNNING &&
        faccessat(dirfd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return STATUS_CREATED;
    return STATUS_RUNNING;
}

static void write_annotations(struct jw *w, const struct container_state *st)
{
    if (!st->n_annotations)
        return;
    jw_key(w, "annotations");
    jw_object_begin(w);
    for (size_t i = 0; i < st->n_annotations; i++)
        jw_kv_string(w, st->annotations[i].key, st->annotations[i].value);
    jw_object_end(w);
}

void state_write_oci(struct jw *w, const struct container_state *st, enum container_status s,
                     bool runc_fields)
{
    jw_object_begin(w);
    jw_kv_string(w, "ociVersion", OCI_VERSION);
    jw_kv_string(w, "id", st->id);
    if (runc_fields) {
        /* runc's containerState: pid 0 once stopped; annotations before owner */
        jw_kv_int(w, "pid", s == STATUS_STOPPED ? 0 : st->pid);
        jw_kv_string(w, "status", status_name(s));
        jw_kv_string(w, "bundle", st->bundle);
        jw_kv_string(w, "rootfs", st->rootfs);
        jw_kv_string(w, "created", st->created);
        write_annotations(w, st);
        jw_kv_string(w, "owner", st->owner ? st->owner : "");
    } else {
        /* the runtime-spec's state, as hooks read it */
        jw_kv_string(w, "status", status_name(s));
        jw_kv_int(w, "pid", st->pid);
        jw_kv_string(w, "bundle", st->bundle);
        write_annotations(w, st);
    }
    jw_object_end(w);
}

int state_save(int dirfd, const struct container_state *st)
{
    if (st->records_skipped)
        return err_setx(EINVAL,
                        "internal error: state of container %s was loaded without its "
                        "records and cannot be saved",
                        st->id);
    struct jw w;
    jw_init(&w, NULL);
    jw_object_begin(&w);
    jw_kv_string(&w, "ociVersion", OCI_VERSION);
    jw_kv_string(&w, "id", st->id);
    jw_kv_string(&w, "status", status_name(st->recorded_status));
    jw_kv_int(&w, "pid", st->pid);
    jw_kv_string(&w, "bundle", st->bundle);
    write_annotations(&w, st);
    jw_key(&w, "berth");
    jw_object_begin(&w);
    jw_kv_string(&w, "rootfs", st->rootfs);
    jw_kv_string(&w, "created", st->created);
    jw_kv_string(&w, "owner", st->owner ? st->owner : "");
    jw_kv_uint(&w, "pidStart", st->pid_start);
    jw_kv_string(&w, "bootId", st->boot_id);
    /* before the records: list stops reading at "cgroup" */
    if (st->freezer_file)
        jw_kv_string(&w, "freezer", st->freezer_file);
    const char *ext_names[] = {"cgroup", "network", "image"};
    const char *ext_values[] = {st->cgroup_json, st->net_json, st->image_json};
    const struct json *ext_docs[] = {st->cgroup_doc, st->net_doc, st->image_doc};
    for (size_t i = 0; i < ARRAY_SIZE(ext_names); i++) {
        if (ext_values[i]) {
            jw_key(&w, ext_names[i]);
            jw_raw(&w, ext_values[i], strlen(ext_values[i]));
        } else if (ext_docs[i]) {
            jw_key(&w, ext_names[i]);
            jw_value(&w, ext_docs[i]);
        }
    }
    jw_object_end(&w);
    jw_object_end(&w);

    int r = write_file_atomic_at(dirfd, STATE_FILE, w.buf, w.len, 0600);
    jw_free(&w);
    if (r < 0)
        return err_set(r, "write state of container %s", st->id);
    return 0;
}

static char *subtree_text(struct arena *a, const struct json *v)
{
    if (!v)
        return NULL;
    struct jw w;
    jw_init(&w, NULL);
    jw_value(&w, v);
    char *s = arena_strdup(a, w.buf);
    jw_free(&w);
    return s;
}

static int state_parse(struct container_state *st, const struct json *doc, const char *what)
{
    struct jctx c = {.what = what, .arena = &st->arena};
    struct json *b = NULL, *v;
    char *s;
    int r;

    if ((r = jv_object(&c, doc, NULL)) < 0)
        return r;
    if ((r = jo_require(&c, doc, NULL, "id", &v)) < 0 ||
        (r = jv_string(&c, v, JP_KEY(NULL, "id"), &st->id)) < 0)
        return r;
    if ((r = jo_require(&c, doc, NULL, "bundle", &v)) < 0 ||
        (r = jv_string(&c, v, JP_KEY(NULL, "bundle"), &st->bundle)) < 0)
        return r;
    struct opt_i64 pid = {0};
    if ((r = jo_opt_i64(&c, doc, NULL, "pid", &pid)) < 0)
        return r;
    st->pid = (pid_t)pid.v;
    if ((r = jo_string(&c, doc, NULL, "status", &s)) < 0)
        return r;
    st->recorded_status = r > 0 && streq(s, "running") ? STATUS_RUNNING : STATUS_CREATED;
    if ((r = jo_strmap(&c, doc, NULL, "annotations", &st->annotations, &st->n_annotations)) < 0)
        return r;
    if ((r = jo_object(&c, doc, NULL, "berth", &b)) <= 0)
        return r < 0 ? r : json_error(&c, JP_KEY(NULL, "berth"), "missing required field");
    const struct jpath *bp = JP_KEY(NULL, "berth");
    if ((r = jo_string(&c, b, bp, "rootfs", &st->rootfs)) < 0 ||
        (r = jo_string(&c, b, bp, "owner", &st->owner)) < 0)
        return r;
    if ((r = jo_string(&c, b, bp, "created", &s)) < 0)
        return r;
    if (r > 0)
        snprintf(st->created, sizeof(st->created), "%s", s);
    struct opt_u64 start = {0};
    if ((r = jo_opt_u64(&c, b, bp, "pidStart", &start)) < 0)
        return r;
    st->pid_start = start.v;
    if ((r = jo_string(&c, b, bp, "bootId", &s)) < 0)
        return r;
    if (r > 0)
        snprintf(st->boot_id, sizeof(st->boot_id), "%s", s);
    if ((r = jo_string(&c, b, bp, "freezer", &st->freezer_file)) < 0)
        return r;
    st->cgroup_doc = json_get(b, "cgroup");
    st->net_doc = json_get(b, "network");
    st->image_doc = json_get(b, "image");
    return 0;
}

void state_records_text(struct container_state *st)
{
    if (!st->cgroup_json)
        st->cgroup_json = subtree_text(&st->arena, st->cgroup_doc);
    if (!st->net_json)
        st->net_json = subtree_text(&st->arena, st->net_doc);
    if (!st->image_json)
        st->image_json = subtree_text(&st->arena, st->image_doc);
}

/* path ("state.json" or "NAME/state.json") below dirfd, no symlink followed: fd or -errno */
static int open_state_file(int dirfd, const char *path, int flags)
{
    int fd = openat_beneath(dirfd, path, flags, 0);
    if (fd != -ENOSYS && fd != -EPERM)
        return fd;
    /* no openat2 (kernel < 5.6, a seccomp filter, valgrind): one component at a time */
    _cleanup_free_ char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        fd = openat(dirfd, path, flags | O_NOFOLLOW);
    else {
        *slash = '\0';
        _cleanup_close_ int sub =
                openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        fd = sub < 0 ? -1 : openat(sub, slash + 1, flags | O_NOFOLLOW);
    }
    return fd < 0 ? -errno : fd;
}

/* state.json is only ever replaced by rename, never written in place: its size from fstat
 * is the size of what one read returns (list reads thousands of them). */
static int read_state_file(int dirfd, const char *path, char **out, size_t *len, uid_t *uid)
{
    _cleanup_close_ int fd = open_state_file(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat sb;
    if (fd < 0)
        return fd;
    if (fstat(fd, &sb) < 0)
        return -errno;
    if (!S_ISREG(sb.st_mode))
        return -EINVAL;
    if (sb.st_size > STATE_MAX_SIZE)
        return -EFBIG;
    *uid = sb.st_uid;
    size_t size = (size_t)sb.st_size;
    _cleanup_free_ char *buf = xmalloc(size + 1);
    ssize_t n = pread(fd, buf, size, 0);
    if (n < 0)
        return -errno;
    if ((size_t)n != size)
        return read_all_fd(fd, STATE_MAX_SIZE, out, len); /* a short read: read it the long way */
    buf[size] = '\0';
    *out = TAKE_PTR(buf);
    *len = size;
    return 0;
}

/* The keys list needs come before this one in state.json; see state_save. */
static const char *const records_start[] = {"berth", "cgroup", NULL};

/* head: stop at the records (records_skipped is then set). */
static int parse_state(const char *text, size_t len, const char *what, uid_t uid, bool head,
                       struct container_state **out)
{
    struct container_state *st = xzalloc(sizeof(*st));
    struct json *doc;
    st->file_uid = uid;
    int r = json_parse_until(&st->arena, text, len, what, head ? records_start : NULL, &doc,
                             &st->records_skipped);
    if (r == 0)
        r = state_parse(st, doc, what);
    if (r < 0) {
        state_free(st);
        return r;
    }
    *out = st;
    return 0;
}

/* head: skip the records when the state says where its freezer is (list's case). */
static int load_path(int dirfd, const char *path, const char *id, bool head,
                     struct container_state **out)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    uid_t uid = 0;
    int r = read_state_file(dirfd, path, &text, &len, &uid);
    if (r == -ENOENT)
        return err_setx(ENOENT,
                        "container %s has no state yet (being created, or left over "
                        "from a failed create: berth delete --force %s)",
                        id, id);
    if (r < 0)
        return err_set(r, "read state of container %s", id);
    _cleanup_free_ char *what = xasprintf("state of container %s", id);
    r = parse_state(text, len, what, uid, head, out);
    if (r == 0 && (*out)->records_skipped && !(*out)->freezer_file) {
        /* written before the freezer file was kept: paused is read from the cgroup record */
        state_free(*out);
        r = parse_state(text, len, what, uid, false, out);
    }
    return r;
}

int state_load(int dirfd, const char *id, struct container_state **out)
{
    return load_path(dirfd, STATE_FILE, id, false, out);
}

int state_load_entry(int rootfd, const char *name, struct container_state **out)
{
    _cleanup_free_ char *path = xstrjoin(name, "/" STATE_FILE);
    return load_path(rootfd, path, name, true, out);
}

void state_free(struct container_state *st)
{
    if (!st)
        return;
    arena_free(&st->arena);
    free(st);
}
