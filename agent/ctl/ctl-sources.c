/* keyrevokectl status: the launch templates and scaling configurations found naming a revoked key
 * pair or carrying a revoked key in their UserData (CheckLaunchSources=), as the daemon recorded
 * them in StateDirectory. */
#include "base/log.h"
#include "base/strutil.h"
#include "base/table.h"
#include "ctl/ctl.h"
#include "io/referenced.h"

static int entry_compare(const void *a, const void *b) {
        const struct referenced_entry *x = *(struct referenced_entry *const *) a;
        const struct referenced_entry *y = *(struct referenced_entry *const *) b;

        return strcmp(x->key, y->key);
}


int ctl_sources_load(const struct conf *conf, struct referenced **ret) {
        int r = referenced_load(conf->state_directory, ret);

        if (r < 0)
                return log_error_errno(r, "Cannot read the launch sources found in %s: %m", conf->state_directory);
        return 0;
}

int ctl_sources_print_text(const struct conf *conf, const struct referenced *r, bool color) {
        _cleanup_(table_freep) struct table *t = NULL;
        size_t n = 0;
        /* By region, source and key pair (the entries borrowed). */
        _cleanup_free_ struct referenced_entry **a =
                (struct referenced_entry **) hashmap_sorted_values(r->by_key, entry_compare, &n);
        int k = table_new((const char *[]){ "REGION", "SOURCE", "KEY PAIR", "DEFAULT", "FOUND", NULL }, &t);

        for (size_t i = 0; k >= 0 && i < n; i++) {
                char found[CTL_TIME_MAX];

                if (table_add(t, a[i]->region, TABLE_PLAIN) < 0 || table_add(t, a[i]->source, TABLE_RED) < 0 ||
                    table_add(t, a[i]->keypair, TABLE_PLAIN) < 0 ||
                    table_add(t, a[i]->is_default ? "yes" : "no", a[i]->is_default ? TABLE_RED : TABLE_PLAIN) < 0 ||
                    table_add(t, ctl_format_time(a[i]->found_usec, false, found), TABLE_PLAIN) < 0)
                        k = -ENOMEM;
        }
        if (k < 0)
                return k;
        if (!conf->check_launch_sources)
                printf("Launch sources are not checked (CheckLaunchSources=no).\n");
        else if (table_rows(t) == 0)
                printf("No launch template or scaling configuration names a revoked key pair or carries a revoked "
                       "key.\n");
        else {
                printf("Launch sources naming a revoked key pair (KEY PAIR) or carrying a revoked key in their "
                       "UserData (user-data:FINGERPRINT): new instances come up with it\n");
                table_print(t, stdout, color);
        }
        putchar('\n');
        return 0;
}

json_t *ctl_sources_json(const struct conf *conf, const struct referenced *r) {
        size_t n = 0;
        /* By region, source and key pair (the entries borrowed). */
        _cleanup_free_ struct referenced_entry **a =
                (struct referenced_entry **) hashmap_sorted_values(r->by_key, entry_compare, &n);
        json_t *l = json_array();

        for (size_t i = 0; l && i < n; i++) {
                char found[CTL_TIME_MAX];
                json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s}", "region", a[i]->region, "source", a[i]->source,
                                      "keypair", a[i]->keypair, "default", a[i]->is_default, "found",
                                      ctl_format_time(a[i]->found_usec, true, found));
                if (json_array_append_new(l, o) < 0)
                        l = (json_decref(l), NULL);
        }
        return json_pack("{s:b, s:o}", "checked", conf->check_launch_sources, "sources", l);
}
