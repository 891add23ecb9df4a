/* Private to src/cli: subcommands and shared helpers. Only src/cli prints. */
#ifndef SDG_CLI_H
#define SDG_CLI_H
#include <signal.h>
#include <stdio.h>
#include "sdegen/sdegen.h"

int    cli_demo(int argc, char **argv);
int    cli_train(int argc, char **argv);   /* sdegen train graph ... */
int    cli_train_crystal(int argc, char **argv);   /* sdegen train crystal ... (train_crystal.c) */
int    cli_train_molecules3d(int argc, char **argv);   /* sdegen train molecules3d ... (train3d.c) */
/* Forward FLOPs of the crystal U-Net for one matrix (train_crystal.c). */
double cli_crystal_flops(const sdg_crystal_unet *net);
int    cli_eval(int argc, char **argv);   /* sdegen eval graphs ... */
int    cli_eval_molecules3d(int argc, char **argv);   /* sdegen eval molecules3d (eval3d.c) */
int    cli_convert(int argc, char **argv);
int    cli_eval_crystals(int argc, char **argv);   /* sdegen eval crystals PATH ... (crystal.c) */
int    cli_cif(int argc, char **argv);             /* sdegen cif IN OUT [--symmetrize]        */
int    cli_sample(int argc, char **argv);
int    cli_import_gdss(int argc, char **argv);
int    cli_prepare(int argc, char **argv);   /* sdegen prepare conformers ... (prepare.c) */
int    cli_export(int argc, char **argv);    /* sdegen export MODEL.h5 -o OUT.h5 (export.c)  */
/* GDSS dataset name (config data.data, e.g. "ENZYMES") -> sdegen graph dataset, or NULL. */
const char *cli_gdss_dataset(const char *gdss_name);
/* Node-flag table of m's dataset from the training split under data (README section 11): the
 * graph list, or the QM9/ZINC250k training molecules (cli_mol_flags).
 * Returns 0 (table in *out, training graph count in *train_graphs), -1 when the dataset has
 * no graph list, 1 after printing a one-line error prefixed "sdegen <cmd>: ". */
int    cli_gdss_flags_from_data(const char *cmd, const sdg_gdss_model *m, const char *data,
                                sdg_gdss_flags *out, size_t *train_graphs);
/* GDSS's flag table of d's training molecules (README 11: m_i = [sum_j |A_ij| > 1e-5] of the
 * dense bond-order matrix), through sdg_gdss_flags_from_dense. 0, or 1 after a one-line error. */
int    cli_mol_flags(const char *cmd, const sdg_mol_dataset *d, sdg_gdss_flags *out);
/* Parses a whole decimal integer in [lo, hi]; prints a one-line error naming the option. */
int    cli_parse_long(const char *s, const char *opt, long lo, long hi, long *out);
/* Parses a whole decimal number in [lo, hi] (NaN refused); prints a one-line error. */
int    cli_parse_double(const char *s, const char *opt, double lo, double hi, double *out);
double cli_now(void);   /* monotonic seconds */
/* Training commands: SIGINT/SIGTERM set cli_train_stop (after cli_train_catch_signals), so the
 * epoch loop can save and exit. cli_train_log_open opens the TSV log (log_path, or MODEL.h5.log
 * in buf), appending when resuming a non-empty one, else writing header; *used gets the path.
 * NULL after a one-line error "sdegen CMD: --log PATH: reason". */
extern volatile sig_atomic_t cli_train_stop;
void   cli_train_catch_signals(void);
/* --time-limit: true when one more epoch, at the mean epoch time since t_start (e - e0 epochs
 * done), would end after limit seconds (never before the first epoch; limit <= 0: no limit). */
bool   cli_train_time_up(double t_start, int64_t e, int64_t e0, double limit);
FILE  *cli_train_log_open(const char *cmd, const char *out, const char *log_path, bool resume,
                          const char *header, char *buf, size_t cap, const char **used);
/* Options of the 3-D trainers (train3d.c), parsed by cli_train3d_parse: -o, --data, --epochs,
 * --batch, --lr, --seed, --ckpt-every, --resume, --time-limit, --threads, --max-rows, --hidden,
 * --layers, --log, --conformers and one command-specific option named extra (its value in .extra). Unset
 * numbers are -1 (batch, seed, lr), 0 (the others) or the defaults given in *o. Returns -1 to
 * go on, else the exit status (after --help or a one-line error). */
typedef struct cli_train3d_opts {
    const char *data, *out, *log, *extra, *conformers;
    long        epochs, batch, seed, ckpt_every, threads, max_rows, hidden, layers;
    double      lr, time_limit, time_skew;   /* time_skew: 0 = not given */
    const char *pos_output;                  /* "x0" | "velocity", NULL = not given */
    const char *pos_loss;                    /* "x0" | "velocity", NULL = not given */
    bool        resume;
} cli_train3d_opts;
int  cli_train3d_parse(const char *cmd, const char *usage, const char *extra, int argc, char **argv,
                       cli_train3d_opts *o);
/* Progress callback of the 3-D trainers (sdg_flow3d_step_fn, params = a cli_step3d). */
typedef struct cli_step3d { int64_t epoch, epochs; double t0; } cli_step3d;
sdg_status cli_step3d_show(int64_t step, int64_t steps, double loss, void *params);
/* The extra conformer file of a 3-D run (--conformers): opt if given, else the checkpoint's
 * (rec, on --resume; NULL otherwise), else none: its absolute path into c->path ("" = none).
 * 0, or 1 after a one-line error "CMD: ..." (a file that cannot be found). */
int    cli_conformers_resolve(const char *cmd, const char *opt, const sdg_extra_conformers *rec,
                              sdg_extra_conformers *c);
/* --resume on n training molecules where checkpoint out had n0: equal, or a changed conformer
 * file (now vs was: path or record count) -> one line on stdout when they differ, 0; else a
 * one-line error (same data, --max-rows and --conformers needed), 1. */
int    cli_resume_size(const char *cmd, const char *out, size_t n0, size_t n, const sdg_extra_conformers *was,
                       const sdg_extra_conformers *now);
int    cli_train_regressor3d(int argc, char **argv);   /* sdegen train regressor3d (train_reg3d.c) */
int    cli_eval_regressor3d(int argc, char **argv);    /* sdegen eval regressor3d (train_reg3d.c)  */
/* The data directory: opt (the --data value) if given, else $SDEGEN_DATA, else NULL. */
const char *cli_data_dir(const char *opt);

/* ---- crystal datasets (crystal_datasets.c), shared by train crystal and eval crystals ---- */
typedef struct cli_crystal_ds {
    const char *name;          /* --dataset value: perov_5, carbon_24, mp_20            */
    const char *dir;           /* its directory under DATA/crystals/ (or DATA/)          */
    const char *train_split;   /* the split train crystal trains on by default           */
    int64_t     emax, nmax;    /* default matrix size: every crystal of the dataset fits */
} cli_crystal_ds;
extern const char cli_crystal_ds_names[];   /* "perov_5, carbon_24, mp_20" for messages */
const cli_crystal_ds *cli_crystal_ds_find(const char *name);   /* NULL when unknown */
/* The directory holding SPLIT.csv of ds under data: DATA/crystals/<dir>, DATA/<dir> or DATA
 * itself, into buf. 0, or 1 when none has it (silent: see cli_crystal_ds_missing). */
int   cli_crystal_ds_dir(const char *data, const cli_crystal_ds *ds, const char *split, char *buf, size_t cap);
/* The one-line error for a split cli_crystal_ds_dir did not find. */
void  cli_crystal_ds_missing(const char *cmd, const char *data, const cli_crystal_ds *ds, const char *split);
/* Progress on a terminal only: cli_progress rewrites the current stderr line (printf-style);
 * cli_progress_end clears it. Both do nothing when stderr is not a TTY. */
bool   cli_progress_enabled(void);
void   cli_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void   cli_progress_end(void);
/* True when path ends with ext (case-insensitive). */
bool   cli_has_ext(const char *path, const char *ext);

/* ---- sdegen sample (sample.c, sample_mol.c) ---- */
/* Progress of a sampling run on a TTY: done of n items (noun "graphs"), chunks of batch,
 * the sampler's final time eps; start = items already present when the run began (resume). */
typedef struct cli_rate {
    const char *noun;
    size_t      n, batch, done, start;
    double      t0, last;
    float       eps;
} cli_rate;
void       cli_rate_show(cli_rate *r, double frac_chunk);
/* Step hook (sdg_gdss_sample_params.hook) with params = a cli_rate. */
sdg_status cli_rate_hook(sdg_state *st, double t, sdg_rng *const *rngs, void *params);
/* One line naming the sampler and its settings (summaries and provenance). */
void       cli_sampler_describe(const sdg_sampler_params *u, char *buf, size_t cap);
typedef struct cli_sample_args {
    const char *model_path, *out, *data_opt;
    long        n, seed;
    bool        coords_3d, resume;
    sdg_gdss_sample_params p;   /* parsed sampler options (no hook) */
} cli_sample_args;
/* Shipped model names (sample.c): 0 with the path in buf, 1 when arg is a path, 2 when not
 * found (after a one-line error unless quiet). */
int        cli_resolve_model(const char *arg, char *buf, size_t cap, bool quiet);
/* sdegen sample's options that take a value, of every model family, and the positional model
 * argument they leave (NULL when none) (sample_crystal.c). */
bool        cli_sample_takes_value(const char *a);
const char *cli_sample_model_arg(int argc, char **argv);
/* sdegen sample with a crystal model (sample_crystal.c) or a 3-D molecule flow model
 * (sample_mol3d.c) at model_path (the model argument, shipped names resolved by cli_sample):
 * the exit status of the run. */
int        cli_sample_crystal(int argc, char **argv, const char *model_path);
int        cli_sample_mol3d(int argc, char **argv, const char *model_path);
/* Samples molecules with model m (vocabulary v) into a .sdf, .smi or .h5 file and prints the
 * summary. Returns the exit status. */
int        cli_sample_molecules(const cli_sample_args *a, const sdg_gdss_model *m, const sdg_mol_vocab *v);
#endif
