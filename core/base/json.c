/* json: JSON text from arbitrary bytes, and one way to print a document
 * (base/json.h).
 *
 * Owns nothing: every function works on what it is given, so it runs on
 * any thread. Text is repaired here, not rejected: jansson refuses a
 * string that is not valid UTF-8, and a tag with a stray Latin-1 byte
 * must still show (as U+FFFD), not lose its track or fail a reply.
 * Escaping (quotes, backslashes, control characters, NUL) is jansson's:
 * nothing here writes JSON syntax by hand, and nothing here must — the
 * point of this module is that no caller does either. */
#include "base/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"

json_t *json_must(json_t *j)
{
    if (!j) {
        fputs("chorus: out of memory (JSON)\n", stderr);
        abort();
    }
    return j;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0. */
static size_t utf8_valid_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

json_t *json_text(const char *s, size_t len)
{
    if (!s)
        return json_null();
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n;
    while (i < len && (n = utf8_valid_seq(p + i, len - i)) > 0)
        i += n;
    if (i == len)
        return json_must(json_stringn(s, len));

    static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
    char *buf = xmalloc(3 * len), *o = buf;
    memcpy(o, s, i);
    o += i;
    while (i < len) {
        if ((n = utf8_valid_seq(p + i, len - i)) > 0) {
            memcpy(o, p + i, n);
            o += n;
            i += n;
        } else {
            memcpy(o, replacement, 3);
            o += 3;
            i++;
        }
    }
    json_t *j = json_must(json_stringn(buf, (size_t)(o - buf)));
    free(buf);
    return j;
}

json_t *json_text0(const char *s)
{
    return json_text(s, s ? strlen(s) : 0);
}

int json_write_line(FILE *out, const json_t *j, bool pretty)
{
    /* Streamed: a whole catalog is never held twice, as a tree and as text. */
    size_t flags = JSON_ENCODE_ANY | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
    errno = 0;
    if (json_dumpf(j, out, flags) < 0)
        return errno ? -errno : -EINVAL;
    if (fputc('\n', out) == EOF || fflush(out) == EOF)
        return errno ? -errno : -EIO;
    return 0;
}
