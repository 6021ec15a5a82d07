/* logic/sandbox: the directories keyrevoked.service's sandbox hides, and the setting that does. */
#include "base/macro.h"
#include "logic/sandbox.h"
#include "tests.h"

int main(void) {
        static const struct {
                const char *path;
                const char *setting;
                const char *top;
        } cases[] = {
                { "/root/ca.pem", "ProtectHome=yes", "/root" },
                { "/root", "ProtectHome=yes", "/root" },
                { "/home/ops/keyrevoke/revoked.d", "ProtectHome=yes", "/home" },
                { "/run/user/0/creds", "ProtectHome=yes", "/run/user" },
                { "/tmp/ca.pem", "PrivateTmp=yes", "/tmp" },
                { "/var/tmp/x", "PrivateTmp=yes", "/var/tmp" },
                { "/etc/keyrevoke/ca.pem", NULL, NULL },
                { "/rooted/ca.pem", NULL, NULL },
                { "/homes/x", NULL, NULL },
                { "/var/lib/keyrevoke/metrics.prom", NULL, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *top = NULL, *setting = sandbox_hidden_by(cases[i].path, &top);

                if (!cases[i].setting) {
                        CHECK(!setting);
                        continue;
                }
                CHECK_STREQ(setting, cases[i].setting);
                CHECK_STREQ(top, cases[i].top);
        }
        TESTS_DONE();
}
