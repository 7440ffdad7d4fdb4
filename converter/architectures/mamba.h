// The Mamba family: Mamba-1 (and FalconMamba) and Mamba-2 checkpoints, all of
// the shape embedding → N × (RMSNorm + mixer, residual) → RMSNorm → LM head.
#pragma once

#include "converter/architectures/architecture.h"

namespace eidetic::convert {

Status convert_mamba(ConvertContext& ctx, ModelInfo* info);
Status convert_mamba2(ConvertContext& ctx, ModelInfo* info);

}  // namespace eidetic::convert
