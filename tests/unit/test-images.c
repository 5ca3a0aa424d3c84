/* images/: digests, names, path confinement, whiteouts, xattr policy, users, process. */
#include <errno.h>
#include <stdlib.h>

#include "images/digest.h"
#include "images/imgconfig.h"
#include "images/store.h"
#include "images/unpack.h"
#include "lib/err.h"
#include "lib/util.h"
#include "tests/unit/unit.h"

#define HEX_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void test_sha256_vectors(void)
{
    struct digest d;
    digest_buf("abc", 3, &d);
    CHECK_STR(d.hex, HEX_ABC);
    digest_buf("", 0, &d);
    CHECK_STR(d.hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* incremental == one shot, across block boundaries */
    char buf[1000];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)(i * 7);
    _cleanup_hasher_ struct hasher h = {0};
    struct digest a, b;
    hasher_init(&h);
    for (size_t i = 0; i < sizeof(buf); i += 13)
        hasher_update(&h, buf + i, i + 13 <= sizeof(buf) ? 13 : sizeof(buf) - i);
    hasher_final(&h, &a);
    digest_buf(buf, sizeof(buf), &b);
    CHECK(digest_eq(&a, &b));
    CHECK_INT(h.bytes, sizeof(buf));
}

static void test_digest_parse(void)
{
    struct digest d;
    char buf[DIGEST_STR_SIZE];
    CHECK_INT(digest_parse("sha256:" HEX_ABC, "t", &d), 0);
    CHECK_STR(digest_str(&d, buf), "sha256:" HEX_ABC);
    CHECK_INT(digest_parse("sha256:" HEX_ABC "0", "t", &d), -EINVAL);
    CHECK_INT(
            digest_parse("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
                         "t", &d),
            -EINVAL);
    CHECK_CONTAINS(err_msg(), "lowercase");
    CHECK_INT(digest_parse("sha512:" HEX_ABC, "t", &d), -ENOTSUP);
    CHECK_CONTAINS(err_msg(), "sha512");
    CHECK_INT(digest_parse(HEX_ABC, "layer 3", &d), -EINVAL);
    CHECK_CONTAINS(err_msg(), "layer 3");
    CHECK_INT(digest_parse("sha256:../../etc/passwd", "t", &d), -EINVAL);
    CHECK_INT(digest_parse("", "t", &d), -EINVAL);
    CHECK_INT(digest_parse(NULL, "t", &d), -EINVAL);
}

static void test_names(void)
{
    char out[IMAGE_NAME_MAX + 8];
    CHECK_INT(image_name_normalize("busybox", out, sizeof(out)), 0);
    CHECK_STR(out, "busybox:latest");
    CHECK_INT(image_name_normalize("docker.io/library/busybox:1.36", out, sizeof(out)), 0);
    CHECK_STR(out, "docker.io/library/busybox:1.36");
    CHECK_INT(image_name_normalize("localhost:5000/x", out, sizeof(out)), 0);
    CHECK_STR(out, "localhost:5000/x:latest");
    CHECK_INT(image_name_normalize("x:", out, sizeof(out)), -EINVAL);
    CHECK_INT(image_name_normalize(":tag", out, sizeof(out)), -EINVAL);
    CHECK_INT(image_name_normalize("a b", out, sizeof(out)), -EINVAL);
    CHECK_INT(image_name_normalize("x:t@g", out, sizeof(out)), -EINVAL);
}

static void test_path_clean(void)
{
    char out[64];
    const char *why;
    static const struct {
        const char *in, *out;
    } ok[] = {
            {"./", ""},        {".", ""},      {"bin/sh", "bin/sh"}, {"./bin//sh", "bin/sh"},
            {"a/./b/", "a/b"}, {"...", "..."}, {"a/..b", "a/..b"},   {"..a/b", "..a/b"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        CHECK_INT(layer_path_clean(ok[i].in, out, sizeof(out), &why), 0);
        CHECK_STR(out, ok[i].out);
    }
    static const char *const bad[] = {"/etc/passwd", "..",     "../x", "a/../../x",
                                      "a/..",        "./../x", "//x"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        CHECK_INT(layer_path_clean(bad[i], out, sizeof(out), &why), -EINVAL);
        CHECK(why != NULL);
    }
    CHECK_INT(layer_path_clean("a/../b", out, sizeof(out), &why), -EINVAL);
    CHECK_CONTAINS(why, "..");
    CHECK_INT(layer_path_clean("/x", out, sizeof(out), &why), -EINVAL);
    CHECK_CONTAINS(why, "absolute");
    char small[4];
    CHECK_INT(layer_path_clean("abcdef", small, sizeof(small), &why), -EINVAL);
    CHECK_INT(layer_path_clean(NULL, out, sizeof(out), &why), -EINVAL);
}

static void test_whiteouts(void)
{
    char t[64];
    CHECK_INT(whiteout_parse("etc/passwd", t, sizeof(t)), WH_NONE);
    CHECK_INT(whiteout_parse("etc/.wh.passwd", t, sizeof(t)), WH_FILE);
    CHECK_STR(t, "etc/passwd");
    CHECK_INT(whiteout_parse(".wh.c", t, sizeof(t)), WH_FILE);
    CHECK_STR(t, "c");
    CHECK_INT(whiteout_parse("a/b/.wh..wh..opq", t, sizeof(t)), WH_OPAQUE);
    CHECK_STR(t, "a/b");
    CHECK_INT(whiteout_parse(".wh..wh..opq", t, sizeof(t)), WH_OPAQUE);
    CHECK_STR(t, "");
    CHECK_INT(whiteout_parse(".wh..wh.plnk", t, sizeof(t)), WH_META);
    CHECK_INT(whiteout_parse("x/.wh.", t, sizeof(t)), WH_META);
    CHECK_INT(whiteout_parse("x/.wh..", t, sizeof(t)), WH_META);
    CHECK_INT(whiteout_parse("x/.wh...", t, sizeof(t)), WH_META);
    CHECK_INT(whiteout_parse("x.wh.y", t, sizeof(t)), WH_NONE);
}

static void test_xattrs(void)
{
    CHECK(layer_xattr_allowed("user.foo"));
    CHECK(layer_xattr_allowed("security.capability"));
    CHECK(!layer_xattr_allowed("trusted.overlay.opaque"));
    CHECK(!layer_xattr_allowed("trusted.overlay.redirect"));
    CHECK(!layer_xattr_allowed("security.selinux"));
    CHECK(!layer_xattr_allowed("system.posix_acl_access"));
}

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "# comment\n"
                             "user:x:1000:1000:user:/home/user:/bin/sh\n"
                             "svc:x:201:300::/srv:/bin/false\n"
                             "broken:x:notanumber:1::/:\n";
static const char group[] = "root:x:0:\n"
                            "users:x:100:user,svc\n"
                            "user:x:1000:\n"
                            "extra:x:2000: user \n"
                            "svcgrp:x:300:\n";

static void test_user_resolve(void)
{
    struct arena a = {0};
    struct resolved_user u;
    CHECK_INT(user_resolve(&a, NULL, passwd, group, &u), 0);
    CHECK_INT(u.uid, 0);
    CHECK_INT(u.gid, 0);
    CHECK_STR(u.home, "/root");
    CHECK_INT(user_resolve(&a, "user", passwd, group, &u), 0);
    CHECK_INT(u.uid, 1000);
    CHECK_INT(u.gid, 1000);
    CHECK_STR(u.home, "/home/user");
    CHECK_INT(u.n_gids, 2);
    CHECK_INT(u.gids[0], 100);
    CHECK_INT(u.gids[1], 2000);
    CHECK_INT(user_resolve(&a, "1000", passwd, group, &u), 0);
    CHECK_INT(u.gid, 1000);
    CHECK_INT(u.n_gids, 2);
    CHECK_INT(user_resolve(&a, "4242", passwd, group, &u), 0); /* no entry needed */
    CHECK_INT(u.uid, 4242);
    CHECK_INT(u.gid, 0);
    CHECK(u.home == NULL);
    CHECK_INT(user_resolve(&a, "svc:users", passwd, group, &u), 0);
    CHECK_INT(u.uid, 201);
    CHECK_INT(u.gid, 100);
    CHECK_INT(u.n_gids, 0); /* its only other group is the primary one now */
    CHECK_INT(user_resolve(&a, "user:55", passwd, group, &u), 0);
    CHECK_INT(u.gid, 55);
    CHECK_INT(user_resolve(&a, "1:2", NULL, NULL, &u), 0);
    CHECK_INT(u.uid, 1);
    CHECK_INT(u.gid, 2);
    CHECK_INT(user_resolve(&a, "nobody", passwd, group, &u), -ENOENT);
    CHECK_CONTAINS(err_msg(), "\"nobody\" not found in the image's /etc/passwd");
    CHECK_INT(user_resolve(&a, "user:nogroup", passwd, group, &u), -ENOENT);
    CHECK_CONTAINS(err_msg(), "group \"nogroup\"");
    CHECK_INT(user_resolve(&a, "user", NULL, NULL, &u), -ENOENT);
    CHECK_CONTAINS(err_msg(), "has none");
    CHECK_INT(user_resolve(&a, "broken", passwd, group, &u), -ENOENT);
    CHECK_INT(user_resolve(&a, "user:", passwd, group, &u), -EINVAL);
    CHECK_INT(user_resolve(&a, ":1", passwd, group, &u), -EINVAL);
    CHECK_INT(user_resolve(&a, "4294967296", passwd, group, &u), -ENOENT);
    arena_free(&a);
}

static int env_index(const struct image_process *p, const char *kv)
{
    for (size_t i = 0; i < p->n_env; i++)
        if (streq(p->env[i], kv))
            return (int)i;
    return -1;
}

static void test_process(void)
{
    static const char cfg_text[] =
            "{\"Entrypoint\":[\"/bin/ep\",\"-x\"],\"Cmd\":[\"serve\"],\"Env\":[\"PATH=/opt/bin\","
            "\"A=1\",\"NOEQUALS\"],\"WorkingDir\":\"/srv\",\"User\":\"user\",\"StopSignal\":"
            "\"SIGQUIT\",\"Labels\":{\"org.example\":\"v\"}}";
    struct arena a = {0};
    struct json *cfg;
    CHECK_INT(json_parse(&a, cfg_text, sizeof(cfg_text) - 1, "cfg", &cfg), 0);
    struct image_process p;
    struct run_overrides o = {.hostname = "h1"};
    CHECK_INT(image_process_build(&a, cfg, &o, passwd, group, &p), 0);
    CHECK_INT(p.n_args, 3);
    CHECK_STR(p.args[0], "/bin/ep");
    CHECK_STR(p.args[2], "serve");
    CHECK(p.args[3] == NULL);
    CHECK_STR(p.cwd, "/srv");
    CHECK_INT(p.user.uid, 1000);
    CHECK(env_index(&p, "PATH=/opt/bin") >= 0);
    CHECK(env_index(&p, "A=1") >= 0);
    CHECK(env_index(&p, "NOEQUALS") < 0);
    CHECK(env_index(&p, "HOME=/home/user") >= 0);
    CHECK(env_index(&p, "HOSTNAME=h1") >= 0);
    CHECK(env_index(&p, "TERM=xterm") < 0);
    CHECK_STR(p.stop_signal, "SIGQUIT");
    CHECK_INT(p.n_labels, 1);
    CHECK_STR(p.labels[0].key, "org.example");

    /* command line: CMD replaces Cmd, -e overrides, -u, -w, -t */
    char *cmd[] = {"a", "b"};
    setenv("BERTH_UNIT_FROM_HOST", "yes", 1);
    char *env[] = {"A=2", "NEW=x", "BERTH_UNIT_FROM_HOST", "BERTH_UNIT_UNSET"};
    struct run_overrides o2 = {.cmd = cmd,
                               .n_cmd = 2,
                               .env = env,
                               .n_env = 4,
                               .user = "0:5",
                               .workdir = "/tmp",
                               .terminal = true};
    CHECK_INT(image_process_build(&a, cfg, &o2, passwd, group, &p), 0);
    CHECK_INT(p.n_args, 4);
    CHECK_STR(p.args[2], "a");
    CHECK(env_index(&p, "A=2") >= 0);
    CHECK(env_index(&p, "A=1") < 0);
    CHECK(env_index(&p, "NEW=x") >= 0);
    CHECK(env_index(&p, "BERTH_UNIT_FROM_HOST=yes") >= 0);
    CHECK(env_index(&p, "TERM=xterm") >= 0);
    CHECK_INT(p.user.uid, 0);
    CHECK_INT(p.user.gid, 5);
    CHECK_STR(p.cwd, "/tmp");

    /* --entrypoint replaces Entrypoint and drops Cmd; "" clears it */
    struct run_overrides o3 = {.entrypoint = "/bin/other"};
    CHECK_INT(image_process_build(&a, cfg, &o3, passwd, group, &p), 0);
    CHECK_INT(p.n_args, 1);
    CHECK_STR(p.args[0], "/bin/other");
    struct run_overrides o4 = {.entrypoint = ""};
    CHECK_INT(image_process_build(&a, cfg, &o4, passwd, group, &p), -EINVAL);
    CHECK_CONTAINS(err_msg(), "no Entrypoint or Cmd");

    /* no config at all: a command is needed; PATH gets a default */
    char *sh[] = {"sh"};
    struct run_overrides o5 = {.cmd = sh, .n_cmd = 1};
    CHECK_INT(image_process_build(&a, NULL, &o5, NULL, NULL, &p), 0);
    CHECK(env_index(&p, DEFAULT_PATH_ENV) >= 0);
    CHECK_STR(p.cwd, "/");
    struct run_overrides o6 = {.cmd = sh, .n_cmd = 1, .workdir = "rel"};
    CHECK_INT(image_process_build(&a, NULL, &o6, NULL, NULL, &p), -EINVAL);
    struct run_overrides o7 = {.cmd = sh, .n_cmd = 1, .user = "ghost"};
    CHECK_INT(image_process_build(&a, cfg, &o7, passwd, group, &p), -ENOENT);
    arena_free(&a);
}

static void test_sizes(void)
{
    uint64_t v;
    CHECK_INT(parse_size("512m", &v), 0);
    CHECK_INT(v, 512ULL << 20);
    CHECK_INT(parse_size("1g", &v), 0);
    CHECK_INT(v, 1ULL << 30);
    CHECK_INT(parse_size("1.5G", &v), 0);
    CHECK_INT(v, 3ULL << 29);
    CHECK_INT(parse_size("64KiB", &v), 0);
    CHECK_INT(v, 64ULL << 10);
    CHECK_INT(parse_size("4096", &v), 0);
    CHECK_INT(v, 4096);
    CHECK_INT(parse_size("-1m", &v), -EINVAL);
    CHECK_INT(parse_size("12q", &v), -EINVAL);
    CHECK_INT(parse_size("", &v), -EINVAL);
    CHECK_INT(parse_cpus("0.5", &v), 0);
    CHECK_INT(v, 50000);
    CHECK_INT(parse_cpus("2", &v), 0);
    CHECK_INT(v, 200000);
    CHECK_INT(parse_cpus("0", &v), -ERANGE);
    CHECK_INT(parse_cpus("x", &v), -EINVAL);
}

UNIT_MAIN(UNIT(test_sha256_vectors), UNIT(test_digest_parse), UNIT(test_names),
          UNIT(test_path_clean), UNIT(test_whiteouts), UNIT(test_xattrs), UNIT(test_user_resolve),
          UNIT(test_process), UNIT(test_sizes))
