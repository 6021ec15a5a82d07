/* What the parts of one enforcement pass share: its options, its counts, the calls in flight. */
#include <assert.h>

#include "base/log.h"
#include "daemon/pass.h"

int pass_call(struct pass *p, const char *region, const char *action, struct params *params, ecs_done_cb cb,
              void *userdata) {
        return pass_call_service(p, ECS_SERVICE_ECS, region, action, params, cb, userdata);
}

int pass_look(struct pass *p, const char *region, char *const *ids, size_t n, ecs_done_cb cb, void *userdata) {
        struct params params = {};

        assert(n <= PASS_LOOK_MAX);
        if (n == 0)
                return -EINVAL;
        if (params_add(&params, "RegionId", region) < 0 || params_add_id_array(&params, "InstanceIds", ids, n) < 0 ||
            params_addf(&params, "MaxResults", "%u", PASS_LOOK_MAX) < 0) {
                params_done(&params);
                return log_error_errno(-ENOMEM, "Failed to look at %zu instance(s) in %s: %m", n, region);
        }
        return pass_call(p, region, "DescribeInstances", &params, cb, userdata);
}

int pass_call_service(struct pass *p, enum ecs_service s, const char *region, const char *action,
                      struct params *params, ecs_done_cb cb, void *userdata) {
        int r = ecs_call_service(p->ecs, s, region, action, params, cb, userdata);

        if (r < 0)
                return log_error_errno(r, "Failed to queue %s in %s: %m", action, region);
        p->holds++;
        return 0;
}

void pass_hold(struct pass *p) {
        p->holds++;
}

void pass_release(struct pass *p) {
        assert(p->holds > 0);
        if (--p->holds == 0)
                p->finish(p);
}

bool pass_windows_report_due(struct pass *p, const char *region, const char *instance, const char *keypair) {
        if (!p->warned || p->dry_run)
                return true;
        /* A failure to remember it only repeats the warning. */
        return warned_see(p->warned, region, instance, keypair, pass_now(p)) != 0;
}

uint64_t pass_now(const struct pass *p) {
        uint64_t now = 0;

        (void) sd_event_now(p->event, CLOCK_REALTIME, &now);
        return now;
}

const char *pass_error_name(const struct ecs_result *r) {
        if (r->code)
                return r->code;
        if (r->error < 0 && strerrorname_np(-r->error))
                return strerrorname_np(-r->error);
        return "unparsable-answer";
}
