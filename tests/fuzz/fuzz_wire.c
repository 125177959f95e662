/* fuzz_wire: libFuzzer target for the frame parser.
 *
 * The input is split into pieces at points chosen by its first byte, fed
 * to one parser (with the service's receiver cap when bit 6 of that byte
 * is set); see fuzz_parser.h for what every message must satisfy. Built
 * only with -DCHORUS_FUZZ=ON (clang). */
#include "fuzz_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (size_t)data[0] % 64 + 1;
    size_t cap = data[0] & 0x40 ? wire_max_body(WIRE_ANNOUNCE) : 0;
    fuzz_parse(data + 1, size - 1, step, cap, false);
    return 0;
}
