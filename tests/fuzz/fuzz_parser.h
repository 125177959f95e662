/* fuzz_parser.h: the body shared by the parser fuzz targets (fuzz_wire,
 * fuzz_peer): the input is split into pieces of `step` bytes and fed to
 * one parser set up as the receiver is; every message it yields must
 * re-encode and decode to the same frame and respect the cap, and the
 * parser must never read outside what it was given (ASan watches).
 * Header-only on purpose: each target is one translation unit. */
#ifndef CHORUS_FUZZ_PARSER_H
#define CHORUS_FUZZ_PARSER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/wire.h"

/* A decoded message re-encodes into a frame that decodes to the same
 * encoding: the codec is a bijection on what it accepts. */
static void fuzz_check_round_trip(const struct wire_msg *m, size_t cap)
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

/* Feeds data in pieces of step bytes to a parser with receiver cap cap
 * (0: none) and skip-unknown as given. */
static void fuzz_parse(const uint8_t *data, size_t size, size_t step, size_t cap, bool skip)
{
    struct wire_parser *p = wire_parser_new();
    wire_parser_set_max_body(p, cap);
    wire_parser_set_skip_unknown(p, skip);
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
            if (used > piece - off || (rc == WIRE_SKIPPED && !skip))
                abort();
            off += used;
            if (rc == WIRE_MSG) {
                fuzz_check_round_trip(&m, cap);
                wire_msg_clear(&m);
            }
        }
        free(copy);
        if (rc < 0)
            break;
        pos += piece;
    }
    wire_parser_free(p);
}

#endif
