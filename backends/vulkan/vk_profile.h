// GPU time per step of the recorded decode step, for finding where decode
// latency goes (EIDETIC_VULKAN_PROFILE=1; a tool for measuring, off by
// default). A timestamp follows each dispatch and its barrier; after each
// replay the differences are added up per kind of step (the model's name for
// it and the shader module), and when the session ends one JSON line per kind
// goes to stderr:
//   {"vulkan_profile": "x_proj matvec_q4_sg", "dispatches_per_token": 48, "us_per_token": 212.5}
// plus one for the whole step ("step", from the first timestamp to the last).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/vulkan/vk_context.h"

namespace eidetic::vk {

class StepProfiler {
 public:
  // Null when EIDETIC_VULKAN_PROFILE is not set or the queue has no timestamps.
  static Result<std::unique_ptr<StepProfiler>> create_if_enabled(Context& ctx, uint32_t max_marks);
  ~StepProfiler();

  // While recording: begin() once before the steps, mark() after each.
  void begin(VkCommandBuffer cmd);
  void mark(VkCommandBuffer cmd, const std::string& name);
  // After each replay: read the timestamps and add them up.
  Status collect();

 private:
  StepProfiler(Context& ctx) : ctx_(ctx) {}
  Context& ctx_;
  VkQueryPool pool_ = VK_NULL_HANDLE;
  uint32_t capacity_ = 0;
  std::vector<std::string> names_;  // the step after timestamp i
  std::vector<uint64_t> stamps_;
  std::map<std::string, double> ns_;
  std::map<std::string, uint32_t> count_;
  double step_ns_ = 0;
  uint64_t replays_ = 0;
};

}  // namespace eidetic::vk
