/* Private to src/io: what the checkpoint code needs to see of sdg_meta. */
#ifndef SDG_IO_INTERNAL_H
#define SDG_IO_INTERNAL_H
#include "sdegen/io.h"

typedef enum io_meta_type {
    IO_META_INT,
    IO_META_DOUBLE,
    IO_META_STRING,
} io_meta_type;

/* Type of the i-th entry (i < sdg_meta_count(m)). */
io_meta_type io_meta_type_at(const sdg_meta *m, size_t i);
/* Exchanges the contents of a and b (no allocation, cannot fail). */
void         io_meta_swap(sdg_meta *a, sdg_meta *b);

#endif
