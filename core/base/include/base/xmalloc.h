/* xmalloc: the one allocation family of Chorus.
 *
 * Out of memory is not an error Chorus recovers from: these abort with a
 * message instead of returning NULL, so callers never check. Everything
 * they return is owned by the caller and released with free(). */
#ifndef CHORUS_CORE_XMALLOC_H
#define CHORUS_CORE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
