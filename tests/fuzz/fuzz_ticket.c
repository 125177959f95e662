/* fuzz_ticket: libFuzzer target for ticket_verify, with a fixed service
 * key and peer key. The first 12 bytes of the input are the clock (u64)
 * and the skew (u32), the rest the ticket. ticket_verify must never read
 * outside the buffer (ASan watches) and, whatever it is given, never
 * accept what the fixed service key did not sign. Built only with
 * -DCHORUS_FUZZ=ON (clang). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ticket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t service_key[TLS_KEY_LEN] = {
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};
static const uint8_t peer_key[TLS_KEY_LEN] = {
    0x3d, 0x40, 0x17, 0xc3, 0xe8, 0x43, 0x89, 0x5a, 0x92, 0xb7, 0x0a, 0xa7, 0x4d, 0x1b, 0x7e, 0xbc,
    0x9c, 0x98, 0x2c, 0xcf, 0x2e, 0xc4, 0x96, 0x8c, 0xc0, 0xcd, 0x55, 0xf1, 0x2a, 0xf4, 0x66, 0x0c};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 12)
        return 0;
    uint64_t now = 0;
    uint32_t skew = 0;
    for (int i = 0; i < 8; i++)
        now = now << 8 | data[i];
    for (int i = 8; i < 12; i++)
        skew = skew << 8 | data[i];
    /* copy so ASan catches any read past the ticket */
    size_t len = size - 12;
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, data + 12, len);
    struct ticket t;
    int rc = ticket_verify(copy, len, service_key, peer_key, now, skew, &t);
    /* nobody holds the private key of service_key: nothing passes the
     * signature, so nothing is accepted */
    if (rc == 0 || (rc != TICKET_EFORMAT && rc != TICKET_ESIG))
        abort();
    free(copy);
    return 0;
}
