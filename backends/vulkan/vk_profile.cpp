#include "backends/vulkan/vk_profile.h"

#include <cstdio>
#include <cstdlib>

namespace eidetic::vk {

Result<std::unique_ptr<StepProfiler>> StepProfiler::create_if_enabled(Context& ctx, uint32_t max_marks) {
  const char* v = std::getenv("EIDETIC_VULKAN_PROFILE");
  if (!v || std::string(v) != "1" || ctx.info().timestamp_period_ns <= 0) return std::unique_ptr<StepProfiler>();
  std::unique_ptr<StepProfiler> p(new StepProfiler(ctx));
  p->capacity_ = max_marks + 1;
  VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
  qi.queryCount = p->capacity_;
  EID_VK(vkCreateQueryPool(ctx.device(), &qi, nullptr, &p->pool_));
  p->stamps_.resize(p->capacity_);
  return p;
}

StepProfiler::~StepProfiler() {
  if (replays_) {
    for (const auto& [name, ns] : ns_)
      std::fprintf(stderr, "{\"vulkan_profile\": \"%s\", \"dispatches_per_token\": %u, \"us_per_token\": %.2f}\n",
                   name.c_str(), count_[name], ns / 1e3 / double(replays_));
    std::fprintf(stderr, "{\"vulkan_profile\": \"step\", \"dispatches_per_token\": %zu, \"us_per_token\": %.2f}\n",
                 names_.size(), step_ns_ / 1e3 / double(replays_));
  }
  if (pool_) vkDestroyQueryPool(ctx_.device(), pool_, nullptr);
}

void StepProfiler::begin(VkCommandBuffer cmd) {
  names_.clear();
  count_.clear();
  vkCmdResetQueryPool(cmd, pool_, 0, capacity_);
  vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool_, 0);
}

void StepProfiler::mark(VkCommandBuffer cmd, const std::string& name) {
  if (names_.size() + 1 >= capacity_) return;
  names_.push_back(name);
  ++count_[name];
  vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool_, uint32_t(names_.size()));
}

Status StepProfiler::collect() {
  const uint32_t n = uint32_t(names_.size()) + 1;
  EID_VK(vkGetQueryPoolResults(ctx_.device(), pool_, 0, n, n * sizeof(uint64_t), stamps_.data(), sizeof(uint64_t),
                               VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  const double period = ctx_.info().timestamp_period_ns;
  for (uint32_t i = 1; i < n; ++i) ns_[names_[i - 1]] += double(stamps_[i] - stamps_[i - 1]) * period;
  step_ns_ += double(stamps_[n - 1] - stamps_[0]) * period;
  ++replays_;
  return Status::ok();
}

}  // namespace eidetic::vk
