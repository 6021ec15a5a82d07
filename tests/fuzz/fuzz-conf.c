/* libFuzzer target: conf_parse() on arbitrary text, then the windows it produced. */
#include "logic/conf.h"

/* A fixed instant (2025-06-01 00:00 UTC): the fuzzer must not depend on the clock. */
#define FUZZ_NOW_USEC (UINT64_C(1748736000) * USEC_PER_SEC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        _cleanup_free_ char *text = NULL;
        struct window_span span;
        struct diags d = {};

        /* conf_load() never passes more than 1 MiB. */
        if (size > 1024 * 1024)
                return 0;
        text = strndup((const char *) data, size);
        if (!text || conf_new(NULL, &c) < 0)
                return 0;
        (void) conf_parse(c, "fuzz.conf", text, &d);
        for (size_t i = 0; i < d.n; i++)
                free(diag_format(&d.items[i]));
        diags_clear(&d);
        (void) window_set_find(&c->windows, c->time_zone, FUZZ_NOW_USEC, &span);
        return 0;
}
