// eidetic-inspect: what is inside a model file — architecture, blocks, tensor
// table, tokenizer, and the bytes of recurrent state one session needs.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "runtime/src/model/dtype.h"
#include "runtime/src/model/model_file.h"
#include "runtime/src/model/state_layout.h"

using namespace eidetic;

namespace {

std::string shape_string(const flatbuffers::Vector<uint64_t>& s) {
  std::string out = "[";
  for (unsigned i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s.Get(i));
  return out + "]";
}

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f MiB", double(bytes) / (1 << 20));
  return buf;
}

void print_summary(const ModelFile& f) {
  const fb::Model& m = f.model();
  const fb::Metadata& md = *m.metadata();
  uint64_t weight_bytes = 0;
  for (const fb::Tensor* t : *m.tensors()) weight_bytes += t->size() + (t->quant() ? t->quant()->scale_size() : 0);
  const StateLayout layout = compute_state_layout(m);
  std::printf("file          %s (%s)\n", f.path().c_str(), mib(f.file_size()).c_str());
  std::printf("format        version %u, %s\n", f.header().format_version,
              md.converter_version() ? md.converter_version()->c_str() : "?");
  std::printf("architecture  %s\n", md.architecture() ? md.architecture()->c_str() : "?");
  std::printf("fingerprint   %016llx\n", static_cast<unsigned long long>(md.fingerprint()));
  std::printf("hidden size   %u\nvocabulary    %u\n", m.hidden_size(), m.vocab_size());
  std::printf("blocks        %u\ntensors       %u (%s)\n", m.blocks()->size(), m.tensors()->size(),
              mib(weight_bytes).c_str());
  std::printf("session state %llu bytes (constant for any sequence length)\n",
              static_cast<unsigned long long>(layout.bytes()));
  if (const fb::Tokenizer* t = m.tokenizer()) {
    std::printf("tokenizer     %s, %u tokens, %u merges, %u added, split %s, bos %d, eos %d\n",
                fb::EnumNameTokenizerKind(t->kind()), t->vocab()->size(), t->merge_left() ? t->merge_left()->size() : 0,
                t->added() ? t->added()->size() : 0, fb::EnumNameSplitPattern(t->split()), t->bos_id(), t->eos_id());
  } else {
    std::printf("tokenizer     none\n");
  }
}

void print_blocks(const ModelFile& f) {
  const StateLayout layout = compute_state_layout(f.model());
  std::printf("\n%-4s %-14s %-12s %s\n", "#", "name", "kind", "state");
  const auto& blocks = *f.model().blocks();
  for (unsigned i = 0; i < blocks.size(); ++i) {
    const fb::Block& b = *blocks.Get(i);
    std::string state;
    if (const BlockState* s = layout.for_block(int(i)))
      for (const auto& t : s->tensors) state += t.name + " " + std::to_string(t.count() * 4) + " B  ";
    std::printf("%-4u %-14s %-12s %s\n", i, b.name() ? b.name()->c_str() : "", fb::EnumNameBlockOp(b.op_type()),
                state.c_str());
  }
}

void print_tensors(const ModelFile& f) {
  std::printf("\n%-4s %-48s %-5s %-16s %12s %12s\n", "#", "tensor", "dtype", "shape", "offset", "bytes");
  const auto& tensors = *f.model().tensors();
  for (unsigned i = 0; i < tensors.size(); ++i) {
    const fb::Tensor& t = *tensors.Get(i);
    std::printf("%-4u %-48s %-5s %-16s %12llu %12llu\n", i, t.name()->c_str(), dtype_name(t.dtype()),
                shape_string(*t.shape()).c_str(), static_cast<unsigned long long>(t.offset()),
                static_cast<unsigned long long>(t.size()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Show what an Eidetic model file holds: architecture, blocks, tensors, tokenizer and the size of\n"
      "the recurrent state of one session. The file is fully verified first."};
  std::string path;
  bool summary = false;
  app.add_option("model", path, "model file (.eid)")->required();
  app.add_flag("--summary", summary, "only the summary, no block and tensor tables");
  CLI11_PARSE(app, argc, argv);

  auto file = ModelFile::open(path);
  if (!file) {
    std::fprintf(stderr, "eidetic-inspect: error: %s\n", file.status().message().c_str());
    return 1;
  }
  print_summary(**file);
  if (!summary) {
    print_blocks(**file);
    print_tensors(**file);
  }
  return 0;
}
