/* A bump allocator: everything parsed from one config.json lives in one arena
 * and is freed at once, so parse errors never need per-field cleanup. */
#pragma once

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;
};

void *arena_alloc(struct arena *a, size_t size); /* zeroed */
void *arena_alloc_array(struct arena *a, size_t n, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);
