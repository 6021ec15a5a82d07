/* Start-up steps shared by keyrevoked and keyrevokectl: loading the config, making the ECS client. */
#pragma once

#include <systemd/sd-event.h>

#include "io/ecs.h"
#include "logic/conf.h"

/* Loads the configuration (and its drop-ins) with $STATE_DIRECTORY as the state default; each
 * problem is logged as FILE:LINE: message, a misspelt or unknown region in Regions= too. Returns
 * conf_load()'s result. */
int setup_load_conf(const char *path, struct conf **ret);

/* Creates the ECS client of c on event, without credentials (credsource.h delivers them).
 * Failures are logged. */
int setup_make_ecs(sd_event *event, const struct conf *c, struct ecs **ret);
