/* The user keyrevoked.service runs as: the tools judge files as the service will find them. */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include "base/macro.h"
#include "io/svcuser.h"

/* More groups than this for one user is taken for a broken user database. */
#define SERVICE_USER_GROUPS_MAX 4096

uid_t service_user_uid(void) {
        const struct passwd *pw;

        if (geteuid() != 0)
                return getuid();
        pw = getpwnam(SERVICE_USER);
        return pw ? pw->pw_uid : getuid();
}

/* The groups of the user pw names (its own and its supplementary ones), as systemd's User= sets
 * them. */
static int user_groups(const struct passwd *pw, gid_t **ret, int *ret_n) {
        int n = 0;
        gid_t *groups;

        (void) getgrouplist(pw->pw_name, pw->pw_gid, NULL, &n);
        if (n <= 0 || n > SERVICE_USER_GROUPS_MAX)
                return -E2BIG;
        groups = calloc((size_t) n, sizeof(gid_t));
        if (!groups)
                return -ENOMEM;
        if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0) {
                free(groups);
                return -E2BIG;
        }
        *ret = groups;
        *ret_n = n;
        return 0;
}

/* Opens path with the filesystem uid, gid and groups of pw (what permission checks use), then
 * takes root's back: no other process, and no other identity of this one, changes. */
static int open_as(const struct passwd *pw, const char *path) {
        _cleanup_free_ gid_t *groups = NULL, *saved = NULL;
        int n = 0, n_saved = getgroups(0, NULL), fd, r;

        if (n_saved < 0)
                return negative_errno();
        r = user_groups(pw, &groups, &n);
        if (r < 0)
                return r;
        saved = calloc((size_t) n_saved + 1, sizeof(gid_t));
        if (!saved)
                return -ENOMEM;
        if (getgroups(n_saved, saved) < 0 || setgroups((size_t) n, groups) < 0)
                return negative_errno();
        (void) setfsgid(pw->pw_gid);
        (void) setfsuid(pw->pw_uid);
        if ((uid_t) setfsuid((uid_t) -1) != pw->pw_uid)
                r = -EPERM;
        else {
                /* O_NONBLOCK: a FIFO put in place of the file must not hang the check. */
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                r = fd < 0 ? negative_errno() : 0;
                if (fd >= 0)
                        close(fd);
        }
        (void) setfsuid(geteuid());
        (void) setfsgid(getegid());
        if (setgroups((size_t) n_saved, saved) < 0)
                abort(); /* root must get its groups back; going on with the user's would be wrong */
        return r;
}

int service_user_can_open(uid_t uid, const char *path) {
        const struct passwd *pw;

        if (uid == geteuid() || geteuid() != 0)
                return 0;
        pw = getpwuid(uid);
        if (!pw)
                return -ESRCH;
        return open_as(pw, path);
}
