#define BERTH_ARCHIVE_API_IMPL
#include <dlfcn.h>
#include <errno.h>

#include "images/archive_api.h"
#include "lib/err.h"

#define LIBARCHIVE_SONAME "libarchive.so.13"

struct archive_api archive_api;

int archive_api_load(void)
{
    static int loaded;
    if (loaded)
        return loaded > 0 ? 0 : -ENOENT;
    void *h = dlopen(LIBARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        loaded = -1;
        return err_setx(ENOENT, "images need %s (apt-get install libarchive13): %s",
                        LIBARCHIVE_SONAME, dlerror());
    }
#define BERTH_ARCHIVE_LOAD(f)                                                                      \
    if (!(archive_api.f = (__typeof__(f) *)dlsym(h, #f))) {                                      \
        loaded = -1;                                                                               \
        return err_setx(ENOENT, "%s has no %s: a newer libarchive is needed", LIBARCHIVE_SONAME,  \
                        #f);                                                                       \
    }
    BERTH_ARCHIVE_FUNCS(BERTH_ARCHIVE_LOAD)
#undef BERTH_ARCHIVE_LOAD
    loaded = 1;
    return 0;
}
