/* io/svcuser and its users: files judged as the service's user would find them. Run as root, a
 * child with that user's ids opens them; the user here is nobody (uid 65534). */
#include <fcntl.h>
#include <sys/stat.h>

#include "io/creds.h"
#include "io/lists.h"
#include "io/svcuser.h"
#include "tests.h"

#define OTHER_UID 65534

static char tmpdir[] = "/tmp/test-svcuser.XXXXXX";

static char *make_file(const char *name, const char *text, mode_t mode, uid_t owner) {
        char *path = NULL;
        int fd;

        CHECK(asprintf(&path, "%s/%s", tmpdir, name) > 0);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        CHECK(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        CHECK(fchown(fd, owner, (gid_t) -1) == 0);
        CHECK(fchmod(fd, mode) == 0);
        close(fd);
        return path;
}

/* The decision itself: who may open what. */
static void test_can_open(void) {
        _cleanup_free_ char *root_0600 = make_file("root-0600", "x", 0600, 0);
        _cleanup_free_ char *root_0644 = make_file("root-0644", "x", 0644, 0);
        _cleanup_free_ char *other_0600 = make_file("other-0600", "x", 0600, OTHER_UID);
        _cleanup_free_ char *hidden = NULL, *hidden_dir = NULL, *missing = NULL;

        CHECK(asprintf(&hidden_dir, "%s/private", tmpdir) > 0);
        CHECK(mkdir(hidden_dir, 0700) == 0);
        hidden = make_file("private/root-0644", "x", 0644, 0);
        CHECK(asprintf(&missing, "%s/missing", tmpdir) > 0);

        CHECK_INTEQ(service_user_can_open(OTHER_UID, root_0600), -EACCES);
        CHECK_INTEQ(service_user_can_open(OTHER_UID, root_0644), 0);
        CHECK_INTEQ(service_user_can_open(OTHER_UID, other_0600), 0);
        CHECK_INTEQ(service_user_can_open(OTHER_UID, hidden), -EACCES);  /* the directory on the way */
        CHECK_INTEQ(service_user_can_open(OTHER_UID, hidden_dir), -EACCES);
        CHECK_INTEQ(service_user_can_open(OTHER_UID, tmpdir), 0);
        CHECK_INTEQ(service_user_can_open(OTHER_UID, missing), -ENOENT);
        /* For the caller itself nothing is tried: its own open tells. */
        CHECK_INTEQ(service_user_can_open(geteuid(), missing), 0);

        (void) unlink(root_0600);
        (void) unlink(root_0644);
        (void) unlink(other_0600);
        (void) unlink(hidden);
        (void) rmdir(hidden_dir);
}

/* CredentialsFile=: a root-owned 0600 file passes for root itself but not for the service's user;
 * one owned by that user passes for it. */
static void test_credentials_file(void) {
        static const char text[] = "[default]\ntype = access_key\naccess_key_id = LTAI5tFILEid\n"
                                   "access_key_secret = S3CR3Tfile\n";
        _cleanup_free_ char *root_file = make_file("cred-root", text, 0600, 0);
        _cleanup_free_ char *user_file = make_file("cred-user", text, 0600, OTHER_UID);
        struct {
                const char *path;
                uid_t judged_for;
                int ret;
                const char *diag;
        } cases[] = {
                { root_file, 0, 0, NULL },
                { root_file, OTHER_UID, -EACCES, "the service's user keyrevoke (uid 65534) cannot open it" },
                { user_file, OTHER_UID, 0, NULL },
                { user_file, 0, -EACCES, "owned by uid 65534, not by root or uid 0" },
        };

        CHECK(setenv("CREDENTIALS_DIRECTORY", tmpdir, 1) == 0); /* no "aliyun" in it */
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(creds_freep) struct creds *c = NULL;
                const char *source = NULL;
                struct diags d = {};
                int r = creds_load(cases[i].path, "default", cases[i].judged_for, &c, &source, &d);

                CHECK_INTEQ(r, cases[i].ret);
                CHECK(r < 0 ? !c : c && streq_ptr(source, "CredentialsFile="));
                if (cases[i].diag)
                        CHECK(d.n == 1 && strstr(d.items[0].message, cases[i].diag));
                else
                        CHECK_INTEQ(d.n, 0);
                diags_clear(&d);
        }
        (void) unlink(root_file);
        (void) unlink(user_file);
}

/* Lists: the same for each file and for the directory. */
static void test_lists(void) {
        _cleanup_free_ char *dir = NULL, *readable = NULL, *unreadable = NULL;
        struct lists l = {};
        struct diags d = {};

        CHECK(asprintf(&dir, "%s/revoked.d", tmpdir) > 0);
        CHECK(mkdir(dir, 0755) == 0);
        readable = make_file("revoked.d/a.list", "kp-a\n", 0644, 0);
        unreadable = make_file("revoked.d/b.list", "kp-b\n", 0600, 0);

        CHECK_INTEQ(lists_load(dir, 0, false, &l, &d), 0);
        CHECK_INTEQ(l.n, 2);
        CHECK_INTEQ(d.n, 0);
        lists_done(&l);

        CHECK_INTEQ(lists_load(dir, OTHER_UID, false, &l, &d), 0);
        CHECK_INTEQ(l.n, 1);
        CHECK(d.n == 1 && streq(d.items[0].file, unreadable) &&
              strstr(d.items[0].message, "the service's user keyrevoke (uid 65534) cannot open it"));
        lists_done(&l);
        diags_clear(&d);

        CHECK(chmod(dir, 0700) == 0);
        CHECK_INTEQ(lists_load(dir, OTHER_UID, false, &l, &d), 0);
        CHECK_INTEQ(l.n, 0);
        CHECK(d.n == 1 && strstr(d.items[0].message, "as the service's user keyrevoke: Permission denied"));
        lists_done(&l);
        diags_clear(&d);

        (void) unlink(readable);
        (void) unlink(unreadable);
        (void) rmdir(dir);
}

int main(void) {
        if (geteuid() != 0) {
                /* Without root no other user can be taken on: nothing is judged for it. */
                CHECK_INTEQ(service_user_can_open(OTHER_UID, "/nonexistent"), 0);
                CHECK_INTEQ(service_user_uid(), getuid());
                TESTS_DONE();
        }
        CHECK(mkdtemp(tmpdir));
        CHECK(chmod(tmpdir, 0755) == 0);
        test_can_open();
        test_credentials_file();
        test_lists();
        CHECK(rmdir(tmpdir) == 0);
        TESTS_DONE();
}
