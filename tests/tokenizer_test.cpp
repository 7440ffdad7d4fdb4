// The tokenizer against Hugging Face `tokenizers`: the recorded cases must
// come out id for id; on top, properties that must hold for any input
// (no crash on arbitrary bytes or ids, round trips, streaming = full decode)
// and the converter's refusals of what the runtime does not reproduce.
#include "runtime/src/tokenizer/tokenizer.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "converter/tokenizer_json.h"
#include "runtime/src/tokenizer/pre_tokenizer.h"
#include "runtime/src/tokenizer/unicode.h"

using eidetic::Tokenizer;
using eidetic::TokenizerData;
using nlohmann::json;

namespace {

const std::string kDir = std::string(EIDETIC_TEST_DATA) + "/tokenizers/";
const char* const kNames[] = {"bytelevel_bpe", "metaspace_bytefallback_bpe"};

Tokenizer load(const std::string& name) {
  auto data = eidetic::convert::parse_tokenizer_json(kDir + name + ".json");
  REQUIRE_MESSAGE(data.is_ok(), data.status().message());
  auto tok = Tokenizer::create(std::move(data).value());
  REQUIRE_MESSAGE(tok.is_ok(), tok.status().message());
  return std::move(tok).value();
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), path);
  return json::parse(in);
}

std::string decode_ok(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip = false) {
  auto r = t.decode(ids, skip);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  return r.value();
}

// Random valid UTF-8 drawn from ASCII, Latin, CJK, emoji, spaces, marks.
std::string random_utf8(std::mt19937& rng, size_t chars) {
  static const uint32_t kRanges[][2] = {{0x20, 0x7E},     {0x09, 0x0D},      {0xA0, 0x2FF},    {0x300, 0x36F},
                                        {0x370, 0x52F},   {0x2000, 0x206F},  {0x3000, 0x30FF}, {0x4E00, 0x9FFF},
                                        {0xAC00, 0xD7A3}, {0x1F300, 0x1FAFF}};
  std::string s;
  for (size_t i = 0; i < chars; ++i) {
    const uint32_t pick = rng() % 2 ? 2 : 10;  // half the time ASCII only
    const auto& r = kRanges[rng() % pick];
    eidetic::unicode::append_utf8(s, r[0] + rng() % (r[1] - r[0] + 1));
  }
  return s;
}

std::string random_bytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() % 4 == 0 ? 0x80 + rng() % 0x80 : rng() % 0x100);
  return s;
}

// Streams ids one by one; checks every piece is whole UTF-8 characters.
std::string stream_decode(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip = false) {
  eidetic::StreamDecoder d = t.stream_decoder(skip);
  std::string all;
  for (int32_t id : ids) {
    auto piece = d.push(id);
    REQUIRE(piece.is_ok());
    CHECK(eidetic::unicode::is_valid_utf8(piece.value()));
    all += piece.value();
  }
  const std::string tail = d.flush();
  CHECK(eidetic::unicode::is_valid_utf8(tail));
  return all + tail;
}

std::vector<std::string> split(eidetic::SplitPattern p, const std::string& text) {
  std::vector<std::string_view> views;
  eidetic::pre_tokenize(p, text, views);
  return {views.begin(), views.end()};
}

std::string write_temp(const std::string& name, const json& j) {
  const std::string path = "/tmp/eidetic_tokenizer_test_" + name + ".json";
  std::ofstream(path) << j.dump();
  return path;
}

}  // namespace

TEST_CASE("HF reference cases: ids and decoded text") {
  const json cases = read_json(kDir + "tokenizer_cases.json");
  for (const char* name : kNames) {
    const Tokenizer t = load(name);
    for (const json& c : cases[name]) {
      const std::string text = c["text"];
      const auto want = c["ids"].get<std::vector<int32_t>>();
      CAPTURE(name);
      CAPTURE(text);
      CHECK(t.encode(text) == want);
      CHECK(decode_ok(t, want) == c["decoded"].get<std::string>());
      CHECK(stream_decode(t, want) == c["decoded"].get<std::string>());
    }
  }
}

// Made by gen_extra_cases.py: each configuration is a fixture tokenizer with
// a JSON merge patch (other regexes, NFC, Metaspace pre-tokenizer, unk,
// added tokens with lstrip / rstrip / single_word / normalized ...).
TEST_CASE("extra HF reference cases (other configurations)") {
  const json extra = read_json(kDir + "tokenizer_cases_extra.json");
  for (const auto& [config, body] : extra.items()) {
    if (config[0] == '_') continue;  // generator info
    json spec = read_json(kDir + body["base"].get<std::string>() + ".json");
    spec.merge_patch(body["patch"]);
    auto data = eidetic::convert::parse_tokenizer_json(write_temp("extra_" + config, spec));
    CAPTURE(config);
    REQUIRE_MESSAGE(data.is_ok(), data.status().message());
    auto tok = Tokenizer::create(std::move(data).value());
    REQUIRE(tok.is_ok());
    for (const json& c : body["cases"]) {
      const std::string text = c["text"];
      CAPTURE(text);
      const auto want = c["ids"].get<std::vector<int32_t>>();
      CHECK(tok->encode(text) == want);
      if (c.contains("ids_plain"))
        CHECK(tok->encode(text, /*parse_special=*/false) == c["ids_plain"].get<std::vector<int32_t>>());
      CHECK(decode_ok(*tok, want) == c["decoded"].get<std::string>());
      CHECK(decode_ok(*tok, want, true) == c["decoded_skip"].get<std::string>());
      CHECK(stream_decode(*tok, want) == c["decoded"].get<std::string>());
      CHECK(stream_decode(*tok, want, true) == c["decoded_skip"].get<std::string>());
    }
    for (const json& c : body.value("decodes", json::array())) {
      const auto ids = c["ids"].get<std::vector<int32_t>>();
      CAPTURE(c.dump());
      CHECK(decode_ok(*tok, ids) == c["decoded"].get<std::string>());
      CHECK(decode_ok(*tok, ids, true) == c["decoded_skip"].get<std::string>());
      CHECK(stream_decode(*tok, ids) == c["decoded"].get<std::string>());
    }
  }
}

TEST_CASE("special tokens: parsed or treated as text") {
  const Tokenizer t = load("bytelevel_bpe");
  const int32_t eot = t.token_to_id("<|endoftext|>");
  REQUIRE(eot == 0);
  CHECK(t.is_special(eot));
  const auto parsed = t.encode("a<|endoftext|>b", true);
  CHECK(std::count(parsed.begin(), parsed.end(), eot) == 1);
  const auto plain = t.encode("a<|endoftext|>b", false);
  CHECK(std::count(plain.begin(), plain.end(), eot) == 0);
  CHECK(decode_ok(t, plain) == "a<|endoftext|>b");
  CHECK(decode_ok(t, parsed, /*skip=*/true) == "ab");
  CHECK(stream_decode(t, parsed, true) == "ab");
}

TEST_CASE("random bytes never crash and give ids in range") {
  std::mt19937 rng(1234);
  for (const char* name : kNames) {
    const Tokenizer t = load(name);
    for (int i = 0; i < 1500; ++i) {
      const std::string s = random_bytes(rng, rng() % 80);
      const auto ids = t.encode(s, i % 2 == 0);
      for (int32_t id : ids) REQUIRE((id >= 0 && id < t.vocab_size()));
      const std::string back = decode_ok(t, ids);
      CHECK(eidetic::unicode::is_valid_utf8(back));
    }
  }
}

TEST_CASE("random ids: decode, stream = decode, out-of-range is an error") {
  std::mt19937 rng(99);
  for (const char* name : kNames) {
    const Tokenizer t = load(name);
    for (int i = 0; i < 1500; ++i) {
      std::vector<int32_t> ids(rng() % 24);
      for (int32_t& id : ids) id = static_cast<int32_t>(rng() % t.vocab_size());
      const bool skip = i % 3 == 0;
      const std::string full = decode_ok(t, ids, skip);
      CHECK(eidetic::unicode::is_valid_utf8(full));
      CHECK(stream_decode(t, ids, skip) == full);
    }
    for (int32_t bad : {-1, t.vocab_size(), 1 << 30}) {
      CHECK_FALSE(t.decode(std::vector<int32_t>{3, bad}).is_ok());
      CHECK_FALSE(t.token_text(bad).is_ok());
      eidetic::StreamDecoder d = t.stream_decoder();
      CHECK_FALSE(d.push(bad).is_ok());
    }
  }
}

TEST_CASE("decode(encode(s)) == s for random valid UTF-8") {
  std::mt19937 rng(7);
  for (const char* name : kNames) {
    const Tokenizer t = load(name);
    for (int i = 0; i < 1500; ++i) {
      const std::string s = random_utf8(rng, rng() % 40);
      CAPTURE(s);
      const auto ids = t.encode(s);
      CHECK(decode_ok(t, ids) == s);
      CHECK(stream_decode(t, ids) == s);
    }
  }
}

TEST_CASE("streaming holds back a split character") {
  const Tokenizer t = load("bytelevel_bpe");
  const auto ids = t.encode("日");  // three byte tokens in this small vocab
  REQUIRE(ids.size() == 3);
  eidetic::StreamDecoder d = t.stream_decoder();
  CHECK(d.push(ids[0]).value().empty());
  CHECK(d.push(ids[1]).value().empty());
  CHECK(d.push(ids[2]).value() == "日");
  // A character left unfinished comes out as U+FFFD on flush.
  CHECK(d.push(ids[0]).value().empty());
  CHECK(d.flush() == "\xEF\xBF\xBD");
}

TEST_CASE("invalid UTF-8 input is repaired with U+FFFD before tokenizing") {
  for (const char* name : kNames) {
    const Tokenizer t = load(name);
    CHECK(t.encode("a\xFF"
                   "b") == t.encode("a\xEF\xBF\xBD"
                                    "b"));
    // A truncated sequence is one maximal subpart: one U+FFFD.
    CHECK(t.encode("x\xE6\x97") == t.encode("x\xEF\xBF\xBD"));
    CHECK(t.encode("\xC0\xAF") == t.encode("\xEF\xBF\xBD\xEF\xBF\xBD"));
    CHECK(decode_ok(t, t.encode("a\xFF"
                                "b")) ==
          "a\xEF\xBF\xBD"
          "b");
  }
}

TEST_CASE("UTF-8 helpers follow the maximal-subpart rule") {
  using eidetic::unicode::append_lossy;
  std::string out;
  append_lossy(out, "\xF0\x9F\x98");  // truncated 4-byte sequence: one U+FFFD
  CHECK(out == "\xEF\xBF\xBD");
  out.clear();
  append_lossy(out, "\xED\xA0\x80");  // a surrogate: three maximal subparts
  CHECK(out == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(eidetic::unicode::incomplete_tail("ab\xE6\x97") == 2);
  CHECK(eidetic::unicode::incomplete_tail("ab\xE6\x97\xA5") == 0);
  CHECK(eidetic::unicode::incomplete_tail("ab\x97") == 0);
}

TEST_CASE("Unicode classes from the generated table") {
  using namespace eidetic::unicode;
  CHECK(is_letter('a'));
  CHECK(is_letter(0x65E5));  // 日
  CHECK(is_number(0x0663));  // ARABIC-INDIC DIGIT THREE
  CHECK(is_number(0x00BD));  // ½ (No)
  CHECK(is_whitespace(0x3000));
  CHECK(is_whitespace(0x85));
  CHECK_FALSE(is_whitespace(0x200B));  // zero width space is not White_Space
  CHECK(is_word('_'));
  CHECK(is_word(0x0301));  // combining marks are \w
  CHECK_FALSE(is_word('-'));
}

TEST_CASE("NFC") {
  using eidetic::unicode::nfc;
  CHECK(nfc("e\xCC\x81") == "\xC3\xA9");                      // e + U+0301 -> é
  CHECK(nfc("\xE1\x84\x80\xE1\x85\xA1") == "\xEA\xB0\x80");   // ᄀ + ᅡ -> 가
  CHECK(nfc("a\xCC\xA3\xCC\x87") == "\xE1\xBA\xA1\xCC\x87");  // reordering then composing
  CHECK(nfc("\xE2\x84\xAB") == "\xC3\x85");                   // Å (U+212B) is a singleton
  CHECK(nfc("plain ascii") == "plain ascii");
}

TEST_CASE("GPT-2 split pattern") {
  using P = eidetic::SplitPattern;
  CHECK(split(P::kGpt2, "Hello world's  end\n\n") ==
        std::vector<std::string>{"Hello", " world", "'s", " ", " end", "\n\n"});
  CHECK(split(P::kGpt2, "x  \ty 12abc ?!") == std::vector<std::string>{"x", "  ", "\t", "y", " 12", "abc", " ?!"});
  CHECK(split(P::kGpt2, "I'M") == std::vector<std::string>{"I", "'", "M"});
}

TEST_CASE("Llama-3 and Qwen2 split patterns") {
  using P = eidetic::SplitPattern;
  CHECK(split(P::kLlama3, "I'M 1234567 x.Foo\n\n  bar!!\n") ==
        std::vector<std::string>{"I", "'M", " ", "123", "456", "7", " x", ".Foo", "\n\n", " ", " bar", "!!\n"});
  CHECK(split(P::kQwen2, "ab 123") == std::vector<std::string>{"ab", " ", "1", "2", "3"});
  CHECK(split(P::kLlama3, "\tfoo  \n bar") == std::vector<std::string>{"\tfoo", "  \n", " bar"});
}

TEST_CASE("converter: unsupported configurations are errors naming the piece") {
  json base = read_json(kDir + "bytelevel_bpe.json");
  auto expect_error = [](const json& j, const std::string& name, const std::string& piece) {
    const std::string path = write_temp(name, j);
    auto r = eidetic::convert::parse_tokenizer_json(path);
    REQUIRE_FALSE(r.is_ok());
    CAPTURE(r.status().message());
    CHECK(r.status().message().find(path) != std::string::npos);
    CHECK(r.status().message().find(piece) != std::string::npos);
  };
  json j = base;
  j["model"]["type"] = "WordPiece";
  expect_error(j, "wordpiece", "WordPiece");
  j = base;
  j["model"]["type"] = "Unigram";
  expect_error(j, "unigram", "Unigram");
  j = base;
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", "\\w+|[^\\w\\s]+"}}}, {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  expect_error(j, "regex", "\\\\w+|[^\\\\w\\\\s]+");
  j = base;
  j["normalizer"] = {{"type", "Lowercase"}};
  expect_error(j, "lowercase", "Lowercase");
  j = base;
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_error(j, "whitespace", "Whitespace");
  j = base;
  j["decoder"] = nullptr;
  expect_error(j, "nodecoder", "decoder");
  j = base;
  j["model"]["merges"][0] = "Ġ nosuchtoken";
  expect_error(j, "badmerge", "nosuchtoken");
  j = base;
  j["model"]["vocab"]["extra"] = 5000;
  expect_error(j, "sparse", "dense");

  json ms = read_json(kDir + "metaspace_bytefallback_bpe.json");
  j = ms;
  j["decoder"]["decoders"][3]["start"] = 2;
  expect_error(j, "strip2", "Strip");
  j = ms;
  j["pre_tokenizer"] = {
      {"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "first"}, {"split", true}};
  expect_error(j, "mssplit", "split");

  auto missing = eidetic::convert::parse_tokenizer_json("/nonexistent/tokenizer.json");
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().code() == eidetic::Code::kIoError);
}

TEST_CASE("converter: merges as strings or pairs; ids in the data") {
  json j = read_json(kDir + "bytelevel_bpe.json");
  for (json& m : j["model"]["merges"]) {
    if (m.is_array()) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  }
  auto as_strings = eidetic::convert::parse_tokenizer_json(write_temp("merge_strings", j));
  REQUIRE(as_strings.is_ok());
  j["model"].erase("type");  // older files: BPE recognised by its merges
  auto as_pairs = eidetic::convert::parse_tokenizer_json(kDir + "bytelevel_bpe.json");
  REQUIRE(as_pairs.is_ok());
  CHECK(as_strings->merges == as_pairs->merges);
  CHECK(as_pairs->kind == eidetic::TokenizerKind::kByteLevelBpe);
  CHECK(as_pairs->split == eidetic::SplitPattern::kGpt2);
  CHECK(as_pairs->bos_id == -1);
  CHECK(as_pairs->eos_id == -1);
  CHECK(as_pairs->added.size() == 2);

  auto ms = eidetic::convert::parse_tokenizer_json(kDir + "metaspace_bytefallback_bpe.json");
  REQUIRE(ms.is_ok());
  CHECK(ms->kind == eidetic::TokenizerKind::kMetaspaceBpe);
  CHECK(ms->byte_fallback);
  CHECK(ms->fuse_unk);
  CHECK(ms->unk_id == 0);
  CHECK(ms->metaspace_prepend);
  CHECK(ms->metaspace_mode == eidetic::MetaspaceMode::kNormalizer);
}

TEST_CASE("create() rejects inconsistent data") {
  TokenizerData d;
  CHECK_FALSE(Tokenizer::create(d).is_ok());  // empty vocab
  d.vocab = {"a", "b"};
  d.merges = {{0, 1}};  // "ab" is not in the vocab
  CHECK_FALSE(Tokenizer::create(d).is_ok());
  d.vocab.push_back("ab");
  CHECK(Tokenizer::create(d).is_ok());
  d.merges = {{0, 7}};
  CHECK_FALSE(Tokenizer::create(d).is_ok());
  d.merges.clear();
  d.added.push_back({5, "<x>"});
  CHECK_FALSE(Tokenizer::create(d).is_ok());
  d.added = {{2, "not ab"}};
  CHECK_FALSE(Tokenizer::create(d).is_ok());
  d.added.clear();
  d.vocab.push_back("\xFF");
  CHECK_FALSE(Tokenizer::create(d).is_ok());
}

// A plain greedy BPE on strings, to check the fast paths (quadratic loop for
// short words, heap for long ones) against the definition.
TEST_CASE("BPE merges agree with a naive greedy reference on long words") {
  auto data = eidetic::convert::parse_tokenizer_json(kDir + "metaspace_bytefallback_bpe.json");
  REQUIRE(data.is_ok());
  const TokenizerData& d = data.value();
  std::map<std::pair<int32_t, int32_t>, size_t> rank;
  for (size_t r = 0; r < d.merges.size(); ++r) rank[d.merges[r]] = r;
  std::map<std::string, int32_t> id_of;
  for (size_t i = 0; i < d.vocab.size(); ++i) id_of.emplace(d.vocab[i], static_cast<int32_t>(i));
  const Tokenizer t = load("metaspace_bytefallback_bpe");
  std::mt19937 rng(5);
  const std::string alphabet = "etaoinshrdlu    ";
  for (int iter = 0; iter < 300; ++iter) {
    std::string s(1 + rng() % 200, ' ');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    std::vector<int32_t> ids = {id_of.at("\xE2\x96\x81")};
    for (char c : s) ids.push_back(c == ' ' ? id_of.at("\xE2\x96\x81") : id_of.at(std::string(1, c)));
    for (;;) {
      size_t best = ids.size();
      for (size_t i = 0; i + 1 < ids.size(); ++i) {
        auto it = rank.find({ids[i], ids[i + 1]});
        if (it != rank.end() && (best == ids.size() || it->second < rank.at({ids[best], ids[best + 1]}))) best = i;
      }
      if (best == ids.size()) break;
      ids[best] = id_of.at(d.vocab[ids[best]] + d.vocab[ids[best + 1]]);
      ids.erase(ids.begin() + best + 1);
    }
    CAPTURE(s);
    CHECK(t.encode(s) == ids);
  }
}

// Unicode's own conformance file, from the unicode-data package (the same
// package the tables were generated from; scripts/install-deps.sh installs it).
TEST_CASE("NFC conformance (NormalizationTest.txt)") {
  FILE* f = popen("bzip2 -dc /usr/share/unicode/NormalizationTest.txt.bz2 2>/dev/null", "r");
  REQUIRE(f != nullptr);
  auto field = [](const std::string& hex) {
    std::string out;
    std::stringstream ss(hex);
    for (std::string cp; ss >> cp;) eidetic::unicode::append_utf8(out, std::stoul(cp, nullptr, 16));
    return out;
  };
  char buf[4096];
  size_t checked = 0;
  while (std::fgets(buf, sizeof buf, f)) {
    const std::string line(buf);
    if (line.empty() || line[0] == '#' || line[0] == '@') continue;
    std::vector<std::string> c;
    std::stringstream ss(line);
    for (std::string item; c.size() < 5 && std::getline(ss, item, ';');) c.push_back(field(item));
    if (c.size() < 5) continue;
    using eidetic::unicode::nfc;
    CAPTURE(line);
    CHECK(nfc(c[0]) == c[1]);
    CHECK(nfc(c[1]) == c[1]);
    CHECK(nfc(c[2]) == c[1]);
    CHECK(nfc(c[3]) == c[3]);
    CHECK(nfc(c[4]) == c[3]);
    ++checked;
  }
  pclose(f);
  MESSAGE("NormalizationTest lines checked: " << checked);
  CHECK(checked > 10000);
}
