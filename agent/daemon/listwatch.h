/* Watching the revocation directory so that it stays watched when it is replaced: renamed and
 * recreated, a copy renamed over it, a symlink to it switched (ln -sfn), or removed for a while. */
#pragma once

#include <systemd/sd-event.h>

#include "base/macro.h"

struct listwatch;

/* Called (from the event loop) when something in the directory, or the directory behind the
 * name, may have changed. */
typedef void (*listwatch_cb)(void *userdata);

int listwatch_new(sd_event *event, const char *path, listwatch_cb cb, void *userdata, struct listwatch **ret);
struct listwatch *listwatch_free(struct listwatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct listwatch *, listwatch_free);
