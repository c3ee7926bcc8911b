/* The C library's strtod, for score and float arguments that must be
 * parsed exactly as a Redis server built on the same platform parses them
 * (hexadecimal floats, overflow and underflow detection, "inf" spellings). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Parses the NUL-terminated copy of `s[0..len]` with strtod. Stores in
 * `*consumed` how many bytes were used (parsing stops at an embedded NUL,
 * as it does on the NUL-terminated strings Redis hands to strtod), and in
 * `*erange` whether errno was ERANGE. Returns the value, or 0 with
 * `*consumed` set to -1 if no memory was available. */
double rk_strtod(const char *s, size_t len, long *consumed, int *erange) {
    char stackbuf[256];
    char *buf = stackbuf;
    char *end;
    double v;
    if (len >= sizeof(stackbuf)) {
        buf = malloc(len + 1);
        if (buf == NULL) {
            *consumed = -1;
            *erange = 0;
            return 0;
        }
    }
    if (len > 0) memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtod(buf, &end);
    *erange = (errno == ERANGE);
    *consumed = (long)(end - buf);
    if (buf != stackbuf) free(buf);
    return v;
}
