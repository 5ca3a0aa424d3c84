/* Placeholder until the networking module lands: no annotation is understood yet. */
#include <errno.h>
#include <string.h>

#include "lib/err.h"
#include "netns/net.h"

int net_request_from_spec(const char *root, const struct spec *s, struct net_request **out)
{
    *out = NULL;
    for (size_t i = 0; i < s->n_annotations; i++)
        if (strncmp(s->annotations[i].key, "org.berth.net.", 14) == 0)
            return err_setx(ENOTSUP, "annotation %s: networking is not built into this berth",
                            s->annotations[i].key);
    return 0;
}

void net_request_free(struct net_request *req)
{
}

int net_attach(const char *root, const char *id, pid_t netns_pid, const struct net_request *req,
               char **record)
{
    return -ENOTSUP;
}

int net_detach(const char *root, const char *id, const char *record)
{
    return 0;
}
