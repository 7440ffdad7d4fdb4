#include "backends/vulkan/vk_context.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace eidetic::vk {
namespace {

std::mutex g_validation_mutex;
ValidationCounts g_validation;

VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                VkDebugUtilsMessageTypeFlagsEXT,
                                                const VkDebugUtilsMessengerCallbackDataEXT* data, void*) {
  const bool error = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  const bool warning = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT;
  if (!error && !warning) return VK_FALSE;
  std::lock_guard<std::mutex> lock(g_validation_mutex);
  (error ? g_validation.errors : g_validation.warnings)++;
  if (g_validation.first.empty() && data && data->pMessage) g_validation.first = data->pMessage;
  return VK_FALSE;
}

// volk finds and opens the loader (libvulkan.so.1) once per process.
VkResult load_vulkan() {
  static VkResult result = volkInitialize();
  return result;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

const char* type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

bool has_extension(const std::vector<VkExtensionProperties>& exts, const char* name) {
  for (const auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

Status no_device(const std::string& why) { return {Code::kUnsupported, "no Vulkan device found: " + why}; }

// An instance with no layers: enough to list the devices.
Result<VkInstance> make_instance(bool validation) {
  if (load_vulkan() != VK_SUCCESS) return no_device("the Vulkan loader (libvulkan.so.1) is not installed");
  const uint32_t loader_version = volkGetInstanceVersion();
  if (loader_version < VK_API_VERSION_1_1) return no_device("the Vulkan loader is older than Vulkan 1.1");
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "eidetic";
  app.pEngineName = "eidetic";
  app.apiVersion = std::min<uint32_t>(loader_version, VK_API_VERSION_1_3);

  std::vector<const char*> layers, extensions;
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  // Synchronization validation too: a missing barrier between two dispatches
  // would give right answers on a CPU driver and wrong ones on a GPU.
  const VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = enables;
  if (validation) {
    uint32_t n = 0;
    vkEnumerateInstanceLayerProperties(&n, nullptr);
    std::vector<VkLayerProperties> available(n);
    vkEnumerateInstanceLayerProperties(&n, available.data());
    const bool found = std::any_of(available.begin(), available.end(), [](const VkLayerProperties& l) {
      return std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0;
    });
    if (!found)
      return Status(Code::kBackendError,
                    "Vulkan validation was asked for but VK_LAYER_KHRONOS_validation is not installed "
                    "(Debian: vulkan-validationlayers)");
    layers.push_back("VK_LAYER_KHRONOS_validation");
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
  }
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pNext = validation ? &features : nullptr;
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = uint32_t(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = uint32_t(extensions.size());
  ci.ppEnabledExtensionNames = extensions.data();
  VkInstance instance = VK_NULL_HANDLE;
  const VkResult r = vkCreateInstance(&ci, nullptr, &instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER) return no_device("no Vulkan driver is installed");
  if (r != VK_SUCCESS) return vk_error("vkCreateInstance", r);
  // Device-level functions too, through the loader's dispatching entry points
  // (not volkLoadDevice's direct ones): volk's function pointers are process-
  // wide, and several contexts on different devices may be alive at once.
  volkLoadInstance(instance);
  return instance;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
  uint32_t n = 0;
  vkEnumeratePhysicalDevices(instance, &n, nullptr);
  std::vector<VkPhysicalDevice> devices(n);
  if (n) vkEnumeratePhysicalDevices(instance, &n, devices.data());
  devices.resize(n);
  return devices;
}

std::string describe(VkPhysicalDevice d, size_t index) {
  VkPhysicalDeviceProperties p;
  vkGetPhysicalDeviceProperties(d, &p);
  return std::to_string(index) + ": " + p.deviceName + " [" + type_name(p.deviceType) + ", Vulkan " +
         std::to_string(VK_API_VERSION_MAJOR(p.apiVersion)) + "." + std::to_string(VK_API_VERSION_MINOR(p.apiVersion)) +
         "]";
}

}  // namespace

ValidationCounts validation_counts() {
  std::lock_guard<std::mutex> lock(g_validation_mutex);
  return g_validation;
}

void reset_validation_counts() {
  std::lock_guard<std::mutex> lock(g_validation_mutex);
  g_validation = ValidationCounts();
}

Status vk_error(const char* what, VkResult r) {
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
    return {Code::kOutOfMemory, std::string("Vulkan: out of ") +
                                    (r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? "device" : "host") + " memory in " + what};
  return {Code::kBackendError, std::string("Vulkan: ") + what + " failed (VkResult " + std::to_string(int(r)) + ")"};
}

Result<std::vector<std::string>> list_devices() {
  EID_ASSIGN_OR_RETURN(VkInstance instance, make_instance(false));
  std::vector<std::string> out;
  const auto devices = physical_devices(instance);
  for (size_t i = 0; i < devices.size(); ++i) out.push_back(describe(devices[i], i));
  vkDestroyInstance(instance, nullptr);
  return out;
}

Result<std::unique_ptr<Context>> Context::create(int device, bool validation) {
  std::unique_ptr<Context> c(new Context());
  EID_TRY(c->init(device, validation || env_flag("EIDETIC_VULKAN_VALIDATION")));
  return c;
}

Status Context::init(int device, bool validation) {
  EID_ASSIGN_OR_RETURN(instance_, make_instance(validation));
  if (validation) {
    VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mi.messageSeverity =
        VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mi.pfnUserCallback = on_debug_message;
    EID_VK(vkCreateDebugUtilsMessengerEXT(instance_, &mi, nullptr, &messenger_));
  }
  const auto devices = physical_devices(instance_);
  if (devices.empty()) return no_device("the Vulkan loader found no driver with a device");
  if (device < 0 || size_t(device) >= devices.size()) {
    std::string list;
    for (size_t i = 0; i < devices.size(); ++i) list += (i ? "; " : "") + describe(devices[i], i);
    return invalid_argument("Vulkan device " + std::to_string(device) + " does not exist (devices: " + list + ")");
  }
  physical_ = devices[size_t(device)];

  EID_TRY(read_properties());
  const std::vector<const char*> extensions = read_features();
  if (info_.max_storage_buffers_per_stage < 8)
    return unsupported("Vulkan device \"" + info_.name + "\" allows fewer than 8 storage buffers per shader");
  return create_device(extensions);
}

// Properties and limits.
Status Context::read_properties() {
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties maint3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  subgroup.pNext = &maint3;
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &subgroup;
  vkGetPhysicalDeviceProperties2(physical_, &props);
  const VkPhysicalDeviceLimits& lim = props.properties.limits;
  info_.name = props.properties.deviceName;
  info_.api_version = props.properties.apiVersion;
  info_.vendor_id = props.properties.vendorID;
  info_.discrete = props.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  if (info_.api_version < VK_API_VERSION_1_1)
    return unsupported("Vulkan device \"" + info_.name + "\" supports only Vulkan 1.0 (1.1 is needed)");
  info_.subgroup_size = std::max<uint32_t>(1, subgroup.subgroupSize);
  info_.subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                              (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
                              (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT);
  // EIDETIC_VULKAN_NO_SUBGROUP=1: the kernels' shared-memory forms (tests).
  if (env_flag("EIDETIC_VULKAN_NO_SUBGROUP")) info_.subgroup_arithmetic = false;
  info_.max_storage_buffer_range = lim.maxStorageBufferRange;
  // EIDETIC_VULKAN_MAX_BINDING=bytes pretends the device allows less, so that
  // tests on small models exercise the paths that split large tensors.
  if (const char* cap = std::getenv("EIDETIC_VULKAN_MAX_BINDING")) {
    const uint64_t v = std::strtoull(cap, nullptr, 10);
    if (v >= 1024) info_.max_storage_buffer_range = std::min<uint64_t>(info_.max_storage_buffer_range, v / 16 * 16);
  }
  info_.min_storage_offset_alignment = std::max<uint64_t>(4, lim.minStorageBufferOffsetAlignment);
  info_.max_allocation_size = maint3.maxMemoryAllocationSize;
  info_.max_push_constants = lim.maxPushConstantsSize;
  info_.max_storage_buffers_per_stage = lim.maxPerStageDescriptorStorageBuffers;
  info_.max_workgroup_invocations = lim.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) info_.max_workgroup_count[i] = lim.maxComputeWorkGroupCount[i];
  info_.max_shared_memory = lim.maxComputeSharedMemorySize;
  vkGetPhysicalDeviceMemoryProperties(physical_, &memory_);
  info_.timestamp_period_ns = lim.timestampPeriod;  // create_device zeroes it if the queue writes none
  return Status::ok();
}

// Features: query what exists, enable none we do not use. The kernels read
// f16 and int8 data through 32-bit words, so they run without the 8/16-bit
// storage features; those are recorded for the kernels that may use them.
// Returns the device extensions that the chosen kernels need.
std::vector<const char*> Context::read_features() {
  uint32_t n_ext = 0;
  vkEnumerateDeviceExtensionProperties(physical_, nullptr, &n_ext, nullptr);
  std::vector<VkExtensionProperties> exts(n_ext);
  vkEnumerateDeviceExtensionProperties(physical_, nullptr, &n_ext, exts.data());
  const bool v12 = info_.api_version >= VK_API_VERSION_1_2;
  VkPhysicalDevice16BitStorageFeatures f16s{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderFloat16Int8Features f16i8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDevice8BitStorageFeatures s8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &f16s;
  if (v12 || has_extension(exts, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME)) f16s.pNext = &f16i8;
  if (v12 || has_extension(exts, VK_KHR_8BIT_STORAGE_EXTENSION_NAME)) f16i8.pNext = &s8;
  VkPhysicalDeviceVulkanMemoryModelFeatures memory_model{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES};
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  const char* coop_env = std::getenv("EIDETIC_VULKAN_COOPMAT");
  // Off unless asked for: on an H200 this first tensor-core kernel measured
  // slower than the f32 tiled one (README, "GPU (Vulkan)").
  const bool want_coop = v12 && has_extension(exts, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) && coop_env &&
                         std::strcmp(coop_env, "1") == 0;
  if (want_coop) s8.pNext = &memory_model, memory_model.pNext = &coop;
  // Vulkan 1.3 as the instance and the device both speak it, or the extension.
  const bool v13 = std::min(info_.api_version, volkGetInstanceVersion()) >= VK_API_VERSION_1_3;
  const bool int_dot_ext = !v13 && has_extension(exts, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  VkPhysicalDeviceShaderIntegerDotProductFeatures int_dot{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  if (v13 || int_dot_ext) int_dot.pNext = features.pNext, features.pNext = &int_dot;
  vkGetPhysicalDeviceFeatures2(physical_, &features);
  if (int_dot.shaderIntegerDotProduct) {
    VkPhysicalDeviceShaderIntegerDotProductProperties dot_props{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES};
    VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    p2.pNext = &dot_props;
    vkGetPhysicalDeviceProperties2(physical_, &p2);
    const char* force = std::getenv("EIDETIC_VULKAN_INT_DOT");
    info_.int_dot = force && *force ? std::strcmp(force, "0") != 0
                                    : dot_props.integerDotProduct4x8BitPackedSignedAccelerated == VK_TRUE;
  }
  info_.storage_16bit = f16s.storageBuffer16BitAccess;
  info_.float16 = f16i8.shaderFloat16;
  info_.int8 = f16i8.shaderInt8;
  info_.storage_8bit = s8.storageBuffer8BitAccess;
  if (want_coop && coop.cooperativeMatrix && memory_model.vulkanMemoryModel && info_.float16 &&
      info_.subgroup_size == 32) {
    uint32_t n_props = 0;
    vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(physical_, &n_props, nullptr);
    std::vector<VkCooperativeMatrixPropertiesNV> cps(n_props, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
    vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(physical_, &n_props, cps.data());
    for (const auto& cp : cps)
      if (cp.MSize == 16 && cp.NSize == 16 && cp.KSize == 16 && cp.AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
          cp.BType == VK_COMPONENT_TYPE_FLOAT16_NV && cp.CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
          cp.DType == VK_COMPONENT_TYPE_FLOAT32_NV && cp.scope == VK_SCOPE_SUBGROUP_NV)
        info_.coopmat = true;
  }
  std::vector<const char*> enable;
  if (info_.coopmat) enable.push_back(VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
  if (info_.int_dot && int_dot_ext) enable.push_back(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  return enable;
}

// A compute queue, the device with the features the chosen kernels need, a command pool and a fence.
Status Context::create_device(const std::vector<const char*>& extensions) {
  uint32_t n_fam = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical_, &n_fam, nullptr);
  std::vector<VkQueueFamilyProperties> fams(n_fam);
  vkGetPhysicalDeviceQueueFamilyProperties(physical_, &n_fam, fams.data());
  bool found = false;
  for (uint32_t i = 0; i < n_fam && !found; ++i)
    if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) queue_family_ = i, found = true;
  if (!found) return unsupported("Vulkan device \"" + info_.name + "\" has no compute queue");
  if (fams[queue_family_].timestampValidBits == 0) info_.timestamp_period_ns = 0;
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = queue_family_;
  qi.queueCount = 1;
  qi.pQueuePriorities = &priority;
  VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  di.queueCreateInfoCount = 1;
  di.pQueueCreateInfos = &qi;
  // Features are enabled only for the kernels that need them.
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop_on{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  VkPhysicalDeviceVulkanMemoryModelFeatures memory_model_on{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES};
  VkPhysicalDeviceShaderFloat16Int8Features f16_on{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDeviceShaderIntegerDotProductFeatures int_dot_on{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  if (info_.coopmat) {
    coop_on.cooperativeMatrix = VK_TRUE;
    memory_model_on.vulkanMemoryModel = VK_TRUE;
    f16_on.shaderFloat16 = VK_TRUE;
    coop_on.pNext = &memory_model_on;
    memory_model_on.pNext = &f16_on;
    di.pNext = &coop_on;
  }
  if (info_.int_dot) {
    int_dot_on.shaderIntegerDotProduct = VK_TRUE;
    int_dot_on.pNext = const_cast<void*>(di.pNext);
    di.pNext = &int_dot_on;
  }
  di.enabledExtensionCount = uint32_t(extensions.size());
  di.ppEnabledExtensionNames = extensions.data();
  EID_VK(vkCreateDevice(physical_, &di, nullptr, &device_));
  vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

  VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = queue_family_;
  EID_VK(vkCreateCommandPool(device_, &pi, nullptr, &pool_));
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  EID_VK(vkCreateFence(device_, &fi, nullptr, &fence_));
  return Status::ok();
}

Context::~Context() {
  if (device_) {
    vkDeviceWaitIdle(device_);
    if (fence_) vkDestroyFence(device_, fence_, nullptr);
    if (pool_) vkDestroyCommandPool(device_, pool_, nullptr);
    vkDestroyDevice(device_, nullptr);
  }
  if (messenger_) vkDestroyDebugUtilsMessengerEXT(instance_, messenger_, nullptr);
  if (instance_) vkDestroyInstance(instance_, nullptr);
}

int Context::memory_type(uint32_t type_bits, VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred) const {
  int fallback = -1;
  for (uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const VkMemoryPropertyFlags f = memory_.memoryTypes[i].propertyFlags;
    if ((f & required) != required) continue;
    if ((f & preferred) == preferred) return int(i);
    if (fallback < 0) fallback = int(i);
  }
  return fallback;
}

Result<VkCommandBuffer> Context::begin_once() {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  EID_VK(vkAllocateCommandBuffers(device_, &ai, &cmd));
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  const VkResult r = vkBeginCommandBuffer(cmd, &bi);
  if (r != VK_SUCCESS) {
    vkFreeCommandBuffers(device_, pool_, 1, &cmd);
    return vk_error("vkBeginCommandBuffer", r);
  }
  return cmd;
}

Status Context::end_once(VkCommandBuffer cmd) {
  VkResult r = vkEndCommandBuffer(cmd);
  Status s = r == VK_SUCCESS ? submit_wait(cmd) : vk_error("vkEndCommandBuffer", r);
  vkFreeCommandBuffers(device_, pool_, 1, &cmd);
  return s;
}

Status Context::submit_wait(VkCommandBuffer cmd) {
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  EID_VK(vkQueueSubmit(queue_, 1, &si, fence_));
  const VkResult r = vkWaitForFences(device_, 1, &fence_, VK_TRUE, UINT64_MAX);
  vkResetFences(device_, 1, &fence_);
  if (r != VK_SUCCESS) return vk_error("vkWaitForFences", r);
  return Status::ok();
}

}  // namespace eidetic::vk
