/* The planner: what to detach, skip, queue and reboot, and why (pure decisions on plain data). */
#include "logic/planner.h"

int planner_entries_for_region(struct revlist *const *lists, size_t n_lists, const char *region,
                               struct planner_entry **ret, size_t *ret_n) {
        _cleanup_free_ struct planner_entry *a = NULL;
        size_t n = 0, total = 0;

        for (size_t i = 0; i < n_lists; i++)
                total += lists[i]->n_entries;
        a = calloc(total ? total : 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n_lists; i++)
                for (size_t k = 0; k < lists[i]->n_entries; k++)
                        if (revlist_entry_in_region(&lists[i]->entries[k], region))
                                a[n++] = (struct planner_entry) { lists[i], &lists[i]->entries[k] };
        *ret = TAKE_PTR(a);
        *ret_n = n;
        return 0;
}

bool planner_needs_public_keys(const struct planner_entry *entries, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (entries[i].entry->kind != REVLIST_NAME)
                        return true;
        return false;
}

/* The first entry revoking this key pair, or -1. */
static ssize_t match_one(const struct planner_entry *entries, size_t n_entries, const struct ecs_keypair *kp,
                         bool *name_found) {
        struct sshkey_digests digests;
        bool have_digests = false;
        ssize_t first = -1;

        if (kp->public_key) {
                const char *error;
                have_digests = sshkey_parse_public(kp->public_key, &digests, &error) >= 0;
        }
        for (size_t i = 0; i < n_entries; i++) {
                const struct revlist_entry *e = entries[i].entry;
                bool hit;

                if (e->kind == REVLIST_NAME)
                        hit = streq(e->name, kp->name);
                else
                        hit = have_digests && revlist_entry_matches_key(e, &digests);
                if (!hit)
                        continue;
                if (e->kind == REVLIST_NAME)
                        name_found[i] = true;
                if (first < 0)
                        first = (ssize_t) i;
        }
        return first;
}

int planner_match_keypairs(const struct planner_entry *entries, size_t n_entries,
                           const struct ecs_keypair *keypairs, size_t n_keypairs,
                           bool *name_found, struct planner_target **ret, size_t *ret_n) {
        _cleanup_free_ struct planner_target *t = calloc(n_keypairs ? n_keypairs : 1, sizeof(*t));
        size_t n = 0;

        if (!t)
                return -ENOMEM;
        for (size_t k = 0; k < n_keypairs; k++) {
                ssize_t i = match_one(entries, n_entries, &keypairs[k], name_found);
                if (i >= 0)
                        t[n++] = (struct planner_target) { keypairs[k].name, entries[i] };
        }
        *ret = TAKE_PTR(t);
        *ret_n = n;
        return 0;
}

int planner_name_targets(const struct planner_entry *entries, size_t n_entries, struct planner_target **ret,
                         size_t *ret_n) {
        _cleanup_free_ struct planner_target *t = calloc(n_entries ? n_entries : 1, sizeof(*t));
        _cleanup_(hashmap_freep) struct hashmap *seen = NULL;
        size_t n = 0;

        if (!t || hashmap_new(&seen) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n_entries; i++) {
                const char *name = entries[i].entry->name;
                if (entries[i].entry->kind != REVLIST_NAME || hashmap_get(seen, name))
                        continue;
                if (hashmap_put(seen, name, (void *) name) < 0)
                        return -ENOMEM;
                t[n++] = (struct planner_target) { name, entries[i] };
        }
        *ret = TAKE_PTR(t);
        *ret_n = n;
        return 0;
}

enum planner_instance_action planner_instance_action(const struct ecs_instance *i) {
        /* Only OSType=windows is skipped: an instance without OSType is sent, and if it is Windows
         * after all, DependencyViolation.WindowsInstance isolates it by splitting the batch. */
        if (i->os_type && streq(i->os_type, "windows"))
                return PLANNER_SKIP_WINDOWS;
        return PLANNER_DETACH;
}

size_t planner_split_batch(size_t n) {
        return n <= 1 ? 0 : n / 2;
}

const char *planner_gate_to_string(enum planner_gate g) {
        switch (g) {
        case PLANNER_GATE_OPEN:
                return "open";
        case PLANNER_GATE_DISABLED:
                return "reboots disabled";
        case PLANNER_GATE_NO_WINDOW:
                return "no maintenance window configured";
        case PLANNER_GATE_OUTSIDE:
                return "outside the maintenance windows";
        case PLANNER_GATE_CUTOFF:
                return "too close to the end of the window";
        case PLANNER_GATE_MAX_FAILURES:
                return "too many failed reboots in this window";
        case PLANNER_GATE_FULL:
                return "MaxParallel reboots in flight";
        case _PLANNER_GATE_MAX:
                break;
        }
        return NULL;
}

enum planner_gate planner_reboot_gate(const struct planner_gate_input *in) {
        if (!in->enabled)
                return PLANNER_GATE_DISABLED;
        if (in->window < 0)
                return PLANNER_GATE_NO_WINDOW;
        if (in->window == 0)
                return PLANNER_GATE_OUTSIDE;
        if (in->window_end_usec != UINT64_MAX &&
            (in->window_end_usec < in->cutoff_usec || in->now_usec >= in->window_end_usec - in->cutoff_usec))
                return PLANNER_GATE_CUTOFF;
        if (in->failures >= in->max_failures)
                return PLANNER_GATE_MAX_FAILURES;
        if (in->in_flight >= in->max_parallel)
                return PLANNER_GATE_FULL;
        return PLANNER_GATE_OPEN;
}

static bool status_is(const struct ecs_instance *i, const char *status) {
        return i->status && streq(i->status, status);
}

enum planner_precheck planner_reboot_precheck(const struct ecs_instance *i) {
        if (!i)
                return PLANNER_PRECHECK_NOT_FOUND;
        if (status_is(i, "Running"))
                return PLANNER_PRECHECK_REBOOT;
        if (status_is(i, "Stopped"))
                return PLANNER_PRECHECK_STOPPED;
        return PLANNER_PRECHECK_WAIT;
}

enum planner_follow planner_reboot_follow(const struct planner_follow_input *in) {
        const struct ecs_instance *i = in->instance;
        bool restarted;

        if (!i)
                return PLANNER_FOLLOW_NOT_FOUND;
        if (status_is(i, "Stopped"))
                return PLANNER_FOLLOW_STOPPED;
        if (!status_is(i, "Running"))
                return in->elapsed_usec > in->health_timeout_usec ? PLANNER_FOLLOW_TIMED_OUT
                                                                    : PLANNER_FOLLOW_IN_PROGRESS;
        /* Running: a new StartTime, or having seen it down, proves the reboot happened. */
        restarted = !streq_ptr(i->start_time, in->start_time_before) || in->seen_down;
        if (restarted)
                return PLANNER_FOLLOW_COMPLETED;
        if (in->elapsed_usec < in->grace_usec)
                return PLANNER_FOLLOW_IN_PROGRESS;
        /* StartTime has minute precision: an accepted reboot that went unseen still happened. */
        return in->accepted ? PLANNER_FOLLOW_COMPLETED : PLANNER_FOLLOW_NOT_STARTED;
}
