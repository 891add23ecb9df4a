/* Private to src/cli: subcommands and shared helpers. Only src/cli prints. */
#ifndef SDG_CLI_H
#define SDG_CLI_H
#include "sdegen/sdegen.h"

int    cli_demo(int argc, char **argv);
int    cli_train(int argc, char **argv);   /* sdegen train graph ... */
int    cli_eval(int argc, char **argv);   /* sdegen eval graphs ... */
int    cli_convert(int argc, char **argv);
int    cli_eval_crystals(int argc, char **argv);   /* sdegen eval crystals PATH ... (crystal.c) */
int    cli_cif(int argc, char **argv);             /* sdegen cif IN OUT [--symmetrize]        */
int    cli_sample(int argc, char **argv);
int    cli_import_gdss(int argc, char **argv);
/* GDSS dataset name (config data.data, e.g. "ENZYMES") -> sdegen graph dataset, or NULL. */
const char *cli_gdss_dataset(const char *gdss_name);
/* Node-flag table of m's dataset from the training split under data (README section 11).
 * Returns 0 (table in *out, training graph count in *train_graphs), -1 when the dataset has
 * no graph list, 1 after printing a one-line error prefixed "sdegen <cmd>: ". */
int    cli_gdss_flags_from_data(const char *cmd, const sdg_gdss_model *m, const char *data,
                                sdg_gdss_flags *out, size_t *train_graphs);
/* Parses a whole decimal integer in [lo, hi]; prints a one-line error naming the option. */
int    cli_parse_long(const char *s, const char *opt, long lo, long hi, long *out);
/* Parses a whole decimal number in [lo, hi] (NaN refused); prints a one-line error. */
int    cli_parse_double(const char *s, const char *opt, double lo, double hi, double *out);
double cli_now(void);   /* monotonic seconds */
/* The data directory: opt (the --data value) if given, else $SDEGEN_DATA, else NULL. */
const char *cli_data_dir(const char *opt);
/* Progress on a terminal only: cli_progress rewrites the current stderr line (printf-style);
 * cli_progress_end clears it. Both do nothing when stderr is not a TTY. */
bool   cli_progress_enabled(void);
void   cli_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void   cli_progress_end(void);
#endif
