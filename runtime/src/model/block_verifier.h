// Structural checks of a model's block stack against its tensor table: every
// block kind known, hyperparameters in range and consistent, every tensor a
// block uses present with the shape and dtype that block expects. Runs once at
// load so that executors can trust what they index.
#pragma once

#include "model_file_generated.h"
#include "runtime/src/core/status.h"

namespace eidetic {

Status verify_blocks(const fb::Model& model);

}  // namespace eidetic
