/* libFuzzer target: revlist_parse() on arbitrary bytes, then the entry helpers on the result. */
#include "logic/revlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct sshkey_digests zero;
        struct revlist *l = NULL;
        struct diags d = {};

        if (size > REVLIST_FILE_MAX_BYTES)
                return 0;
        if (revlist_parse("fuzz.list", (const char *) data, size, &l, &d) < 0)
                abort(); /* only -ENOMEM is allowed, and inputs this small never cause it */
        for (size_t i = 0; i < l->n_entries; i++) {
                const struct revlist_entry *e = &l->entries[i];

                if (!revlist_kind_to_string(e->kind) || (e->kind == REVLIST_NAME) != !!e->name ||
                    e->line == 0)
                        abort();
                (void) revlist_entry_in_region(e, "cn-hangzhou");
                (void) revlist_entry_matches_key(e, &zero);
        }
        for (size_t i = 0; i < d.n; i++)
                if (d.items[i].line == 0 || !d.items[i].message)
                        abort();
        revlist_free(l);
        diags_clear(&d);
        return 0;
}
