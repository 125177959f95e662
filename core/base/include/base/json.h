/* json: the one helper through which Chorus makes JSON (DESIGN §9): the
 * remote status and replies, `peers --json`, `chorusd catalog --json`,
 * benchmark reports. Documents are built with jansson; this adds what
 * every producer needs on top of it: text from outside (tags, peers'
 * strings, the command line) as a JSON string that is always valid, one
 * way to print a document, and out of memory as an abort.
 *
 * Every json_t * returned is a new reference owned by the caller
 * (json_decref). Nothing here logs. Any thread. */
#ifndef CHORUS_BASE_JSON_H
#define CHORUS_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* j, or an abort when it is NULL because jansson could not allocate it:
 * out of memory is not recoverable (base/xmalloc.h), for what jansson
 * allocates too. For the results of json_object(), json_pack(), ... */
json_t *json_must(json_t *j);

/* A JSON string of len bytes of s that is always valid: every byte that
 * is not part of a valid UTF-8 sequence (overlong forms, surrogates and
 * code points past U+10FFFF included) becomes U+FFFD; NUL and control
 * characters are kept (jansson escapes them). NULL s gives a JSON null. */
json_t *json_text(const char *s, size_t len);

/* json_text of the NUL-terminated s (NULL: a JSON null). */
json_t *json_text0(const char *s);

/* Writes j (any JSON value, borrowed) to out and a newline, then flushes
 * out: compact on one line, or with pretty indented by 2 spaces. Members
 * keep the order they were added in; real numbers are printed as jansson
 * prints them. Returns 0 or -errno (-EPIPE, -ENOSPC, ...; -EINVAL when j
 * cannot be encoded, e.g. a NULL j); after an error, part of the text may
 * have been written. */
int json_write_line(FILE *out, const json_t *j, bool pretty);

#endif
