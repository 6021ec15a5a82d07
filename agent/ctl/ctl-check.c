/* keyrevokectl check: validates revocation list files exactly as keyrevoked reads them. */
#include "base/log.h"
#include "ctl/ctl.h"
#include "io/lists.h"
#include "io/svcuser.h"

static json_t *problems_json(const struct diags *d, size_t from) {
        json_t *a = json_array();

        for (size_t i = from; a && i < d->n; i++)
                if (json_array_append_new(a, json_pack("{s:I, s:s}", "line", (json_int_t) d->items[i].line, "message",
                                                       d->items[i].message)) < 0)
                        a = (json_decref(a), NULL);
        return a;
}

/* Loads one file with the daemon's checks; its problems go to d. Adds its JSON object to files
 * when files is set. -ENOMEM only. */
static int check_file(const char *path, struct diags *d, json_t *files) {
        _cleanup_(revlist_freep) struct revlist *l = NULL;
        size_t first = d->n;
        int r = lists_load_file(path, service_user_uid(), &l, d);

        if (r == -ENOMEM)
                return r;
        if (files && json_array_append_new(files, json_pack("{s:s, s:o, s:o}", "path", path, "entries",
                                                            l ? json_integer((json_int_t) l->n_entries) : json_null(),
                                                            "problems", problems_json(d, first))) < 0)
                return -ENOMEM;
        return 0;
}

int ctl_check(const struct ctl *c, char **args) {
        json_t *files = c->json ? json_array() : NULL;
        struct diags d = {};
        int r = c->json && !files ? -ENOMEM : 0;

        for (char **path = args; r >= 0 && *path; path++)
                r = check_file(*path, &d, files);
        if (r < 0) {
                json_decref(files);
                diags_clear(&d);
                return log_error_errno(r, "Out of memory"), CTL_EXIT_FAILURE;
        }
        r = d.n > 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
        if (c->json) {
                if (ctl_print_json(json_pack("{s:b, s:o}", "ok", d.n == 0, "files", files)) != CTL_EXIT_OK)
                        r = CTL_EXIT_FAILURE;
        } else
                diags_print(&d, stdout);
        diags_clear(&d);
        return r;
}
