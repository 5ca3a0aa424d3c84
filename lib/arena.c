#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "util.h"

#define ARENA_CHUNK 8192

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    max_align_t data[];
};

/* size bytes, not zeroed */
static void *arena_reserve(struct arena *a, size_t size)
{
    size = (size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
    struct arena_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t want = size > ARENA_CHUNK / 2 ? size : ARENA_CHUNK;
        if (want > SIZE_MAX - sizeof(*c))
            die_oom();
        c = xmalloc(sizeof(*c) + want);
        c->size = want;
        c->used = 0;
        if (size > ARENA_CHUNK / 2 && a->head) {
            /* keep the current chunk as head so small allocations continue in it */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

void *arena_alloc(struct arena *a, size_t size)
{
    void *p = arena_reserve(a, size);
    return memset(p, 0, size);
}

void *arena_alloc_array(struct arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        die_oom();
    return arena_alloc(a, n * size);
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_reserve(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

void arena_free(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}
