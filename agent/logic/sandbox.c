/* What keyrevoked.service's sandbox hides from the daemon, as the shipped unit sets it up. */
#include "base/macro.h"
#include "logic/sandbox.h"

/* The directories systemd replaces with empty (or private) ones in the service's mount namespace,
 * and the settings of systemd/keyrevoked.service.in that do it. */
static const struct {
        const char *top;
        const char *setting;
} hidden[] = {
        { "/home", "ProtectHome=yes" },
        { "/root", "ProtectHome=yes" },
        { "/run/user", "ProtectHome=yes" },
        { "/tmp", "PrivateTmp=yes" },
        { "/var/tmp", "PrivateTmp=yes" },
};

/* True when path is top or below it. */
static bool path_is_under(const char *path, const char *top) {
        size_t n = strlen(top);
        return strncmp(path, top, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

const char *sandbox_hidden_by(const char *path, const char **ret_top) {
        for (size_t i = 0; i < ELEMENTSOF(hidden); i++)
                if (path_is_under(path, hidden[i].top)) {
                        *ret_top = hidden[i].top;
                        return hidden[i].setting;
                }
        return NULL;
}
