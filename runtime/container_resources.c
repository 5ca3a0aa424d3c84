/* update, pause, resume, stats and ps: what a running container's cgroup allows. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/util.h"
#include "runtime/container.h"

#define RESOURCES_FILE "resources.json"

static int open_cgroup(const struct container_state *st, struct cgroup **out)
{
    int r = container_cgroup(st, out);
    if (r == 0 && !*out)
        return err_setx(ENOENT, "container %s has no cgroup", st->id);
    return r;
}

struct live {
    int dirfd;
    struct container_state *st;
    enum container_status status;
    struct cgroup *cg;
};

static void live_release(struct live *l)
{
    if (l->dirfd >= 0)
        close(l->dirfd);
    state_free(l->st);
    if (l->cg)
        cgroup_free(l->cg);
}

/* A container that has a process (created, running or paused), locked, with its cgroup. */
static int live_open(const struct runtime_opts *rt, const char *id, struct live *l)
{
    *l = (struct live){.dirfd = -1};
    int r = container_load(rt, id, true, &l->dirfd, &l->st, &l->status);
    if (r < 0)
        return r;
    if (l->status == STATUS_STOPPED)
        return err_setx(ESRCH, "container %s is not running", id);
    return open_cgroup(l->st, &l->cg);
}

/* The resources the container runs with now: the last update's, else config.json's. */
static int current_resources(int dirfd, struct arena *a, struct json **out)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_file_at(dirfd, RESOURCES_FILE, 16 << 20, &text, &len);
    if (r == 0)
        return json_parse(a, text, len, RESOURCES_FILE, out);
    if (r != -ENOENT)
        return err_set(r, "read %s", RESOURCES_FILE);
    r = read_file_at(dirfd, "config.json", 32 << 20, &text, &len);
    if (r < 0)
        return err_set(r, "read the container's config.json");
    struct json *doc;
    if ((r = json_parse(a, text, len, "config.json", &doc)) < 0)
        return r;
    *out = json_get(json_get(doc, "linux"), "resources");
    return 0;
}

static int persist_resources(int dirfd, const struct json *patch)
{
    struct arena a = {0};
    struct json *base = NULL;
    int r = current_resources(dirfd, &a, &base);
    if (r == 0) {
        struct jw w;
        jw_init(&w, NULL);
        jw_value(&w, json_merge(&a, base, patch));
        r = write_file_atomic_at(dirfd, RESOURCES_FILE, w.buf, w.len, 0600);
        jw_free(&w);
        if (r < 0)
            err_set(r, "save the updated resources");
    }
    arena_free(&a);
    return r;
}

int container_update(const struct runtime_opts *rt, const char *id, const char *json, size_t len)
{
    struct live l;
    struct arena a = {0};
    struct json *patch;
    struct spec_resources res = {0};
    struct jctx c = {.what = "resources", .arena = &a};
    int r = json_parse(&a, json, len, "resources", &patch);
    if (r == 0)
        r = spec_parse_resources(&c, patch, NULL, &res);
    if (r == 0 && (r = live_open(rt, id, &l)) == 0) {
        r = cgroup_update(l.cg, &res);
        if (r == 0)
            r = persist_resources(l.dirfd, patch);
        live_release(&l);
    }
    arena_free(&a);
    return r;
}

int container_pause(const struct runtime_opts *rt, const char *id, bool pause)
{
    struct live l;
    int r = live_open(rt, id, &l);
    if (r == 0) {
        if (pause && l.status != STATUS_RUNNING)
            r = err_setx(EINVAL, "cannot pause container %s: it is %s, not running", id,
                         status_name(l.status));
        else if (!pause && l.status != STATUS_PAUSED)
            r = err_setx(EINVAL, "cannot resume container %s: it is %s, not paused", id,
                         status_name(l.status));
        else
            r = cgroup_freeze(l.cg, pause);
    }
    live_release(&l);
    return r;
}

/* The state and cgroup of a container that has processes (no lock: a read). */
static int running_cgroup(const struct runtime_opts *rt, const char *id,
                          struct container_state **st, struct cgroup **cg)
{
    enum container_status status;
    int r = container_load(rt, id, false, NULL, st, &status);
    if (r < 0)
        return r;
    if (status == STATUS_STOPPED)
        return err_setx(ESRCH, "container %s is not running", id);
    return open_cgroup(*st, cg);
}

int container_stats_json(const struct runtime_opts *rt, const char *id, char **out,
                         uint64_t *oom_kills)
{
    _cleanup_state_ struct container_state *st = NULL;
    _cleanup_cgroup_ struct cgroup *cg = NULL;
    int r = running_cgroup(rt, id, &st, &cg);
    if (r < 0)
        return r;
    struct cgroup_stats s = {0};
    if ((r = cgroup_stats(cg, &s)) < 0)
        return r;
    struct jw w;
    jw_init(&w, NULL);
    jw_object_begin(&w);
    jw_kv_string(&w, "type", "stats");
    jw_kv_string(&w, "id", id);
    jw_key(&w, "data");
    cgroup_stats_to_json(&s, &w);
    jw_object_end(&w);
    if (oom_kills)
        *oom_kills = s.oom_kill;
    cgroup_stats_free(&s);
    *out = jw_steal(&w, NULL);
    return 0;
}

int container_pids(const struct runtime_opts *rt, const char *id, pid_t **pids, size_t *n)
{
    _cleanup_state_ struct container_state *st = NULL;
    _cleanup_cgroup_ struct cgroup *cg = NULL;
    int r = running_cgroup(rt, id, &st, &cg);
    return r < 0 ? r : cgroup_pids(cg, pids, n);
}
