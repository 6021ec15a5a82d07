/* The user keyrevoked.service runs as: the tools judge files as the service will find them. */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/macro.h"
#include "io/svcuser.h"

uid_t service_user_uid(void) {
        const struct passwd *pw;

        if (geteuid() != 0)
                return getuid();
        pw = getpwnam(SERVICE_USER);
        return pw ? pw->pw_uid : getuid();
}

/* In the child: becomes the user and opens path; returns the errno to exit with, 0 when it could. */
static int open_as(const struct passwd *pw, const char *path) {
        int fd;

        if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
                return errno;
        /* O_NONBLOCK: a FIFO put in place of the file must not hang the check. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno;
        close(fd);
        return 0;
}

int service_user_can_open(uid_t uid, const char *path) {
        const struct passwd *pw;
        int status;
        pid_t pid;

        if (uid == geteuid() || geteuid() != 0)
                return 0;
        pw = getpwuid(uid);
        if (!pw)
                return -ESRCH;
        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                _exit(open_as(pw, path));
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (!WIFEXITED(status))
                return -EIO;
        return -WEXITSTATUS(status);
}
