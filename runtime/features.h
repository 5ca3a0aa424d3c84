/* `berth features`: the OCI features document, built from what this binary and
 * this kernel can really do (probed where it depends on the host). */
#pragma once

char *features_json(void);

/* The mount options berth interprets (everything else is passed to the filesystem). */
extern const char *const berth_mount_options[];
