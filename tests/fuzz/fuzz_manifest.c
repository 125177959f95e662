/* fuzz_manifest: libFuzzer target for manifest_decode. A manifest comes
 * from anyone (a peer, the service) and is checked against its id only
 * after it parses: the decoder must never read outside the buffer or
 * allocate by a size it has not checked (ASan watches), and what it
 * accepts must encode back to exactly the same bytes (so the id of a
 * decoded manifest is the id of what was received) and decode again with
 * that id expected. Built only with -DCHORUS_FUZZ=ON (clang). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    struct manifest *m;
    if (manifest_decode(copy, size, NULL, &m) == 0) {
        uint8_t *enc;
        size_t len;
        manifest_encode(m, &enc, &len);
        if (len != size || memcmp(enc, copy, size) != 0 || manifest_encoded_len(m) != size)
            abort();
        struct content_id id;
        manifest_id(m, &id);
        struct manifest *again;
        if (manifest_decode(enc, len, &id, &again) != 0)
            abort();
        manifest_free(again);
        manifest_free(m);
        free(enc);
    }
    free(copy);
    return 0;
}
