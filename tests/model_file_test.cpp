// The model file: conversion round trips bit for bit, and the loader rejects
// every damaged or hostile file with an error instead of reading out of bounds.
#include "runtime/src/model/model_file.h"

#include <cmath>
#include <cstring>

#include "runtime/src/core/half.h"
#include "tests/test_util.h"

using namespace eidetic;

namespace {

const char* kArchs[] = {"mamba", "mamba_untied", "falcon_mamba", "mamba2"};

// Every tensor in the file against its source in the checkpoint.
void check_round_trip(const std::string& arch, fb::DType dtype) {
  auto file = ModelFile::open(test::converted(arch, dtype));
  REQUIRE_MESSAGE(file.is_ok(), file.status().message());
  auto src = convert::Checkpoint::open_dir(test::fixture_dir(arch));
  REQUIRE(src.is_ok());
  const auto& tensors = *(*file)->model().tensors();
  size_t compared = 0;
  for (unsigned i = 0; i < tensors.size(); ++i) {
    const fb::Tensor& t = *tensors.Get(i);
    CAPTURE(t.name()->str());
    auto ref = src->get(t.name()->str());
    REQUIRE(ref.is_ok());
    const size_t n = (*ref)->numel();
    if (t.dtype() == fb::DType::F32) {
      // Bit for bit, in the same element order.
      REQUIRE(t.size() == n * 4);
      CHECK(std::memcmp((*file)->tensor_data(int(i)), (*ref)->data, n * 4) == 0);
    } else {
      REQUIRE(t.dtype() == fb::DType::F16);
      REQUIRE(t.size() == n * 2);
      const auto* half = reinterpret_cast<const uint16_t*>((*file)->tensor_data(int(i)));
      for (size_t k = 0; k < n; ++k) {
        float want;
        std::memcpy(&want, (*ref)->data + 4 * k, 4);
        // Round to nearest f16: off by at most half an f16 ulp (2^-11 relative,
        // 2^-25 absolute below f16's normal range).
        const float got = f16_to_f32(half[k]);
        REQUIRE(std::fabs(got - want) <= std::max(std::fabs(want) * 0x1p-11f, 0x1p-25f));
      }
    }
    ++compared;
  }
  // Every source tensor made it in (the tied LM head is the embedding itself).
  CHECK(compared == src->tensors().size());
}

std::vector<uint8_t> valid_image(const std::string& arch = "mamba2", fb::DType dtype = fb::DType::F32) {
  return test::read_file(test::converted(arch, dtype));
}

Status load(const std::vector<uint8_t>& bytes) { return ModelFile::from_bytes(bytes.data(), bytes.size()).status(); }

// After mutating the flatbuffer in place, re-seal the header so that the
// damage is judged by the structural checks, not by the checksum.
void reseal(std::vector<uint8_t>& bytes) {
  FileHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  seal_header(&h, bytes.data() + h.flatbuffer_offset);
  std::memcpy(bytes.data(), &h, sizeof h);
}

fb::Model* mutable_model(std::vector<uint8_t>& bytes) {
  FileHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  return fb::GetMutableModel(bytes.data() + h.flatbuffer_offset);
}

}  // namespace

TEST_CASE("converted f32 tensors equal the safetensors source bit for bit") {
  for (const char* arch : kArchs) {
    CAPTURE(arch);
    check_round_trip(arch, fb::DType::F32);
  }
}

TEST_CASE("converted f16 tensors are the source rounded to f16") {
  for (const char* arch : kArchs) {
    CAPTURE(arch);
    check_round_trip(arch, fb::DType::F16);
  }
}

TEST_CASE("a valid file loads, in memory and from disk") {
  CHECK(load(valid_image()).is_ok());
  CHECK(ModelFile::open(test::converted("mamba")).is_ok());
}

TEST_CASE("truncation at any offset is rejected") {
  const auto bytes = valid_image();
  std::vector<size_t> cuts;
  for (size_t i = 0; i < 4200; ++i) cuts.push_back(i);  // header, flatbuffer, padding
  for (size_t i = 4200; i < bytes.size(); i += 997) cuts.push_back(i);
  cuts.push_back(bytes.size() - 1);
  for (size_t cut : cuts) {
    CAPTURE(cut);
    std::vector<uint8_t> t(bytes.begin(), bytes.begin() + long(cut));
    CHECK_FALSE(load(t).is_ok());
  }
}

TEST_CASE("a flipped byte anywhere before the weights is rejected") {
  const auto bytes = valid_image("mamba");
  FileHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  for (size_t pos = 0; pos < h.data_offset; ++pos) {
    auto t = bytes;
    t[pos] ^= 0x5a;
    const Status s = load(t);
    CAPTURE(pos);
    CHECK_FALSE(s.is_ok());
  }
}

TEST_CASE("errors say what is wrong") {
  auto bytes = valid_image();
  SUBCASE("not a model file") {
    std::memcpy(bytes.data(), "GGUF\0\0\0\0", 8);
    CHECK(load(bytes).message().find("not an Eidetic model file") != std::string::npos);
  }
  SUBCASE("wrong flatbuffer identifier") {
    FileHeader h;
    std::memcpy(&h, bytes.data(), sizeof h);
    std::memcpy(bytes.data() + h.flatbuffer_offset + 4, "XXXX", 4);
    reseal(bytes);
    CHECK(load(bytes).message().find("identifier") != std::string::npos);
  }
  SUBCASE("extra bytes at the end") {
    bytes.push_back(0);
    CHECK(load(bytes).message().find("truncated or padded") != std::string::npos);
  }
  SUBCASE("missing file") {
    auto r = ModelFile::open("/nonexistent/model.eid");
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::kIoError);
    CHECK(r.status().message().find("/nonexistent/model.eid") != std::string::npos);
  }
}

TEST_CASE("hostile tensor tables are rejected") {
  auto bytes = valid_image();
  fb::Model* m = mutable_model(bytes);
  auto* tensors = m->mutable_tensors();
  // The last tensor lies at a non-zero offset, so its offset field is stored.
  fb::Tensor* last = tensors->GetMutableObject(tensors->size() - 1);
  const fb::Tensor* first_big = nullptr;  // a stored tensor that is not `last`
  const fb::Tensor* matrix = nullptr;     // a non-square matrix
  for (const fb::Tensor* t : *m->tensors()) {
    if (!first_big && t->offset() > 0 && t->size() >= 256) first_big = t;
    if (!matrix && t->shape()->size() == 2 && t->shape()->Get(0) != t->shape()->Get(1)) matrix = t;
  }
  REQUIRE(first_big != nullptr);
  REQUIRE(matrix != nullptr);
  REQUIRE(first_big != last);

  SUBCASE("offset past the end") {
    REQUIRE(last->mutate_offset(uint64_t(1) << 40));
    reseal(bytes);
    CHECK(load(bytes).message().find("past the end") != std::string::npos);
  }
  SUBCASE("offset overflowing 64 bits") {
    REQUIRE(last->mutate_offset(~uint64_t(0) - 63));
    reseal(bytes);
    CHECK_FALSE(load(bytes).is_ok());
  }
  SUBCASE("overlapping tensors") {
    REQUIRE(last->mutate_offset(first_big->offset()));
    reseal(bytes);
    CHECK(load(bytes).message().find("overlap") != std::string::npos);
  }
  SUBCASE("misaligned offset") {
    REQUIRE(last->mutate_offset(last->offset() + 4));
    reseal(bytes);
    CHECK(load(bytes).message().find("aligned") != std::string::npos);
  }
  SUBCASE("size that does not match shape and dtype") {
    REQUIRE(last->mutate_size(last->size() - 4));
    reseal(bytes);
    CHECK(load(bytes).message().find("need") != std::string::npos);
  }
  SUBCASE("shape that does not fit the block") {
    // Keep size consistent by swapping the two dims of a matrix: shape × dtype
    // still matches, but the block expects the other orientation.
    auto* shape = const_cast<fb::Tensor*>(matrix)->mutable_shape();
    const uint64_t a = shape->Get(0), b = shape->Get(1);
    shape->Mutate(0, b);
    shape->Mutate(1, a);
    reseal(bytes);
    CHECK(load(bytes).message().find("expected") != std::string::npos);
  }
}

TEST_CASE("unknown dtype and unknown block kind are rejected by name") {
  SUBCASE("dtype") {
    auto bytes = valid_image("mamba2", fb::DType::F16);
    fb::Model* m = mutable_model(bytes);
    bool mutated = false;
    for (unsigned i = 0; i < m->tensors()->size() && !mutated; ++i)
      mutated = m->mutable_tensors()->GetMutableObject(i)->mutate_dtype(fb::DType(77));
    REQUIRE(mutated);
    reseal(bytes);
    CHECK(load(bytes).message().find("unknown dtype 77") != std::string::npos);
  }
  SUBCASE("block kind") {
    auto bytes = valid_image();
    fb::Model* m = mutable_model(bytes);
    // The generated API has no mutator for a union's type: write the field directly.
    auto* table = reinterpret_cast<flatbuffers::Table*>(m->mutable_blocks()->GetMutableObject(1));
    REQUIRE(table->SetField<uint8_t>(fb::Block::VT_OP_TYPE, 200, 0));
    reseal(bytes);
    const Status s = load(bytes);
    CHECK(s.message().find("unknown block kind 200") != std::string::npos);
  }
  SUBCASE("tensor index past the table") {
    auto bytes = valid_image();
    fb::Model* m = mutable_model(bytes);
    auto* mixer = static_cast<fb::Mamba2Mixer*>(m->mutable_blocks()->GetMutableObject(1)->mutable_op());
    REQUIRE(mixer->mutate_in_proj(100000));
    reseal(bytes);
    CHECK(load(bytes).message().find("past the table") != std::string::npos);
  }
}

// ------------------------------------------------------------ quantized files

TEST_CASE("q8 and q4 files load, with every matrix quantized and the small parameters f32") {
  for (const std::string arch : kArchs) {
    for (fb::DType type : {fb::DType::Q8, fb::DType::Q4}) {
      const std::string type_name = fb::EnumNameDType(type);
      CAPTURE(arch);
      CAPTURE(type_name);
      auto file = ModelFile::open(test::converted(arch, type));
      REQUIRE_MESSAGE(file.is_ok(), file.status().message());
      CHECK(load(valid_image(arch, type)).is_ok());
      size_t quantized = 0;
      for (const fb::Tensor* t : *(*file)->model().tensors()) {
        CAPTURE(t->name()->str());
        const std::string name = t->name()->str();
        const bool matrix = name.find("proj.weight") != std::string::npos ||
                            name.find("embeddings") != std::string::npos || name.find("lm_head") != std::string::npos;
        // --quant q4 keeps the embedding and LM head in q8.
        const bool vocab = name.find("embeddings") != std::string::npos || name.find("lm_head") != std::string::npos;
        const fb::DType want = vocab && type == fb::DType::Q4 ? fb::DType::Q8 : type;
        CHECK(t->dtype() == (matrix ? want : fb::DType::F32));
        CHECK((t->quant() != nullptr) == matrix);
        quantized += matrix;
      }
      CHECK(quantized >= 5);
    }
  }
}

TEST_CASE("inconsistent quantization parameters are rejected") {
  // Mamba-1 in q4: dt_proj is [128, 4], one group of 32 of which 28 are padding.
  auto bytes = valid_image("mamba", fb::DType::Q4);
  fb::Model* m = mutable_model(bytes);
  auto* tensors = m->mutable_tensors();
  fb::Tensor* dt = nullptr;
  fb::Tensor* in = nullptr;
  const fb::Tensor* other = nullptr;
  for (unsigned i = 0; i < tensors->size(); ++i) {
    fb::Tensor* t = tensors->GetMutableObject(i);
    const std::string name = t->name()->str();
    if (name == "backbone.layers.0.mixer.dt_proj.weight") dt = t;
    if (name == "backbone.layers.0.mixer.in_proj.weight") in = t;
    if (name == "backbone.layers.1.mixer.out_proj.weight") other = t;
  }
  REQUIRE(dt);
  REQUIRE(in);
  REQUIRE(other);
  REQUIRE(dt->dtype() == fb::DType::Q4);
  REQUIRE(dt->quant()->padded_cols() == 32);
  REQUIRE(in->quant()->padded_cols() == 64);
  auto* q = dt->mutable_quant();
  auto expect = [&](const char* what) {
    reseal(bytes);
    const Status s = load(bytes);
    CHECK_FALSE(s.is_ok());
    CHECK_MESSAGE(s.message().find(what) != std::string::npos, s.message());
  };

  SUBCASE("group size zero") {
    REQUIRE(q->mutate_group_size(0));
    expect("inconsistent quantization grouping");
  }
  SUBCASE("odd group size") {
    REQUIRE(q->mutate_group_size(31));
    expect("inconsistent quantization grouping");
  }
  SUBCASE("padded columns fewer than the columns") {
    REQUIRE(q->mutate_padded_cols(2));
    expect("inconsistent quantization grouping");
  }
  SUBCASE("a whole group of padding") {
    REQUIRE(q->mutate_padded_cols(64));
    expect("inconsistent quantization grouping");
  }
  SUBCASE("groups that do not match the stored scales") {
    // in_proj [256, 64]: one group of 64 is a consistent grouping, but the file
    // holds two scales per row.
    REQUIRE(in->mutable_quant()->mutate_group_size(64));
    expect("scale size does not match");
  }
  SUBCASE("scale size") {
    REQUIRE(q->mutate_scale_size(q->scale_size() - 2));
    expect("scale size does not match");
  }
  SUBCASE("misaligned scales") {
    REQUIRE(q->mutate_scale_offset(q->scale_offset() + 2));
    expect("scales misaligned");
  }
  SUBCASE("scales past the end") {
    REQUIRE(q->mutate_scale_offset(uint64_t(1) << 40));
    expect("past the end");
  }
  SUBCASE("scales overflowing 64 bits") {
    REQUIRE(q->mutate_scale_offset(~uint64_t(0) - 63));
    CHECK_FALSE((reseal(bytes), load(bytes)).is_ok());
  }
  SUBCASE("scales overlapping another tensor") {
    REQUIRE(q->mutate_scale_offset(other->offset()));
    expect("overlap");
  }
  SUBCASE("payload size") {
    REQUIRE(dt->mutate_size(dt->size() + 64));
    expect("need");
  }
  SUBCASE("q4 relabelled q8: the payload is half the size") {
    REQUIRE(dt->mutate_dtype(fb::DType::Q8));
    expect("need");
  }
  SUBCASE("quantization parameters on a plain tensor") {
    REQUIRE(dt->mutate_dtype(fb::DType::F32));
    expect("quantization parameters on a plain tensor");
  }
  SUBCASE("a quantized tensor without parameters") {
    // F32 is the default dtype, not stored in the buffer: relabel an f16 matrix.
    bytes = valid_image("mamba", fb::DType::F16);
    fb::Model* m16 = mutable_model(bytes);
    bool mutated = false;
    for (unsigned i = 0; i < m16->tensors()->size() && !mutated; ++i)
      mutated = m16->tensors()->Get(i)->dtype() == fb::DType::F16 &&
                m16->mutable_tensors()->GetMutableObject(i)->mutate_dtype(fb::DType::Q8);
    REQUIRE(mutated);
    expect("without quantization parameters");
  }
}
