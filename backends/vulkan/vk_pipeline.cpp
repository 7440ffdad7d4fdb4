#include "backends/vulkan/vk_pipeline.h"

#include <cstring>

namespace eidetic::vk {
namespace {

struct ShaderSpec {
  const char* prefix;  // matches the base name up to its weight-type suffix
  uint32_t bindings;
  uint32_t workgroup;  // default threads along x
  bool wg_sum;         // built in a subgroup form too
};

// Keep in step with the shaders' binding declarations.
const ShaderSpec kSpecs[] = {
    {"matvec_", 8, 128, true},      {"matmul_coop_", 4, 128, false},  {"matmul_", 4, 128, false},
    {"embed_", 4, 64, false},       {"rms_norm", 2, 128, true},       {"gated_rms_norm", 2, 128, true},
    {"conv1d", 4, 64, false},       {"selective_scan", 7, 64, false}, {"ssd_scan", 5, 128, true},
    {"ssd_chunked", 5, 256, false}, {"top_k", 2, 256, false},
};

const ShaderSpec* spec_for(const std::string& name) {
  for (const auto& s : kSpecs)
    if (name.rfind(s.prefix, 0) == 0) return &s;
  return nullptr;
}

}  // namespace

Kernels::~Kernels() {
  for (auto& [name, p] : pipelines_) {
    vkDestroyPipeline(ctx_.device(), p->pipeline, nullptr);
    vkDestroyPipelineLayout(ctx_.device(), p->layout, nullptr);
    vkDestroyDescriptorSetLayout(ctx_.device(), p->set_layout, nullptr);
  }
}

Result<const Pipeline*> Kernels::get(const std::string& name, uint32_t workgroup, uint32_t spec1) {
  const ShaderSpec* spec = spec_for(name);
  if (!spec) return Status(Code::kBackendError, "Vulkan: no shader named " + name);
  if (!workgroup) workgroup = spec->workgroup;
  if (workgroup > ctx_.info().max_workgroup_invocations)
    return unsupported("Vulkan: a workgroup of " + std::to_string(workgroup) +
                       " threads is more than the device allows");
  const std::string module = spec->wg_sum && ctx_.info().subgroup_arithmetic ? name + "_sg" : name;
  const std::string key = module + "/" + std::to_string(workgroup) + "/" + std::to_string(spec1);
  auto it = pipelines_.find(key);
  if (it != pipelines_.end()) return it->second.get();

  const SpirvBlob* blob = find_spirv(module);
  if (!blob) return Status(Code::kBackendError, "Vulkan: shader " + module + " is not in the library");
  auto p = std::make_unique<Pipeline>();
  p->bindings = spec->bindings;
  p->workgroup = workgroup;
  p->name = module;
  std::vector<VkDescriptorSetLayoutBinding> b(spec->bindings);
  for (uint32_t i = 0; i < spec->bindings; ++i)
    b[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo dl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dl.bindingCount = spec->bindings;
  dl.pBindings = b.data();
  EID_VK(vkCreateDescriptorSetLayout(ctx_.device(), &dl, nullptr, &p->set_layout));
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &p->set_layout;
  pl.pushConstantRangeCount = 1;
  pl.pPushConstantRanges = &range;
  EID_VK(vkCreatePipelineLayout(ctx_.device(), &pl, nullptr, &p->layout));

  // The blob is 4-byte aligned (alignas in the generated file).
  VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mi.codeSize = blob->size;
  mi.pCode = reinterpret_cast<const uint32_t*>(blob->data);
  VkShaderModule shader = VK_NULL_HANDLE;
  EID_VK(vkCreateShaderModule(ctx_.device(), &mi, nullptr, &shader));
  const VkSpecializationMapEntry entries[2] = {{0, 0, sizeof(uint32_t)}, {1, sizeof(uint32_t), sizeof(uint32_t)}};
  const uint32_t values[2] = {workgroup, spec1};
  VkSpecializationInfo si{2, entries, sizeof(values), values};
  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = shader;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = &si;
  ci.layout = p->layout;
  const VkResult r = vkCreateComputePipelines(ctx_.device(), VK_NULL_HANDLE, 1, &ci, nullptr, &p->pipeline);
  vkDestroyShaderModule(ctx_.device(), shader, nullptr);
  if (r != VK_SUCCESS) {
    vkDestroyPipelineLayout(ctx_.device(), p->layout, nullptr);
    vkDestroyDescriptorSetLayout(ctx_.device(), p->set_layout, nullptr);
    return vk_error(("vkCreateComputePipelines(" + module + ")").c_str(), r);
  }
  const Pipeline* out = p.get();
  pipelines_.emplace(key, std::move(p));
  return out;
}

DescriptorAllocator::~DescriptorAllocator() {
  for (VkDescriptorPool p : pools_) vkDestroyDescriptorPool(ctx_.device(), p, nullptr);
}

Status DescriptorAllocator::grow() {
  constexpr uint32_t kSets = 256;
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSets * 5};
  VkDescriptorPoolCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  ci.maxSets = kSets;
  ci.poolSizeCount = 1;
  ci.pPoolSizes = &size;
  VkDescriptorPool pool = VK_NULL_HANDLE;
  EID_VK(vkCreateDescriptorPool(ctx_.device(), &ci, nullptr, &pool));
  pools_.push_back(pool);
  return Status::ok();
}

Result<VkDescriptorSet> DescriptorAllocator::make(const Pipeline& pipe, const std::vector<Slice>& slices) {
  if (slices.size() != pipe.bindings) return Status(Code::kBackendError, "Vulkan: wrong number of bindings");
  VkDescriptorSet set = VK_NULL_HANDLE;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (pools_.empty() || attempt == 1) EID_TRY(grow());
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = pools_.back();
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &pipe.set_layout;
    const VkResult r = vkAllocateDescriptorSets(ctx_.device(), &ai, &set);
    if (r == VK_SUCCESS) break;
    if (attempt == 1 || (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL))
      return vk_error("vkAllocateDescriptorSets", r);
  }
  std::vector<VkDescriptorBufferInfo> infos(slices.size());
  std::vector<VkWriteDescriptorSet> writes(slices.size());
  for (size_t i = 0; i < slices.size(); ++i) {
    infos[i] = {slices[i].buffer, slices[i].offset, slices[i].range};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = uint32_t(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(ctx_.device(), uint32_t(writes.size()), writes.data(), 0, nullptr);
  return set;
}

}  // namespace eidetic::vk
