/* Shared between the config parser's files (spec.c, spec_resources.c); not for other modules. */
#pragma once

#include "lib/json.h"

/* An optional cpu or node list member ("0-3,7"); "" counts as absent. */
int spec_opt_cpu_list(const struct jctx *c, const struct json *o, const struct jpath *p,
                      const char *key, char **out);
