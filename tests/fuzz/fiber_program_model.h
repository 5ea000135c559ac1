// SPDX-License-Identifier: MIT
// fiber_program_model.h: a reference model of the runtime's documented
// single-runtime rules under FIFO scheduling and virtual time, small enough
// to read in one sitting. It predicts the whole outcome of a fiber program
// (trace, leftovers, run status) without running any fiber; see
// fiber_program_model.cpp for the rules it encodes and where each is stated.
#ifndef FIBER_PROGRAM_MODEL_H
#define FIBER_PROGRAM_MODEL_H

#include "fiber_program.h"

namespace fiber_program {

outcome run_model(const program& p);

}  // namespace fiber_program

#endif  // FIBER_PROGRAM_MODEL_H
