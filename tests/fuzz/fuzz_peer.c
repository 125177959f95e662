/* fuzz_peer: libFuzzer target for the frame parser set up as a peer link
 * sets it (peerlink.c): bodies capped at wire_peer_max_body(), frames of
 * unknown types skipped (a newer peer's). The input is split into pieces
 * at points chosen by its first byte; every message decoded must
 * round-trip through wire_encode (fuzz_parser.h). Built only with
 * -DCHORUS_FUZZ=ON (clang). */
#include "fuzz_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (size_t)data[0] % 64 + 1;
    fuzz_parse(data + 1, size - 1, step, wire_peer_max_body(), true);
    return 0;
}
