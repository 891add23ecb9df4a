/* A minimal JSON reader: enough to look up numbers and strings by key path in GDSS's
 * constructor arguments and training config (objects, arrays, strings, numbers, literals).
 * No allocation; the text is walked once per look-up. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "graph/internal.h"

#define GJ_MAX_DEPTH 64

static const char *ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* p at '"'; returns the character after the closing quote, or NULL. */
static const char *skip_string(const char *p) {
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && !*++p) return NULL;
    return *p ? p + 1 : NULL;
}

static const char *skip_value(const char *p, int depth) {
    p = ws(p);
    if (depth > GJ_MAX_DEPTH) return NULL;
    if (*p == '"') return skip_string(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = ws(p + 1);
        if (*p == close) return p + 1;
        for (;;) {
            if (close == '}') {
                if (*p != '"' || !(p = skip_string(p))) return NULL;
                p = ws(p);
                if (*p++ != ':') return NULL;
            }
            if (!(p = skip_value(p, depth + 1))) return NULL;
            p = ws(p);
            if (*p == ',') {
                p = ws(p + 1);
                continue;
            }
            return *p == close ? p + 1 : NULL;
        }
    }
    const char *q = p;
    while (*q && (isalnum((unsigned char)*q) || *q == '-' || *q == '+' || *q == '.')) q++;
    return q > p ? q : NULL;
}

bool gj_valid(const char *json) {
    const char *p = json ? skip_value(json, 0) : NULL;
    return p && *ws(p) == '\0';
}

int gj_find(const char *json, const char *path, const char **val) {
    const char *p = ws(json);
    for (int depth = 0; depth < GJ_MAX_DEPTH; depth++) {
        if (*p != '{') return -1;
        size_t klen = strcspn(path, ".");
        p = ws(p + 1);
        if (*p == '}') return 0;
        for (;;) {
            if (*p != '"') return -1;
            const char *ks = p + 1, *ke = skip_string(p);
            if (!ke) return -1;
            p = ws(ke);
            if (*p != ':') return -1;
            p = ws(p + 1);
            if ((size_t)(ke - 1 - ks) == klen && memcmp(ks, path, klen) == 0) break;
            if (!(p = skip_value(p, 0))) return -1;
            p = ws(p);
            if (*p == ',') {
                p = ws(p + 1);
                continue;
            }
            return *p == '}' ? 0 : -1;
        }
        if (!path[klen]) {
            *val = p;
            return 1;
        }
        path += klen + 1;   /* descend into the matched value */
    }
    return -1;
}

int gj_number(const char *json, const char *path, double *v) {
    const char *p = NULL;
    int r = gj_find(json, path, &p);
    if (r != 1) return r;
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        *v = *p == 't';
        return 1;
    }
    char *end = NULL;
    double d = strtod(p, &end);
    if (end == p) return -1;
    *v = d;
    return 1;
}

int gj_string(const char *json, const char *path, char *buf, size_t cap) {
    const char *p = NULL;
    int r = gj_find(json, path, &p);
    if (r != 1) return r;
    if (*p != '"') return -1;
    const char *e = skip_string(p);
    if (!e) return -1;
    size_t n = (size_t)(e - p - 2);
    if (n + 1 > cap || memchr(p + 1, '\\', n)) return -1;
    memcpy(buf, p + 1, n);
    buf[n] = '\0';
    return 1;
}
