/* sdegen/sdegen.h: the umbrella header; includes every module's public header. */
#ifndef SDEGEN_SDEGEN_H
#define SDEGEN_SDEGEN_H
#include "sdegen/core.h"
#include "sdegen/nn.h"
#include "sdegen/sde.h"
#include "sdegen/io.h"
#include "sdegen/graph.h"
#include "sdegen/molecule.h"
#include "sdegen/crystal.h"
#include "sdegen/eval.h"
#endif
