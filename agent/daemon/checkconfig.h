/* keyrevoked --check-config: what the service will load, judged as the service will find it. */
#pragma once

/* Validates the config, the credentials source and every list as the service's user, Regions=,
 * and, for the default config (the unit's), what the unit's sandbox hides; prints each problem as
 * FILE:LINE: message on stdout and each warning (FILE: warning: ...) on stderr. Returns
 * AGENT_EXIT_OK, or AGENT_EXIT_CONFIG when there was a problem. */
int check_config(const char *config_path);
