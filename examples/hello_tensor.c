/* examples/hello_tensor.c: a program that links the installed libsdegen through pkg-config.
 *   cc hello_tensor.c $(pkg-config --cflags --libs sdegen) -o hello_tensor
 * It fits y = 3x - 1 with one linear layer and Adam, and prints the learned weight and bias. */
#include <stdio.h>
#include <sdegen/sdegen.h>

int main(void) {
    sdg_status st = sdg_init();
    sdg_ctx *ctx = NULL;
    sdg_params *params = NULL;
    sdg_adam *opt = NULL;
    sdg_rng *rng = NULL;
    sdg_linear lin;
    if (st == SDG_OK) st = sdg_ctx_new(1 << 20, &ctx);
    if (st == SDG_OK) st = sdg_params_new(&params);
    if (st == SDG_OK) st = sdg_rng_new(1, &rng);
    if (st == SDG_OK) st = sdg_linear_init(&lin, params, "fit", 1, 1, true, rng);
    sdg_adam_params hp = sdg_adam_default_params();
    hp.lr = 0.05f;
    if (st == SDG_OK) st = sdg_adam_new(&hp, params, &opt);
    for (int step = 0; st == SDG_OK && step < 500; step++) {
        sdg_ctx_reset(ctx);
        sdg_tensor *x = sdg_tensor_newv(ctx, 2, (int64_t)64, (int64_t)1);
        sdg_tensor *y = sdg_tensor_newv(ctx, 2, (int64_t)64, (int64_t)1);
        if (!x || !y) break;
        for (int i = 0; i < 64; i++) {
            x->data[i] = (float)sdg_rng_uniform(rng) * 2.0f - 1.0f;
            y->data[i] = 3.0f * x->data[i] - 1.0f;
        }
        sdg_tensor *err = sdg_sub(ctx, sdg_linear_forward(ctx, &lin, x), y);
        sdg_tensor *loss = sdg_mean(ctx, sdg_square(ctx, err), SDG_AXIS_ALL, false);
        sdg_params_zero_grad(params);
        st = sdg_ctx_status(ctx);
        if (st == SDG_OK) st = sdg_backward(ctx, loss);
        if (st == SDG_OK) st = sdg_adam_step(opt);
    }
    if (st == SDG_OK)
        printf("sdegen %s: w = %.3f, b = %.3f (want 3, -1)\n", sdg_version(), lin.weight->data[0],
               lin.bias->data[0]);
    else
        fprintf(stderr, "hello_tensor: %s\n", sdg_errmsg());
    sdg_adam_free(opt);
    sdg_params_free(params);
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
    return st == SDG_OK ? 0 : 1;
}
