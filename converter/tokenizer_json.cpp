#include "converter/tokenizer_json.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "runtime/src/tokenizer/tokenizer.h"

namespace eidetic::convert {
namespace {

using nlohmann::json;

// The split regexes the runtime implements by hand, spelled as HF writes them.
constexpr const char* kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kMetaspace = "\xE2\x96\x81";  // U+2581

std::string type_of(const json& j) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) return "";
  return j["type"].get<std::string>();
}

// The steps of a component, with nested "Sequence"s flattened.
void flatten(const json& j, const char* list_key, std::vector<const json*>* out) {
  if (j.is_null()) return;
  if (type_of(j) == "Sequence" && j.contains(list_key) && j[list_key].is_array()) {
    for (const json& step : j[list_key]) flatten(step, list_key, out);
    return;
  }
  out->push_back(&j);
}

std::string types(const std::vector<const json*>& steps) {
  std::string s;
  for (const json* j : steps) s += (s.empty() ? "" : ", ") + type_of(*j);
  return "[" + s + "]";
}

// What the normalizer and pre-tokenizer together amount to.
struct TextPipeline {
  bool nfc = false;
  bool replace_spaces = false;    // normalizer Replace(" ", "▁")
  bool prepend = false;           // normalizer Prepend("▁")
  bool byte_level = false;        // ByteLevel pre-tokenizer
  bool metaspace_pretok = false;  // Metaspace pre-tokenizer
  bool metaspace_prepend = false;
  MetaspaceMode metaspace_mode = MetaspaceMode::kNormalizer;
};

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}
  Result<TokenizerData> read(const json& root);

 private:
  Status unsupported_piece(const std::string& what) const {
    return unsupported(path_ + ": " + what + " is not supported");
  }
  Status malformed(const std::string& what) const { return invalid_model(path_ + ": " + what); }

  Result<bool> flag(const json& obj, const char* key, bool fallback, const char* where) const;
  Result<std::string> text(const json& obj, const char* key, const char* where) const;
  Result<std::string> string_pattern(const json& obj, const char* where) const;

  Status read_model(const json& model, TokenizerData* d);
  Status read_vocab(const json& vocab, const json& added, TokenizerData* d);
  Status read_added(const json& added, TokenizerData* d) const;
  Status read_merges(const json& merges, TokenizerData* d) const;
  Status read_normalizer(const json& normalizer, TextPipeline* p) const;
  Status read_pre_tokenizer(const json& pre, TextPipeline* p, TokenizerData* d) const;
  Status read_split(const json& split, TokenizerData* d) const;
  Status read_metaspace(const json& m, TextPipeline* p) const;
  Status read_decoder(const json& decoder, const TextPipeline& p, const TokenizerData& d) const;
  Status read_metaspace_decoder(const std::vector<const json*>& steps, const TextPipeline& p,
                                const TokenizerData& d) const;
  Status settle_kind(const TextPipeline& p, TokenizerData* d) const;

  std::string path_;
  std::unordered_map<std::string, int32_t> model_ids_;  // the model's own vocab
};

Result<bool> Reader::flag(const json& obj, const char* key, bool fallback, const char* where) const {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  if (!obj[key].is_boolean()) return malformed(std::string(where) + "." + key + " is not a boolean");
  return obj[key].get<bool>();
}

Result<std::string> Reader::text(const json& obj, const char* key, const char* where) const {
  if (!obj.contains(key) || !obj[key].is_string())
    return malformed(std::string(where) + "." + key + " is not a string");
  return obj[key].get<std::string>();
}

// {"String": "..."}: a literal pattern; a {"Regex": ...} one is unsupported.
Result<std::string> Reader::string_pattern(const json& obj, const char* where) const {
  if (!obj.contains("pattern") || !obj["pattern"].is_object())
    return malformed(std::string(where) + ".pattern is not an object");
  const json& p = obj["pattern"];
  if (p.contains("String") && p["String"].is_string()) return p["String"].get<std::string>();
  return unsupported_piece(std::string(where) + " with a regex pattern " + p.dump());
}

Status Reader::read_model(const json& model, TokenizerData* d) {
  if (!model.is_object()) return malformed("\"model\" is missing");
  // Older files may omit the type; HF then recognises BPE by its merges.
  const bool untyped_bpe = !model.contains("type") && model.contains("merges");
  const std::string type = type_of(model);
  if (type != "BPE" && !untyped_bpe) return unsupported_piece("model type \"" + type + "\"");
  if (model.contains("dropout") && !model["dropout"].is_null() &&
      !(model["dropout"].is_number() && model["dropout"].get<double>() == 0.0))
    return unsupported_piece("BPE dropout");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && !model[key].is_null() &&
        !(model[key].is_string() && model[key].get<std::string>().empty()))
      return unsupported_piece(std::string("BPE ") + key);
  }
  EID_ASSIGN_OR_RETURN(d->byte_fallback, flag(model, "byte_fallback", false, "model"));
  EID_ASSIGN_OR_RETURN(d->fuse_unk, flag(model, "fuse_unk", false, "model"));
  EID_ASSIGN_OR_RETURN(d->ignore_merges, flag(model, "ignore_merges", false, "model"));
  return Status::ok();
}

// The model vocab and the added tokens together must number ids 0..n-1.
Status Reader::read_vocab(const json& vocab, const json& added, TokenizerData* d) {
  if (!vocab.is_object()) return malformed("model.vocab is not an object");
  const size_t limit = vocab.size() + (added.is_array() ? added.size() : 0);
  std::vector<std::optional<std::string>> by_id(limit);
  for (const auto& [token, value] : vocab.items()) {
    if (!value.is_number_integer()) return malformed("model.vocab[\"" + token + "\"] is not an integer");
    const int64_t id = value.get<int64_t>();
    if (id < 0 || static_cast<size_t>(id) >= limit)
      return malformed("vocab ids are not dense: \"" + token + "\" has id " + std::to_string(id));
    if (by_id[id]) return malformed("vocab id " + std::to_string(id) + " is given twice");
    by_id[id] = token;
    model_ids_[token] = static_cast<int32_t>(id);
  }
  for (const json& a : added.is_array() ? added : json::array()) {
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
        !a["content"].is_string())
      return malformed("an added token lacks an integer id or a string content");
    const int64_t id = a["id"].get<int64_t>();
    const std::string content = a["content"].get<std::string>();
    if (id < 0 || static_cast<size_t>(id) >= limit)
      return malformed("vocab ids are not dense: added token \"" + content + "\" has id " + std::to_string(id));
    if (by_id[id] && *by_id[id] != content)
      return malformed("added token \"" + content + "\" has id " + std::to_string(id) +
                       ", which the vocab gives to \"" + *by_id[id] + "\"");
    by_id[id] = content;
  }
  size_t n = by_id.size();
  while (n > 0 && !by_id[n - 1]) --n;
  d->vocab.reserve(n);
  for (size_t id = 0; id < n; ++id) {
    if (!by_id[id]) return malformed("vocab ids are not dense: id " + std::to_string(id) + " is missing");
    d->vocab.push_back(std::move(*by_id[id]));
  }
  return Status::ok();
}

Status Reader::read_added(const json& added, TokenizerData* d) const {
  if (added.is_null()) return Status::ok();
  if (!added.is_array()) return malformed("added_tokens is not an array");
  for (const json& a : added) {
    AddedToken t;
    t.id = a["id"].get<int32_t>();  // checked by read_vocab
    t.content = a["content"].get<std::string>();
    EID_ASSIGN_OR_RETURN(t.special, flag(a, "special", false, "added_tokens[]"));
    EID_ASSIGN_OR_RETURN(t.lstrip, flag(a, "lstrip", false, "added_tokens[]"));
    EID_ASSIGN_OR_RETURN(t.rstrip, flag(a, "rstrip", false, "added_tokens[]"));
    EID_ASSIGN_OR_RETURN(t.normalized, flag(a, "normalized", !t.special, "added_tokens[]"));
    EID_ASSIGN_OR_RETURN(t.single_word, flag(a, "single_word", false, "added_tokens[]"));
    d->added.push_back(std::move(t));
  }
  return Status::ok();
}

// Merges as "left right" strings (older files) or ["left", "right"] pairs.
Status Reader::read_merges(const json& merges, TokenizerData* d) const {
  if (merges.is_null()) return Status::ok();
  if (!merges.is_array()) return malformed("model.merges is not an array");
  d->merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    std::string left, right;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        return malformed("merge " + std::to_string(i) + " \"" + s + "\" is not two tokens separated by a space");
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      return malformed("merge " + std::to_string(i) + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
    auto l = model_ids_.find(left), r = model_ids_.find(right);
    if (l == model_ids_.end() || r == model_ids_.end())
      return malformed("merge " + std::to_string(i) + " uses \"" + (l == model_ids_.end() ? left : right) +
                       "\", which is not in the vocab");
    d->merges.emplace_back(l->second, r->second);
  }
  return Status::ok();
}

// Accepted: none, NFC, Replace(" ", "▁"), Prepend("▁") + Replace(" ", "▁").
Status Reader::read_normalizer(const json& normalizer, TextPipeline* p) const {
  std::vector<const json*> steps;
  flatten(normalizer, "normalizers", &steps);
  for (size_t i = 0; i < steps.size(); ++i) {
    const json& s = *steps[i];
    const std::string type = type_of(s);
    if (type == "NFC" && i == 0) {
      p->nfc = true;
    } else if (type == "Prepend" && !p->prepend && !p->replace_spaces) {
      EID_ASSIGN_OR_RETURN(std::string with, text(s, "prepend", "normalizer Prepend"));
      if (with != kMetaspace) return unsupported_piece("normalizer Prepend(\"" + with + "\")");
      p->prepend = true;
    } else if (type == "Replace" && !p->replace_spaces) {
      EID_ASSIGN_OR_RETURN(std::string from, string_pattern(s, "normalizer Replace"));
      EID_ASSIGN_OR_RETURN(std::string to, text(s, "content", "normalizer Replace"));
      if (from != " " || to != kMetaspace)
        return unsupported_piece("normalizer Replace(\"" + from + "\" -> \"" + to + "\")");
      p->replace_spaces = true;
    } else {
      return unsupported_piece("normalizer " + types(steps));
    }
  }
  if (p->prepend && !p->replace_spaces) return unsupported_piece("normalizer Prepend without Replace");
  if (p->nfc && p->replace_spaces) return unsupported_piece("normalizer " + types(steps));
  p->metaspace_prepend = p->prepend;
  return Status::ok();
}

Status Reader::read_split(const json& split, TokenizerData* d) const {
  if (!split.contains("pattern") || !split["pattern"].is_object())
    return malformed("pre_tokenizer Split has no pattern");
  const json& pattern = split["pattern"];
  if (!pattern.contains("Regex") || !pattern["Regex"].is_string())
    return unsupported_piece("pre_tokenizer Split on " + pattern.dump());
  const std::string regex = pattern["Regex"].get<std::string>();
  if (regex == kGpt2Regex) {
    d->split = SplitPattern::kGpt2;
  } else if (regex == kLlama3Regex) {
    d->split = SplitPattern::kLlama3;
  } else if (regex == kQwen2Regex) {
    d->split = SplitPattern::kQwen2;
  } else {
    return unsupported_piece("pre_tokenizer Split regex " + json(regex).dump() +
                             " (known: the GPT-2, Llama-3 and Qwen2 patterns)");
  }
  const std::string behavior = split.value("behavior", std::string());
  if (behavior != "Isolated") return unsupported_piece("pre_tokenizer Split behavior \"" + behavior + "\"");
  EID_ASSIGN_OR_RETURN(bool invert, flag(split, "invert", false, "pre_tokenizer Split"));
  if (invert) return unsupported_piece("pre_tokenizer Split with invert");
  return Status::ok();
}

Status Reader::read_metaspace(const json& m, TextPipeline* p) const {
  EID_ASSIGN_OR_RETURN(std::string replacement, text(m, "replacement", "pre_tokenizer Metaspace"));
  if (replacement != kMetaspace)
    return unsupported_piece("pre_tokenizer Metaspace with replacement \"" + replacement + "\"");
  EID_ASSIGN_OR_RETURN(bool split, flag(m, "split", true, "pre_tokenizer Metaspace"));
  if (split) return unsupported_piece("pre_tokenizer Metaspace with split=true");
  std::string scheme = "always";  // older files: add_prefix_space true/false
  if (m.contains("prepend_scheme") && m["prepend_scheme"].is_string()) {
    scheme = m["prepend_scheme"].get<std::string>();
  } else {
    EID_ASSIGN_OR_RETURN(bool add_prefix_space, flag(m, "add_prefix_space", true, "pre_tokenizer Metaspace"));
    scheme = add_prefix_space ? "always" : "never";
  }
  if (scheme != "first" && scheme != "always" && scheme != "never")
    return unsupported_piece("pre_tokenizer Metaspace prepend_scheme \"" + scheme + "\"");
  p->metaspace_pretok = true;
  p->metaspace_prepend = scheme != "never";
  p->metaspace_mode = scheme == "first" ? MetaspaceMode::kPreTokenizerFirst : MetaspaceMode::kPreTokenizerAlways;
  return Status::ok();
}

// Accepted: none, ByteLevel, [Split, ByteLevel(use_regex=false)], Metaspace.
Status Reader::read_pre_tokenizer(const json& pre, TextPipeline* p, TokenizerData* d) const {
  std::vector<const json*> steps;
  flatten(pre, "pretokenizers", &steps);
  if (steps.empty()) return Status::ok();
  const json& last = *steps.back();
  if (steps.size() == 1 && type_of(last) == "Metaspace") return read_metaspace(last, p);
  const bool split_first = steps.size() == 2 && type_of(*steps[0]) == "Split";
  if (type_of(last) != "ByteLevel" || (steps.size() == 2 && !split_first) || steps.size() > 2)
    return unsupported_piece("pre_tokenizer " + types(steps));
  p->byte_level = true;
  EID_ASSIGN_OR_RETURN(bool use_regex, flag(last, "use_regex", true, "pre_tokenizer ByteLevel"));
  EID_ASSIGN_OR_RETURN(d->add_prefix_space, flag(last, "add_prefix_space", true, "pre_tokenizer ByteLevel"));
  if (!split_first) {
    d->split = use_regex ? SplitPattern::kGpt2 : SplitPattern::kNone;
    return Status::ok();
  }
  if (use_regex) return unsupported_piece("pre_tokenizer Split followed by ByteLevel with use_regex=true");
  // ByteLevel after Split would prefix every piece, not the text: not modelled.
  if (d->add_prefix_space) return unsupported_piece("pre_tokenizer ByteLevel add_prefix_space after Split");
  return read_split(*steps[0], d);
}

Status Reader::read_metaspace_decoder(const std::vector<const json*>& steps, const TextPipeline& p,
                                      const TokenizerData& d) const {
  std::vector<std::string> kinds;
  for (const json* s : steps) kinds.push_back(type_of(*s));
  const bool has_fallback = kinds.size() >= 2 && kinds[1] == "ByteFallback";
  const size_t fuse = has_fallback ? 2 : 1;
  const bool shape_ok = kinds.size() >= fuse + 1 && kinds[0] == "Replace" && kinds[fuse] == "Fuse" &&
                        (kinds.size() == fuse + 1 || (kinds.size() == fuse + 2 && kinds[fuse + 1] == "Strip"));
  if (!shape_ok) return unsupported_piece("decoder " + types(steps) + " for a metaspace model");
  EID_ASSIGN_OR_RETURN(std::string from, string_pattern(*steps[0], "decoder Replace"));
  EID_ASSIGN_OR_RETURN(std::string to, text(*steps[0], "content", "decoder Replace"));
  if (from != kMetaspace || to != " ") return unsupported_piece("decoder Replace(\"" + from + "\" -> \"" + to + "\")");
  const bool has_strip = kinds.back() == "Strip";
  if (has_strip) {
    const json& s = *steps.back();
    if (s.value("content", std::string()) != " " || s.value("start", -1) != 1 || s.value("stop", -1) != 0)
      return unsupported_piece("decoder " + s.dump());
  }
  // The runtime strips the leading space exactly when ▁ is prepended.
  if (has_strip != p.metaspace_prepend)
    return unsupported_piece(has_strip ? "decoder Strip without a prepended ▁"
                                       : "a prepended ▁ without a decoder Strip");
  if (!has_fallback) {
    for (const std::string& t : d.vocab)
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>')
        return unsupported_piece("<0xNN> tokens without a ByteFallback decoder");
  }
  return Status::ok();
}

Status Reader::read_decoder(const json& decoder, const TextPipeline& p, const TokenizerData& d) const {
  std::vector<const json*> steps;
  flatten(decoder, "decoders", &steps);
  if (p.byte_level) {
    if (steps.size() == 1 && type_of(*steps[0]) == "ByteLevel") return Status::ok();
    return unsupported_piece("decoder " + types(steps) + " for a byte-level model");
  }
  return read_metaspace_decoder(steps, p, d);
}

Status Reader::settle_kind(const TextPipeline& p, TokenizerData* d) const {
  if (p.byte_level) {
    if (p.replace_spaces) return unsupported_piece("a byte-level model with a Replace normalizer");
    d->kind = TokenizerKind::kByteLevelBpe;
    d->nfc = p.nfc;
    return Status::ok();
  }
  if (p.nfc) return unsupported_piece("an NFC normalizer on a metaspace model");
  if (p.replace_spaces == p.metaspace_pretok)
    return unsupported_piece(p.replace_spaces ? "both a Replace normalizer and a Metaspace pre-tokenizer"
                                              : "a BPE model without ByteLevel or metaspace pre-processing");
  d->kind = TokenizerKind::kMetaspaceBpe;
  d->split = SplitPattern::kNone;
  d->metaspace_prepend = p.metaspace_prepend;
  d->metaspace_mode = p.metaspace_mode;
  return Status::ok();
}

Result<TokenizerData> Reader::read(const json& root) {
  if (!root.is_object()) return malformed("not a JSON object");
  TokenizerData d;
  const json null;
  const json& model = root.contains("model") ? root["model"] : null;
  const json& added = root.contains("added_tokens") ? root["added_tokens"] : null;
  EID_TRY(read_model(model, &d));
  EID_TRY(read_vocab(model.contains("vocab") ? model["vocab"] : null, added, &d));
  EID_TRY(read_added(added, &d));
  EID_TRY(read_merges(model.contains("merges") ? model["merges"] : null, &d));
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    auto it = model_ids_.find(model["unk_token"].get<std::string>());
    if (it == model_ids_.end()) return malformed("model.unk_token is not in the vocab");
    d.unk_id = it->second;
  }
  TextPipeline p;
  EID_TRY(read_normalizer(root.contains("normalizer") ? root["normalizer"] : null, &p));
  EID_TRY(read_pre_tokenizer(root.contains("pre_tokenizer") ? root["pre_tokenizer"] : null, &p, &d));
  EID_TRY(settle_kind(p, &d));
  EID_TRY(read_decoder(root.contains("decoder") ? root["decoder"] : null, p, d));
  // The runtime's own checks (merges resolvable, ids in range, ...).
  auto built = Tokenizer::create(d);
  if (!built.is_ok()) return Status(built.status().code(), path_ + ": " + built.status().message());
  return d;
}

}  // namespace

Result<TokenizerData> parse_tokenizer_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(path + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const json root = json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return invalid_model(path + ": not valid JSON");
  try {
    return Reader(path).read(root);
  } catch (const json::exception& e) {  // a value of an unexpected type slipped through
    return invalid_model(path + ": " + e.what());
  }
}

}  // namespace eidetic::convert
