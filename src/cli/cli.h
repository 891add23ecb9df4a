/* Private to src/cli: subcommands and shared helpers. Only src/cli prints. */
#ifndef SDG_CLI_H
#define SDG_CLI_H
#include "sdegen/sdegen.h"

int    cli_demo(int argc, char **argv);
/* Parses a whole decimal integer in [lo, hi]; prints a one-line error naming the option. */
int    cli_parse_long(const char *s, const char *opt, long lo, long hi, long *out);
double cli_now(void);   /* monotonic seconds */
#endif
