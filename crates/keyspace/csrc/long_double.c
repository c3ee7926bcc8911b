/* INCRBYFLOAT arithmetic in the platform's `long double`, with the C
 * library's own parser and printer, so results are digit-for-digit what a
 * Redis server built for the same platform answers. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RK_MAX_CHARS (5 * 1024)

/* Strict parse: whole input, no leading space, no NaN, no overflow. */
static int rk_parse(const char *s, size_t len, long double *out) {
    char buf[RK_MAX_CHARS];
    char *end;
    long double v;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtold(buf, &end);
    /* Embedded NULs, trailing bytes, overflow to infinity or underflow to
     * zero, and NaN all make the input "not a valid float". */
    if (isspace((unsigned char)buf[0]) || end[0] != '\0' || (size_t)(end - buf) != len)
        return 0;
    if (errno == EINVAL || isnan(v)) return 0;
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
        return 0;
    *out = v;
    return 1;
}

/* Returns the length written to `out`, or -1 (current value is not a
 * float), -2 (increment is not a float), -3 (result is NaN or infinite),
 * -4 (no room). */
long rk_incrbyfloat(const char *cur, size_t cur_len, int has_cur,
                    const char *incr, size_t incr_len,
                    char *out, size_t out_cap) {
    long double a = 0, b = 0, v;
    int n;
    char *p;
    if (has_cur && !rk_parse(cur, cur_len, &a)) return -1;
    if (!rk_parse(incr, incr_len, &b)) return -2;
    v = a + b;
    if (isnan(v) || isinf(v)) return -3;
    n = snprintf(out, out_cap, "%.17Lf", v);
    if (n < 0 || (size_t)n + 1 > out_cap) return -4;
    if (strchr(out, '.') != NULL) {
        p = out + n - 1;
        while (*p == '0') { p--; n--; }
        if (*p == '.') n--;
    }
    if (n == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; n = 1; }
    return n;
}
