/* keyrevokectl status: the revoked key pairs the daemon deleted (DeleteRevokedKeyPairs=), and those
 * whose deletion it started without an outcome yet, as StateDirectory/retired.json records them. */
#include "base/log.h"
#include "base/strutil.h"
#include "base/table.h"
#include "ctl/ctl.h"
#include "io/retired.h"

static int entry_compare(const void *a, const void *b) {
        const struct retired_entry *x = *(struct retired_entry *const *) a;
        const struct retired_entry *y = *(struct retired_entry *const *) b;
        int c = strcmp(x->region, y->region);

        return c != 0 ? c : strcmp(x->name, y->name);
}


/* "deleted", or "deleting": DeleteKeyPairs sent or about to be, its outcome not seen yet. */
static const char *entry_state(const struct retired_entry *e) {
        return e->deleted_usec > 0 ? "deleted" : "deleting";
}

int ctl_retired_load(const struct conf *conf, struct retired **ret) {
        int r = retired_load(conf->state_directory, ret);

        if (r < 0)
                return log_error_errno(r, "Cannot read the deleted key pairs in %s: %m", conf->state_directory);
        return 0;
}

int ctl_retired_print_text(const struct conf *conf, const struct retired *r, bool color) {
        _cleanup_(table_freep) struct table *t = NULL;
        size_t n = 0;
        /* By region, then key pair (the entries borrowed). */
        _cleanup_free_ struct retired_entry **a =
                (struct retired_entry **) hashmap_sorted_values(r->by_key, entry_compare, &n);
        int k = table_new((const char *[]){ "REGION", "KEY PAIR", "STATE", "DELETED", "REASON", NULL }, &t);

        for (size_t i = 0; k >= 0 && i < n; i++) {
                char deleted[CTL_TIME_MAX];

                if (table_add(t, a[i]->region, TABLE_PLAIN) < 0 || table_add(t, a[i]->name, TABLE_PLAIN) < 0 ||
                    table_add(t, entry_state(a[i]), a[i]->deleted_usec > 0 ? TABLE_GREEN : TABLE_YELLOW) < 0 ||
                    table_add(t, a[i]->deleted_usec > 0 ? ctl_format_time(a[i]->deleted_usec, false, deleted) : NULL,
                              TABLE_PLAIN) < 0 ||
                    table_add(t, a[i]->reason, TABLE_PLAIN) < 0)
                        k = -ENOMEM;
        }
        if (k < 0)
                return k;
        if (table_rows(t) == 0)
                printf("%s\n", conf->delete_revoked_keypairs ? "No revoked key pair has been deleted."
                                                             : "Revoked key pairs are not deleted "
                                                               "(DeleteRevokedKeyPairs=no).");
        else {
                printf("Revoked key pairs deleted (their public keys stay revoked)%s:\n",
                       conf->delete_revoked_keypairs ? "" : " (now off: DeleteRevokedKeyPairs=no)");
                table_print(t, stdout, color);
        }
        putchar('\n');
        return 0;
}

json_t *ctl_retired_json(const struct conf *conf, const struct retired *r) {
        size_t n = 0;
        /* By region, then key pair (the entries borrowed). */
        _cleanup_free_ struct retired_entry **a =
                (struct retired_entry **) hashmap_sorted_values(r->by_key, entry_compare, &n);
        json_t *l = json_array();

        for (size_t i = 0; l && i < n; i++) {
                char deleted[CTL_TIME_MAX];
                json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o}", "region", a[i]->region, "keypair", a[i]->name,
                                      "state", entry_state(a[i]), "deleted",
                                      a[i]->deleted_usec > 0
                                              ? json_string(ctl_format_time(a[i]->deleted_usec, true, deleted))
                                              : json_null(),
                                      "reason", ctl_json_string(a[i]->reason));
                if (json_array_append_new(l, o) < 0)
                        l = (json_decref(l), NULL);
        }
        return json_pack("{s:b, s:o}", "enabled", conf->delete_revoked_keypairs, "keypairs", l);
}
