/* fuzz_wire: libFuzzer target for the frame parser.
 *
 * The input is split into pieces at points chosen by its first byte, fed
 * to one parser (with the service's receiver cap when bit 6 of that byte
 * is set); every message it yields must re-encode and decode to the same
 * frame and respect the cap, and the parser must never read outside what
 * it was given (ASan watches). Built only with -DCHORUS_FUZZ=ON (clang). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A decoded message re-encodes into a frame that decodes to the same
 * encoding: the codec is a bijection on what it accepts. */
static void check_round_trip(const struct wire_msg *m, size_t cap)
{
    uint8_t *a, *b;
    size_t alen, blen;
    if (wire_encode(m, &a, &alen) != 0 || (cap && alen - WIRE_HEADER_LEN > cap))
        abort();
    struct wire_msg again;
    if (wire_decode(a[4], a + WIRE_HEADER_LEN, alen - WIRE_HEADER_LEN, &again) != 0)
        abort();
    if (wire_encode(&again, &b, &blen) != 0 || alen != blen || memcmp(a, b, alen) != 0)
        abort();
    wire_msg_clear(&again);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (size_t)data[0] % 64 + 1;
    size_t cap = data[0] & 0x40 ? wire_max_body(WIRE_ANNOUNCE) : 0;
    data++;
    size--;
    struct wire_parser *p = wire_parser_new();
    wire_parser_set_max_body(p, cap);
    size_t pos = 0;
    while (pos < size) {
        size_t piece = size - pos < step ? size - pos : step;
        /* copy so ASan catches any read past the piece */
        uint8_t *copy = malloc(piece);
        memcpy(copy, data + pos, piece);
        size_t off = 0;
        int rc = 0;
        while (off < piece) {
            size_t used;
            struct wire_msg m;
            rc = wire_parser_feed(p, copy + off, piece - off, &used, &m);
            if (rc < 0)
                break;
            if (used > piece - off)
                abort();
            off += used;
            if (rc == WIRE_MSG) {
                check_round_trip(&m, cap);
                wire_msg_clear(&m);
            }
        }
        free(copy);
        if (rc < 0)
            break;
        pos += piece;
    }
    wire_parser_free(p);
    return 0;
}
