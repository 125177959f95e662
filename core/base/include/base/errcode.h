/* errcode: the blocks of error codes. Every Chorus module returns 0 or a
 * negative code from a block of ERRCODE_BLOCK codes of its own, starting
 * at its first code (CATALOG_ESQL = -2100 ... -2199). core/errors.h lists
 * the blocks, and chorus_strerror names every code. Header only; any
 * thread. */
#ifndef CHORUS_BASE_ERRCODE_H
#define CHORUS_BASE_ERRCODE_H

#include <stdbool.h>

#define ERRCODE_BLOCK 100

/* True when err lies in the block that starts at first (a module's first
 * code): first >= err > first - ERRCODE_BLOCK. */
static inline bool errcode_in_block(int err, int first)
{
    return err <= first && err > first - ERRCODE_BLOCK;
}

#endif
