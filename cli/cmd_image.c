/* berth image import|ls|inspect|rm|prune|export */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "images/digest.h"
#include "images/images.h"
#include "images/store.h"
#include "lib/err.h"
#include "lib/util.h"

#define IMAGE_USAGE                                                                               \
    "Usage: berth [--image-root DIR] image COMMAND [options] [arguments]\n\n"                     \
    "Manage the image store (default " STORE_DEFAULT_ROOT ", or $" STORE_ROOT_ENV                 \
    ", or the global\n"                                                                           \
    "option --image-root DIR).\n\n"                                                               \
    "Commands:\n"                                                                                 \
    "   import FILE|DIR [NAME[:TAG]]  import an OCI layout (directory or tar, as skopeo,\n"       \
    "                                 buildah and podman write them), a skopeo dir:, a docker\n"  \
    "                                 archive (docker save) or a rootfs tarball (tar, gzip,\n"    \
    "                                 zstd, xz); NAME defaults to the source's own name or\n"     \
    "                                 the file name\n"                                            \
    "   ls [--format table|json]      list the images\n"                                          \
    "   inspect NAME                  print an image's digest, layers, config and size as JSON\n" \
    "   rm NAME...                    remove names (refused while a container uses the image)\n"  \
    "   prune                         remove the blobs and layers no image or container uses\n"   \
    "   export NAME FILE              write an OCI layout tar (\"-\": stdout) that skopeo and\n"  \
    "                                 podman read (oci-archive:FILE)\n\n"                         \
    "NAME is name[:tag] (tag \"latest\" by default), a digest sha256:..., or a unique\n"          \
    "prefix of 6 or more hex digits of one. The image \"default\" is built into berth and\n"      \
    "imported on first use.\n"

static int open_store(struct cli *cli, bool exclusive, struct imgstore **s)
{
    int r = imgstore_open(imgstore_root_choose(cli->image_root), exclusive, s);
    return r < 0 ? cli_fail(cli, NULL) : 0;
}

static int image_import(struct cli *cli, int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return cli_usage_error(cli, "import needs FILE|DIR and optionally NAME[:TAG]") ? 1 : 1;
    _cleanup_imgstore_ struct imgstore *s = NULL;
    if (open_store(cli, false, &s))
        return 1;
    char name[IMAGE_NAME_MAX + 8];
    struct digest d;
    char buf[DIGEST_STR_SIZE];
    if (images_import(s, argv[1], argc == 3 ? argv[2] : NULL, name, sizeof(name), &d) < 0)
        return cli_fail(cli, NULL);
    printf("%s %s\n", name, digest_str(&d, buf));
    return 0;
}

static int image_ls(struct cli *cli, int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        if ((streq(a, "--format") || streq(a, "-format") || streq(a, "-f")) && i + 1 < argc)
            v = argv[++i];
        else if (startswith(a, "--format="))
            v = a + 9;
        else if (streq(a, "-q") || streq(a, "--quiet"))
            continue;
        else
            return cli_usage_error(cli, "ls: unknown argument %s", a) ? 1 : 1;
        if (streq(v, "json"))
            json = true;
        else if (!streq(v, "table"))
            return cli_usage_error(cli, "--format must be table or json, not \"%s\"", v) ? 1 : 1;
    }
    _cleanup_imgstore_ struct imgstore *s = NULL;
    if (open_store(cli, false, &s))
        return 1;
    _cleanup_free_ char *out = NULL;
    if ((json ? images_list_json(s, &out) : images_list_table(s, &out)) < 0)
        return cli_fail(cli, NULL);
    fputs(out, stdout);
    return 0;
}

static int image_inspect(struct cli *cli, int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error(cli, "inspect needs exactly one NAME") ? 1 : 1;
    _cleanup_imgstore_ struct imgstore *s = NULL;
    if (open_store(cli, false, &s))
        return 1;
    _cleanup_free_ char *out = NULL;
    if (images_inspect_json(s, argv[1], &out) < 0)
        return cli_fail(cli, argv[1]);
    fputs(out, stdout);
    return 0;
}

static int image_rm(struct cli *cli, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(cli, "rm needs at least one NAME") ? 1 : 1;
    _cleanup_imgstore_ struct imgstore *s = NULL;
    if (open_store(cli, true, &s))
        return 1;
    int ret = 0;
    for (int i = 1; i < argc; i++) {
        if (images_remove(s, argv[i]) < 0)
            ret = cli_fail(cli, argv[i]);
        else
            printf("Removed %s\n", argv[i]);
    }
    return ret;
}

static int image_prune(struct cli *cli, int argc, char **argv)
{
    if (argc != 1)
        return cli_usage_error(cli, "prune takes no arguments") ? 1 : 1;
    _cleanup_imgstore_ struct imgstore *s = NULL;
    if (open_store(cli, true, &s))
        return 1;
    struct prune_stats st;
    if (images_prune(s, &st) < 0)
        return cli_fail(cli, NULL);
    printf("Removed %zu blobs, %zu layers and %zu stale container bundles (%.1f MiB)\n", st.blobs,
           st.layers, st.containers, (double)st.bytes / (1 << 20));
    return 0;
}

static int image_export(struct cli *cli, int argc, char **argv)
{
    if (argc != 3)
        return cli_usage_error(cli, "export needs NAME and FILE") ? 1 : 1;
    _cleanup_imgstore_ struct imgstore *s = NULL;
    if (open_store(cli, false, &s))
        return 1;
    if (images_export(s, argv[1], argv[2]) < 0)
        return cli_fail(cli, argv[1]);
    return 0;
}

static int cmd_image_run(struct cli *cli, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(struct cli *, int, char **);
    } subs[] = {
            {"import", image_import},   {"ls", image_ls},         {"list", image_ls},
            {"inspect", image_inspect}, {"rm", image_rm},         {"remove", image_rm},
            {"prune", image_prune},     {"export", image_export},
    };
    if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
        fputs(IMAGE_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
        if (!streq(argv[1], subs[i].name))
            continue;
        for (int k = 2; k < argc; k++)
            if (streq(argv[k], "--help") || streq(argv[k], "-h")) {
                fputs(IMAGE_USAGE, stdout);
                return 0;
            }
        char command[64];
        snprintf(command, sizeof(command), "image %s", argv[1]);
        cli->command = command;
        int r = subs[i].fn(cli, argc - 1, argv + 1);
        cli->command = "image";
        return r;
    }
    cli_usage_error(cli, "unknown image command \"%s\"", argv[1]);
    return 1;
}

const struct command cmd_image = {"image", cmd_image_run,
                                  "manage images: import, ls, inspect, rm, prune, export",
                                  IMAGE_USAGE};
