/* What keyrevoked.service's sandbox hides from the daemon, as the shipped unit sets it up. */
#pragma once

/* The unit setting under which the service cannot see path (absolute, symlinks resolved), e.g.
 * "ProtectHome=yes" for /root/ca.pem, or NULL when it sees it. *ret_top gets the hidden
 * directory (static). */
const char *sandbox_hidden_by(const char *path, const char **ret_top);
