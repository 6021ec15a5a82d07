/* libFuzzer target: userdata_decode() and userdata_carries_key() on arbitrary bytes: the first
 * line is the revoked key, the rest the Base64 UserData a launch source would carry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logic/userdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *input, *newline, *text = NULL;
        enum userdata_form form;
        size_t len = 0;

        if (size > 4 * USERDATA_MAX_BYTES)
                return 0;
        input = strndup((const char *) data, size);
        if (!input)
                return 0;
        newline = strchr(input, '\n');
        if (newline) {
                *newline = '\0';
                if (userdata_decode(newline + 1, &form, &text, &len) < 0)
                        abort(); /* only -ENOMEM is allowed, and inputs this small never cause it */
                if ((form == USERDATA_TEXT) != (text != NULL) || len > USERDATA_MAX_BYTES)
                        abort();
                /* A key found is in the text: its blob is there, whole. */
                if (text && userdata_carries_key(text, len, input) &&
                    !memmem(text, len, strchr(input, ' ') + 1, strlen(strchr(input, ' ') + 1)))
                        abort();
        }
        free(text);
        free(input);
        return 0;
}
