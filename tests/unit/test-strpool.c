/* Unit tests for strpool.c: one copy per distinct string, counted, gone with its last holder; a
 * string that is not the pool's own copy is refused loudly. */
#include <signal.h>
#include <sys/wait.h>

#include "base/strpool.h"
#include "tests.h"

static void test_shared_and_counted(void) {
        _cleanup_(strpool_freep) struct strpool *p = NULL;
        char buf[] = "cn-hangzhou";
        const char *a = NULL, *b = NULL, *c = NULL;

        CHECK_INTEQ(strpool_new(&p), 0);
        CHECK_INTEQ(strpool_set(p, &a, buf), 0);
        CHECK_INTEQ(strpool_set(p, &b, "cn-hangzhou"), 0);
        /* A copy, shared: changing the caller's buffer changes nothing. */
        buf[0] = 'X';
        CHECK(a == b && streq(a, "cn-hangzhou"));
        CHECK_INTEQ(strpool_size(p), 1);

        CHECK_INTEQ(strpool_set(p, &c, "cn-shanghai"), 0);
        CHECK_INTEQ(strpool_size(p), 2);
        /* Setting a slot to the copy it already holds keeps it. */
        CHECK_INTEQ(strpool_set(p, &a, a), 0);
        CHECK(streq(a, "cn-hangzhou") && strpool_size(p) == 2);

        strpool_clear(p, &a);
        CHECK(!a && streq(b, "cn-hangzhou") && strpool_size(p) == 2);
        /* Moving the last holder away frees the copy. */
        CHECK_INTEQ(strpool_set(p, &b, "cn-shanghai"), 0);
        CHECK(b == c && strpool_size(p) == 1);
        CHECK_INTEQ(strpool_set(p, &b, NULL), 0);
        CHECK(!b && strpool_size(p) == 1);
        strpool_clear(p, &b);
        strpool_clear(p, &c);
        CHECK_INTEQ(strpool_size(p), 0);
        /* What is still held when the pool goes is freed with it (valgrind checks). */
        CHECK_INTEQ(strpool_set(p, &a, "left behind"), 0);
}

/* Many holders of few strings: the pool stays as small as the distinct set. */
static void test_many_holders(void) {
        _cleanup_(strpool_freep) struct strpool *p = NULL;
        const char *slots[1000] = {};
        char name[16];

        CHECK_INTEQ(strpool_new(&p), 0);
        for (size_t i = 0; i < ELEMENTSOF(slots); i++) {
                snprintf(name, sizeof(name), "kp-%zu", i % 7);
                CHECK_INTEQ(strpool_set(p, &slots[i], name), 0);
        }
        CHECK_INTEQ(strpool_size(p), 7);
        for (size_t i = 0; i < ELEMENTSOF(slots); i++)
                if (i % 7 != 3)
                        strpool_clear(p, &slots[i]);
        CHECK_INTEQ(strpool_size(p), 1);
        CHECK(streq(slots[3], "kp-3"));
        for (size_t i = 3; i < ELEMENTSOF(slots); i += 7)
                strpool_clear(p, &slots[i]);
        CHECK_INTEQ(strpool_size(p), 0);
}

/* A strdup() or a literal set by hand into a slot, then let go of: the process stops at once
 * (SIGABRT) instead of corrupting the counts. Equal text does not make it the pool's copy. */
static void test_foreign_string_refused(void) {
        pid_t pid = fork();
        int status = 0;

        CHECK(pid >= 0);
        if (pid == 0) {
                struct strpool *p = NULL;
                const char *held = NULL, *foreign = strdup("completed");

                if (!freopen("/dev/null", "w", stderr) || strpool_new(&p) < 0 ||
                    strpool_set(p, &held, "completed") < 0)
                        _exit(2);
                strpool_clear(p, &foreign);
                _exit(0);
        }
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void) {
        test_foreign_string_refused();
        test_shared_and_counted();
        test_many_holders();
        TESTS_DONE();
}
