/* sdegen/graph.h: lists of simple undirected graphs, their files, and graph statistics.
 * A graph has n nodes numbered 0..n-1, m edges stored as (m, 2) int64 pairs with u < v (no
 * self-loops, no duplicates), n node labels (0 = none) and one graph label (-1 = none).
 * Graph-list files (data/README.md section 4): '#' comment lines and blank lines are skipped;
 * first line G; then per graph a line "n m y", a line of n node labels (absent when n = 0)
 * and m lines "u v". GDSS's split: test = the first floor(0.2 G) graphs in file order,
 * train = the rest. Dense samples (B, N, N) become graphs by GDSS's rule (edge iff A >= 0.5,
 * self-loops and isolated nodes dropped, an empty graph becomes one node).
 * Orbit counts are the 15 node orbits of the 2- to 4-node graphlets (ORCA numbering):
 * 0 degree; 1,2 path P3 end/middle; 3 triangle; 4,5 path P4 end/inner; 6,7 star leaf/centre;
 * 8 cycle C4; 9,10,11 paw tail/triangle degree-2/triangle degree-3; 12,13 diamond degree-2/
 * degree-3; 14 clique K4. Each entry counts the induced graphlets touching the node there.
 * igraph is used inside this module only; no igraph type appears here. */
#ifndef SDEGEN_GRAPH_H
#define SDEGEN_GRAPH_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "sdegen/core.h"
#include "sdegen/nn.h"
#include "sdegen/sde.h"
#ifdef __cplusplus
extern "C" {
#endif

#define SDG_GRAPH_ORBITS 15   /* node orbits of graphlets with 2 to 4 nodes */

typedef struct sdg_graph {
    int64_t  n;            /* nodes                                      */
    int64_t  m;            /* edges                                      */
    int64_t  label;        /* graph label, -1 = none                     */
    int64_t *edges;        /* (m, 2), each pair u < v, owned by the list */
    int64_t *node_labels;  /* (n), 0 = none, owned by the list           */
} sdg_graph;

typedef struct sdg_graph_list {
    size_t     count;      /* G */
    sdg_graph *graphs;     /* (G) */
} sdg_graph_list;

/* A list of count graphs with no nodes (fill them with sdg_graph_list_set). SDG_ERR_NOMEM. */
SDG_API sdg_status sdg_graph_list_new(size_t count, sdg_graph_list **out);
SDG_API void       sdg_graph_list_free(sdg_graph_list *gl);          /* NULL is a no-op */
/* Copies g (edges, node labels; node_labels may be NULL = all 0) into slot i, replacing what
 * was there. Fails with SDG_ERR_INVALID on i >= count, n < 0, an edge out of range, a
 * self-loop, u > v or a duplicate edge (the message names the edge). */
SDG_API sdg_status sdg_graph_list_set(sdg_graph_list *gl, size_t i, const sdg_graph *g);
/* New list of the k graphs idx[0..k-1] of gl (deep copies; repeats allowed). */
SDG_API sdg_status sdg_graph_list_select(const sdg_graph_list *gl, const size_t *idx, size_t k,
                                         sdg_graph_list **out);
/* New list with the isolated nodes of every graph removed (survivors keep their order and
 * labels); a graph left empty becomes one node. This is GDSS's cleaning of generated graphs. */
SDG_API sdg_status sdg_graph_list_drop_isolated(const sdg_graph_list *gl, sdg_graph_list **out);
/* Dense samples to graphs: A (B, N, N) float, flags (B, N) or NULL (all 1). A is masked by
 * A * f_i * f_j; edge {i, j} iff A[i,j] >= 0.5 or A[j,i] >= 0.5, i != j; then isolated nodes
 * are dropped and an empty graph becomes one node. Labels are 0 / -1. O(B N^2). */
SDG_API sdg_status sdg_graph_list_from_dense(const float *A, const float *flags, int64_t B,
                                             int64_t N, sdg_graph_list **out);

/* Pads the k graphs idx[0..k-1] of gl into dense batches (GDSS's graphs_to_tensor,
 * node_flags and init_features 'deg'). Each output may be NULL. A (k, N, N): 0/1 adjacency;
 * flags (k, N): 1 iff the node has at least one edge (isolated and padding nodes are 0);
 * X (k, N, F): row i = one-hot of the degree of node i, zero rows where flags is 0.
 * SDG_ERR_INVALID naming the graph when it has more than N nodes or a degree >= F (when X is
 * wanted), or when an index is out of range. O(k (N^2 + N F)). */
SDG_API sdg_status sdg_graph_list_dense(const sdg_graph_list *gl, const size_t *idx, size_t k,
                                        int64_t N, int64_t F, float *A, float *X, float *flags);

/* ---- files ---- */
/* Reads a graph-list file. SDG_ERR_IO if it cannot be opened; SDG_ERR_FORMAT with one message
 * "path: line L: problem" for bad counts, out-of-range ids, u >= v, duplicates, a
 * non-numeric token, extra tokens or a truncated file. */
SDG_API sdg_status sdg_graph_list_read(const char *path, sdg_graph_list **out);
/* Writes gl in the same format (a '#' header line first). SDG_ERR_IO on failure. */
SDG_API sdg_status sdg_graph_list_write(const char *path, const sdg_graph_list *gl);
/* Streaming pieces of the writers (io's sdg_graph_writer uses them); f is open for writing
 * and messages do not name it. Text: begin writes the header with the total graph count,
 * append writes graphs. GraphML: begin writes the XML prolog and <graphml>, append writes one
 * <graph id="G<k>" edgedefault="undirected"> element per graph (k = first_id, first_id + 1,
 * ...; nodes "n0".."n<n-1>", structure only: labels are not written), end closes </graphml>.
 * Each graph goes through igraph_write_graph_graphml. SDG_ERR_IO, SDG_ERR_DEPENDENCY. */
SDG_API sdg_status sdg_graph_text_begin(FILE *f, size_t total);
SDG_API sdg_status sdg_graph_text_append(FILE *f, const sdg_graph_list *gl);
SDG_API sdg_status sdg_graph_graphml_begin(FILE *f);
SDG_API sdg_status sdg_graph_graphml_append(FILE *f, const sdg_graph_list *gl, size_t first_id);
SDG_API sdg_status sdg_graph_graphml_end(FILE *f);
/* Reads every <graph> of a GraphML file through igraph (nodes in document order; a directed
 * graph becomes undirected with reciprocal edges merged). SDG_ERR_FORMAT naming the file and
 * the graph for a parse error, a self-loop or a repeated edge; SDG_ERR_IO. */
SDG_API sdg_status sdg_graph_list_read_graphml(const char *path, sdg_graph_list **out);
/* File name (relative to the data directory) of a named dataset, or NULL: "community_small",
 * "ego_small", "grid", "enzymes" -> "graphs/<name>.txt" ("graphs/enzymes_gdss.txt"). */
SDG_API const char *sdg_graph_dataset_file(const char *name);
/* Loads dataset name from data_dir and splits it the GDSS way (test = first floor(0.2 G)).
 * train or test may be NULL when not wanted. SDG_ERR_NOTFOUND for an unknown name, else as
 * sdg_graph_list_read. */
SDG_API sdg_status sdg_graph_dataset_load(const char *data_dir, const char *name,
                                          sdg_graph_list **train, sdg_graph_list **test);

/* ---- statistics ---- */
/* Degree histogram: hist[d] = number of nodes of degree d, d = 0..max degree. Writes up to
 * cap entries and sets *needed = max degree + 1 (0 when n = 0); SDG_ERR_INVALID if cap is
 * too small (hist may be NULL with cap 0 to query the size). O(n + m). */
SDG_API sdg_status sdg_graph_degree_histogram(const sdg_graph *g, int64_t *hist, size_t cap,
                                              size_t *needed);
/* Local clustering coefficients cc (n) (networkx semantics: 0 for degree < 2), via igraph.
 * SDG_ERR_INVALID if cap < n; SDG_ERR_DEPENDENCY (igraph's text appended) if igraph fails. */
SDG_API sdg_status sdg_graph_clustering(const sdg_graph *g, double *cc, size_t cap);
/* Node-orbit counts orbits (n, SDG_GRAPH_ORBITS), row-major, of the induced connected
 * graphlets with 2-4 nodes (numbering in the block above; equal to ORCA's). SDG_ERR_INVALID
 * if cap < 15 n. Time: O(number of connected 4-node induced subgraphs * log d). */
SDG_API sdg_status sdg_graph_orbit_counts(const sdg_graph *g, int64_t *orbits, size_t cap);

/* ---- GDSS score networks (docs: /work/shared/gdss/README.md sections 2-7) ----
 * x (B, N, F) node features, adj (B, N, N) noisy adjacency, flags (B, N) node mask.
 * ScoreNetworkX and ScoreNetworkX_GMH return out_x (B, N, F); ScoreNetworkA returns out_adj
 * (B, N, N) (zero diagonal, masked). Outputs are the raw network outputs (no 1/sigma).
 * Parameters carry PyTorch's state-dict names (prefixed by the given prefix): GCN weights
 * (layers.l.weight, attn.c.gnn_{q,k,v}.weight) are stored (in, out) and applied X W; MLP
 * weights (...linears.k.weight) are stored (out, in) and applied x W^T + b. */
typedef enum sdg_gdss_net_kind {
    SDG_GDSS_NET_KIND_X,       /* ScoreNetworkX: GCN stack + MLP            */
    SDG_GDSS_NET_KIND_X_GMH,   /* ScoreNetworkX_GMH: attention layers + MLP */
    SDG_GDSS_NET_KIND_A        /* ScoreNetworkA: attention layers + MLP     */
} sdg_gdss_net_kind;

typedef struct sdg_gdss_params {
    sdg_gdss_net_kind kind;
    int64_t F;             /* max_feat_num                                   */
    int64_t N;             /* max_node_num (A only; informative for X)       */
    int     depth;         /* X, X_GMH: number of GCN / attention layers     */
    int     nhid;          /* hidden width                                   */
    int     adim;          /* attention width (A, X_GMH)                     */
    int     heads;         /* attention heads (A, X_GMH); adim % heads == 0  */
    int     c_init, c_hid, c_final;   /* adjacency channels (A, X_GMH)       */
    int     num_layers;    /* A: attention layers (>= 2)                     */
    int     num_linears;   /* A, X_GMH: linears in each layer's edge MLP     */
} sdg_gdss_params;

/* GDSS's defaults for a network kind (QM9-sized: F 4, N 9, depth 2, nhid 16, adim 16, heads 4,
 * channels 2/8/4, num_layers 3, num_linears 3). */
SDG_API sdg_gdss_params sdg_gdss_default_params(sdg_gdss_net_kind kind);
SDG_API const char     *sdg_gdss_net_kind_name(sdg_gdss_net_kind kind);   /* "ScoreNetworkX", ... */
/* Reads a GDSS constructor JSON object ({"model_type": "ScoreNetworkA", "max_feat_num": 4,
 * ...}; unknown keys ignored, absent keys keep their defaults). SDG_ERR_FORMAT (bad JSON,
 * unknown model_type or conv other than "GCN"), SDG_ERR_INVALID (inconsistent sizes). */
SDG_API sdg_status sdg_gdss_params_from_json(const char *json, sdg_gdss_params *out);
/* SDG_ERR_INVALID naming the field when a size is out of range. */
SDG_API sdg_status sdg_gdss_params_check(const sdg_gdss_params *hp);

typedef struct sdg_gdss_net sdg_gdss_net;
/* Builds a network; its parameters are registered in store under prefix + PyTorch name
 * (prefix may be NULL or ""), or in a store owned by the net when store is NULL.
 * Init: Linear as torch.nn.Linear (U(+-1/sqrt(in))), GCN weights Glorot-uniform
 * (U(+-sqrt(6/(in+out)))) with zero bias, as GDSS's DenseGCNConv. rng may be NULL (all
 * zeros; for loading). SDG_ERR_INVALID, SDG_ERR_NOMEM, or a duplicate-name error. */
SDG_API sdg_status  sdg_gdss_net_new(const sdg_gdss_params *hp, const char *prefix,
                                     sdg_params *store, sdg_rng *rng, sdg_gdss_net **out);
SDG_API void        sdg_gdss_net_free(sdg_gdss_net *net);           /* NULL is a no-op */
SDG_API sdg_params *sdg_gdss_net_params(const sdg_gdss_net *net);  /* the store used  */
SDG_API const sdg_gdss_params *sdg_gdss_net_hparams(const sdg_gdss_net *net);
/* Forward pass (sticky ctx errors; NULL on failure). x (B, N, F), adj (B, N, N), flags (B, N)
 * (borrowed until backward). Returns out_x (B, N, F) or out_adj (B, N, N). Differentiable in
 * every parameter and in x and adj. Cost per graph: O(layers (N^2 d + N d^2)). With grad
 * mode off (sampling) a fused path computes the same outputs (to float rounding) in blocks of
 * graphs on the OpenMP threads, bit-identical for any thread count. */
SDG_API sdg_tensor *sdg_gdss_net_forward(sdg_ctx *ctx, const sdg_gdss_net *net, sdg_tensor *x,
                                         sdg_tensor *adj, const sdg_tensor *flags);

/* ---- a GDSS model: both networks plus the SDE and sampler settings (README section 7) ---- */
typedef enum sdg_gdss_sde_kind { SDG_GDSS_SDE_KIND_VP, SDG_GDSS_SDE_KIND_VE } sdg_gdss_sde_kind;
typedef struct sdg_gdss_sde {
    sdg_gdss_sde_kind kind;
    double            lo, hi;     /* VP: beta_0, beta_1; VE: sigma_min, sigma_max */
    int               n_steps;    /* N (1000) */
} sdg_gdss_sde;

typedef struct sdg_gdss_settings {
    char         dataset[32];     /* GDSS's data name: "QM9", "ZINC250k", "grid", ... */
    sdg_gdss_sde sde_x, sde_adj;
    char         predictor[16];   /* "Reverse", "Euler" or "S4"     */
    char         corrector[16];   /* "Langevin" or "None"           */
    double       snr, scale_eps;  /* corrector settings             */
    double       eps;             /* final sampling time (1e-4)     */
    int          batch;           /* GDSS's sampling batch size     */
    bool         use_ema;         /* GDSS samples with EMA weights  */
} sdg_gdss_settings;

/* Settings from a GDSS model_config JSON (data.data and sde.{x,adj}.{type,beta_min,beta_max,
 * num_scales}) plus the sampler table of README section 7 for the six known datasets.
 * SDG_ERR_FORMAT (bad JSON or SDE type), SDG_ERR_NOTFOUND (dataset not in the table). */
SDG_API sdg_status sdg_gdss_settings_from_json(const char *model_config, sdg_gdss_settings *out);

/* Node flags at sampling time (README section 11): GDSS draws a training graph uniformly and
 * uses its flag row (1 iff the node has an edge). The table keeps the distinct rows with the
 * number of training graphs having each, so drawing a row is drawing a training graph. */
typedef struct sdg_gdss_flags {
    int64_t  N;        /* padded node count                                 */
    size_t   count;    /* distinct rows; 0 = no table                       */
    float   *rows;     /* (count, N) in {0, 1}, owned                       */
    int64_t *weight;   /* (count) training graphs with that row, owned      */
    int64_t  total;    /* sum of weight                                     */
} sdg_gdss_flags;
/* Builds the table of gl's graphs padded to N (rows in order of first appearance).
 * SDG_ERR_INVALID (empty list, a graph with more than N nodes), SDG_ERR_NOMEM. */
SDG_API sdg_status sdg_gdss_flags_from_graphs(const sdg_graph_list *gl, int64_t N, sdg_gdss_flags *out);
/* Copies rows (count, N) and weights (count, each >= 1) into a new table. SDG_ERR_INVALID. */
SDG_API sdg_status sdg_gdss_flags_init(sdg_gdss_flags *out, int64_t N, size_t count, const float *rows,
                                       const int64_t *weight);
SDG_API void       sdg_gdss_flags_destroy(sdg_gdss_flags *f);   /* NULL-safe, idempotent */
/* The table of G dense flag rows (G, N), each in {0, 1} (rows in order of first appearance).
 * SDG_ERR_INVALID (G = 0, a value other than 0/1), SDG_ERR_NOMEM. O(G * distinct rows * N). */
SDG_API sdg_status sdg_gdss_flags_from_dense(const float *flags, size_t G, int64_t N, sdg_gdss_flags *out);
/* Draws one training graph uniformly and copies its flag row into row (N floats). */
SDG_API void       sdg_gdss_flags_draw(const sdg_gdss_flags *f, sdg_rng *rng, float *row);

typedef struct sdg_gdss_model {
    sdg_params       *params;     /* one store: x.<name> and adj.<name> */
    sdg_gdss_net     *net_x;      /* prefix "x."                        */
    sdg_gdss_net     *net_adj;    /* prefix "adj."                      */
    sdg_gdss_settings settings;
    sdg_gdss_flags    flags;      /* sampling flags; count 0 = not known       */
    bool              weights_ema; /* params hold EMA weights (set by the loader) */
} sdg_gdss_model;
/* Builds both networks into one new store (prefixes "x." and "adj."). rng may be NULL. */
SDG_API sdg_status sdg_gdss_model_new(const sdg_gdss_params *hp_x, const sdg_gdss_params *hp_adj,
                                      const sdg_gdss_settings *settings, sdg_rng *rng,
                                      sdg_gdss_model **out);
SDG_API void       sdg_gdss_model_free(sdg_gdss_model *m);          /* NULL is a no-op */

/* ---- GDSS training (README section 9) ----
 * One step on a batch of B clean graphs (X, A, flags): t ~ U(eps, 1) per graph, masked noise
 * z_x, symmetric zero-diagonal masked noise z_adj, X~ = mask(s_x(t) X + sigma_x(t) z_x),
 * A~ = mask(s_adj(t) A + sigma_adj(t) z_adj); both networks see (X~, A~, flags);
 * L_x = mean_b 1/2 sum (sigma_x score_x + z_x)^2 and L_adj likewise (VP: score = -out/sigma,
 * VE: score = out). Each loss trains its own network: Adam (L2 weight decay added to the
 * gradient, as torch.optim.Adam), gradient-norm clipping per network, EMA with decay
 * min(ema_decay, (1 + n) / (10 + n)) after n updates, and ExponentialLR once per epoch.
 * An epoch draws a seeded permutation of the training graphs and walks it in batches
 * (the last one may be smaller). All randomness comes from the trainer's generator. */
typedef struct sdg_gdss_train_params {
    int      batch;          /* graphs per step (GDSS data.batch_size)                  */
    double   lr;             /* Adam learning rate (0.01 generic, 0.005 molecules)       */
    double   weight_decay;   /* L2 added to the gradient (1e-4)                          */
    double   lr_decay;       /* ExponentialLR gamma, stepped after every epoch (0.999)   */
    double   grad_clip;      /* max gradient norm of each network (1.0); <= 0: none      */
    double   ema_decay;      /* EMA decay cap (0.999)                                    */
    double   eps;            /* t ~ U(eps, 1) (1e-5)                                     */
    uint64_t seed;           /* initial weights: sdg_rng_stream(seed, 0); training: (seed, 1) */
} sdg_gdss_train_params;

/* batch 128, lr 0.01, weight_decay 1e-4, lr_decay 0.999, grad_clip 1, ema_decay 0.999,
 * eps 1e-5, seed 0. */
SDG_API sdg_gdss_train_params sdg_gdss_train_default_params(void);
/* GDSS's configuration of a dataset ("community_small", "ego_small", "enzymes", "grid",
 * "qm9", "zinc250k"; README section 7 and the released configs): both networks, SDEs and
 * sampler settings, and the training parameters (molecules: batch 1024, lr 0.005). Any
 * output may be NULL. SDG_ERR_NOTFOUND. */
SDG_API sdg_status sdg_gdss_preset(const char *dataset, sdg_gdss_params *hp_x,
                                   sdg_gdss_params *hp_adj, sdg_gdss_settings *settings,
                                   sdg_gdss_train_params *train);

/* A batch for sdg_gdss_loss, all row-major float arrays of the model's N and F. */
typedef struct sdg_gdss_batch {
    int64_t      B;
    const float *X;       /* (B, N, F) clean features                            */
    const float *A;       /* (B, N, N) clean adjacency                           */
    const float *flags;   /* (B, N) node mask                                    */
    const float *t;       /* (B) diffusion time of each graph                    */
    const float *z_x;     /* (B, N, F) noise, zero on masked rows                */
    const float *z_adj;   /* (B, N, N) noise, symmetric, zero diagonal, masked   */
} sdg_gdss_batch;
/* L_x and L_adj of the block above for model m on batch b, evaluated in ctx (the caller
 * resets it). With ctx in grad mode the losses are also back-propagated: parameter
 * gradients accumulate dL_x/d(x.*) and dL_adj/d(adj.*). SDG_ERR_INVALID/SHAPE/NUMERIC. */
SDG_API sdg_status sdg_gdss_loss(sdg_ctx *ctx, const sdg_gdss_model *m, const sdg_gdss_batch *b,
                                 double *loss_x, double *loss_adj);

/* A dense training set: G graphs padded to the model's N and F (row-major, caller memory). */
typedef struct sdg_gdss_data {
    int64_t      G;
    const float *X;       /* (G, N, F) clean features                                  */
    const float *A;       /* (G, N, N) clean adjacency (symmetric, zero diagonal)       */
    const float *flags;   /* (G, N) node mask; NULL: [sum_j |A_ij| > 1e-5] (README 9)   */
} sdg_gdss_data;

typedef struct sdg_gdss_trainer sdg_gdss_trainer;   /* owns optimiser, EMA, generator */
typedef struct sdg_gdss_epoch_stats {
    double  loss_x, loss_adj;   /* mean over the epoch's steps of the batch losses      */
    double  lr;                 /* learning rate used in the epoch                      */
    int64_t steps, graphs;
} sdg_gdss_epoch_stats;
/* A trainer for model m (borrowed; its parameters are updated in place) on the graphs of
 * train (borrowed; densified once: O(G N^2) floats). SDG_ERR_INVALID (bad parameters, a
 * graph larger than N or with a degree >= F), SDG_ERR_NOMEM. */
SDG_API sdg_status sdg_gdss_trainer_new(sdg_gdss_model *m, const sdg_graph_list *train,
                                        const sdg_gdss_train_params *tp, sdg_gdss_trainer **out);
/* The same on a dense training set; X and A are borrowed (they must outlive the trainer),
 * the flags are copied or derived. SDG_ERR_INVALID (G < 1, missing arrays). */
SDG_API sdg_status sdg_gdss_trainer_new_dense(sdg_gdss_model *m, const sdg_gdss_data *train,
                                              const sdg_gdss_train_params *tp, sdg_gdss_trainer **out);
SDG_API void       sdg_gdss_trainer_free(sdg_gdss_trainer *tr);   /* NULL is a no-op */
/* One epoch: ceil(G / batch) steps, then the learning-rate decay. stats may be NULL.
 * SDG_ERR_NUMERIC (non-finite loss or gradient; the step is not applied). */
SDG_API sdg_status sdg_gdss_trainer_epoch(sdg_gdss_trainer *tr, sdg_gdss_epoch_stats *stats);
/* One update on the training graphs idx[0..k-1] (noise from the trainer's generator);
 * losses may be NULL. Used by sdg_gdss_trainer_epoch. */
SDG_API sdg_status sdg_gdss_trainer_step(sdg_gdss_trainer *tr, const size_t *idx, size_t k,
                                         double *loss_x, double *loss_adj);
/* State for checkpoints (owned by the trainer) and the count of completed epochs. */
SDG_API const sdg_gdss_train_params *sdg_gdss_trainer_params(const sdg_gdss_trainer *tr);
SDG_API sdg_gdss_model *sdg_gdss_trainer_model(sdg_gdss_trainer *tr);
SDG_API sdg_adam       *sdg_gdss_trainer_adam(sdg_gdss_trainer *tr);
SDG_API sdg_ema        *sdg_gdss_trainer_ema(sdg_gdss_trainer *tr);
SDG_API sdg_rng        *sdg_gdss_trainer_rng(sdg_gdss_trainer *tr);
SDG_API int64_t         sdg_gdss_trainer_epochs(const sdg_gdss_trainer *tr);
/* The training set's node flags (G, N), as used by the loss (for sdg_gdss_flags_from_dense). */
SDG_API const float    *sdg_gdss_trainer_flags(const sdg_gdss_trainer *tr, int64_t *G, int64_t *N);
SDG_API void            sdg_gdss_trainer_set_epochs(sdg_gdss_trainer *tr, int64_t epochs);

/* ---- GDSS sampling (README sections 8, 10-12) ----
 * State: component 0 "X" is DENSE, (N rows x F) per graph; component 1 "A" is SYMMETRIC N x N;
 * both are masked by the graph's node flags (n, N). VP components read the network output as
 * noise (SDG_PARAM_KIND_EPS: score = -out / sigma(t)), VE components as the score itself.
 * Graph i of a run draws its node flags from sdg_rng_stream(seed, 2^63 + i) and its sampler
 * noise from sdg_rng_stream(seed, i), so output depends on (seed, batch) and never on the
 * number of threads. Runs go in chunks of `batch` graphs; the Langevin norms are averaged
 * over a chunk (as in GDSS), and the last chunk is padded to a full batch whose surplus is
 * discarded (GDSS's rounds), so graph i depends only on (seed, batch, i), not on n. */

/* The GDSS model as an engine callback (sdg_model.fn with params = an sdg_gdss_eval):
 * runs both networks on call->state (X, A, mask of A as flags) in no-grad mode, resetting
 * ctx before each (memory stays at one pass's peak); FLOPs accumulate in ctx's counter. */
typedef struct sdg_gdss_eval {
    const sdg_gdss_model *model;
    sdg_ctx              *ctx;
} sdg_gdss_eval;
SDG_API sdg_status sdg_gdss_model_fn(const sdg_model_call *call, void *params);
/* Fills *out with the two components for n graphs: x (n, N, F), adj (n, N, N) and flags
 * (n, N) are caller memory (borrowed); SDEs from m->settings with N = n_steps (the reverse
 * predictor and the Langevin alpha index use it). SDG_ERR_INVALID. */
SDG_API sdg_status sdg_gdss_state_init(const sdg_gdss_model *m, int n_steps, size_t n, float *x,
                                       float *adj, const float *flags, sdg_state *out);

typedef struct sdg_gdss_sample_params {
    const sdg_sampler_type   *sampler;    /* NULL: settings (S4 -> s4, else pc)               */
    const sdg_predictor_type *predictor;  /* NULL: settings (Reverse, Euler; S4 -> reverse)    */
    const sdg_corrector_type *corrector;  /* NULL: settings (Langevin, None)                   */
    const sdg_ode_type       *ode;        /* ode sampler: NULL = rk45                          */
    int      n_steps;     /* 0: the adjacency SDE's N (1000)                                  */
    double   snr;         /* < 0: settings                                                    */
    double   scale_eps;   /* < 0: settings                                                    */
    double   eps;         /* <= 0: settings (1e-4)                                            */
    size_t   batch;       /* graphs per chunk; 0: settings; capped at n                       */
    uint64_t seed;
    const sdg_gdss_flags *flags;  /* NULL: m->flags (must then have rows)                    */
    sdg_step_hook_fn hook;        /* optional, after every sampler step (e.g. progress)      */
    void            *hook_params;
} sdg_gdss_sample_params;
SDG_API sdg_gdss_sample_params sdg_gdss_sample_default_params(void);

typedef struct sdg_gdss_sample_stats {
    sdg_sampler_params sampler;  /* the resolved engine settings (type, predictor, steps, ...) */
    size_t batch;        /* graphs per chunk used                                        */
    size_t graphs;       /* graphs handed to on_chunk                                     */
    size_t sampled;      /* graphs generated, padding of the last chunk included          */
    long   nfe;          /* model evaluations (each runs both networks on one chunk)      */
    double seconds;      /* wall time of the whole run, decoding and on_chunk included    */
    double flops;        /* network floating-point operations                             */
    double gflops_per_s; /* flops / seconds / 1e9                                         */
    bool   weights_ema;  /* m->weights_ema: EMA weights (else the raw ones)               */
    size_t peak_bytes;   /* largest network pass's arena memory (one chunk)              */
} sdg_gdss_sample_stats;

/* Receives graphs first .. first + graphs->count - 1 of the run (borrowed for the call);
 * a status != SDG_OK stops the run and is returned (e.g. SDG_ERR_INTERRUPTED). */
typedef sdg_status (*sdg_gdss_chunk_fn)(const sdg_graph_list *graphs, size_t first, void *ud);
/* Resolves p against m->settings into engine parameters and the chunk size for n graphs.
 * SDG_ERR_INVALID naming the setting (unknown predictor, steps < 1, ...). */
SDG_API sdg_status sdg_gdss_sampler_params(const sdg_gdss_model *m, const sdg_gdss_sample_params *p,
                                           size_t n, sdg_sampler_params *out, size_t *batch);
/* Samples graphs first .. first + count - 1 as one chunk into caller memory: x (count, N, F),
 * adj (count, N, N), flags (count, N) (the last is the dense output before decoding).
 * stats (may be NULL) gets nfe and flops added. Memory: O(count N^2 * network width). */
SDG_API sdg_status sdg_gdss_sample_dense(const sdg_gdss_model *m, const sdg_gdss_sample_params *p,
                                         size_t first, size_t count, float *x, float *adj,
                                         float *flags, sdg_gdss_sample_stats *stats);
/* Receives the dense outputs of graphs first .. first + count - 1 (borrowed for the call; the
 * padding of the last chunk is not included): x (count, N, F), adj (count, N, N), flags
 * (count, N). A status != SDG_OK stops the run and is returned. */
typedef sdg_status (*sdg_gdss_dense_fn)(const float *x, const float *adj, const float *flags,
                                        size_t first, size_t count, void *ud);
/* The chunked driver without decoding: graphs start .. n - 1 in chunks of the resolved batch
 * (start a multiple of it: resuming a run gives the graphs an uninterrupted run would), each
 * chunk through sdg_gdss_sample_dense. stats (may be NULL) as below. SDG_ERR_INVALID. */
SDG_API sdg_status sdg_gdss_sample_chunks(const sdg_gdss_model *m, const sdg_gdss_sample_params *p, size_t n,
                                          size_t start, sdg_gdss_dense_fn on_dense, void *ud,
                                          sdg_gdss_sample_stats *stats);
/* Samples n graphs in chunks, decodes each (edge iff A >= 0.5, isolated nodes dropped) and
 * hands it to on_chunk; memory is one chunk's, whatever n. stats may be NULL.
 * Cost: ceil(n / batch) * NFE network calls on batch graphs. */
SDG_API sdg_status sdg_gdss_sample(const sdg_gdss_model *m, const sdg_gdss_sample_params *p, size_t n,
                                   sdg_gdss_chunk_fn on_chunk, void *ud, sdg_gdss_sample_stats *stats);

#ifdef __cplusplus
}
#endif
#endif /* SDEGEN_GRAPH_H */
