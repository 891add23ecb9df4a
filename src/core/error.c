/* Thread-local error message and status texts. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "sdegen/core.h"

#define SDG_ERRMSG_CAP 1024
static _Thread_local char errmsg[SDG_ERRMSG_CAP];
static _Thread_local char errsrc[256];

const char *sdg_errmsg(void) { return errmsg; }
const char *sdg_errsrc(void) { return errsrc; }

void sdg_error_clear(void) {
    errmsg[0] = '\0';
    errsrc[0] = '\0';
}

sdg_status sdg_error_set(sdg_status code, const char *src, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    const char *s = strstr(src, "src/");   /* keep the path relative to the project */
    snprintf(errsrc, sizeof errsrc, "%s:%d", s ? s : src, line);
    return code;
}

void sdg_error_prefix(const char *fmt, ...) {
    char prefix[512], old[SDG_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errmsg, sizeof old);
    size_t k = strlen(prefix);
    if (k > sizeof errmsg - 3) k = sizeof errmsg - 3;
    memcpy(errmsg, prefix, k);
    memcpy(errmsg + k, ": ", 2);
    size_t rest = sizeof errmsg - k - 3, n = strlen(old);
    if (n > rest) n = rest;
    memcpy(errmsg + k + 2, old, n);
    errmsg[k + 2 + n] = '\0';
}

const char *sdg_strerror(sdg_status code) {
    static const char *const text[SDG_STATUS_COUNT] = {
        [SDG_OK]              = "success",
        [SDG_ERR_NOMEM]       = "out of memory",
        [SDG_ERR_INVALID]     = "invalid argument",
        [SDG_ERR_SHAPE]       = "shape mismatch",
        [SDG_ERR_IO]          = "input/output error",
        [SDG_ERR_FORMAT]      = "malformed input",
        [SDG_ERR_VERSION]     = "unsupported format version",
        [SDG_ERR_NUMERIC]     = "numerical failure",
        [SDG_ERR_DEPENDENCY]  = "a dependency failed",
        [SDG_ERR_NOTFOUND]    = "not found",
        [SDG_ERR_INTERRUPTED] = "interrupted",
    };
    if ((int)code < 0 || code >= SDG_STATUS_COUNT) return "unknown status";
    return text[code];
}
