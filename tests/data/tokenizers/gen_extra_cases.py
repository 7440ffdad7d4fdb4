"""Reference cases for tokenizer configurations beyond the two fixture
files, made with Hugging Face `tokenizers` (run where it is installed, e.g.
the GPU machine):

    python3 gen_extra_cases.py tests/data/tokenizers

Each configuration is one of the fixture tokenizers with a JSON merge patch
(RFC 7396) applied: other split regexes, ignore_merges, NFC,
add_prefix_space, the Metaspace pre-tokenizer, unk without byte fallback,
and added tokens with lstrip / rstrip / single_word / normalized. The output,
tokenizer_cases_extra.json, maps each configuration to {"base", "patch",
"cases"}; a case holds the text, encode(text, add_special_tokens=False).ids,
the same with encode_special_tokens set (specials as plain text), decode(ids)
and decode(ids, skip_special_tokens=True); "decodes" holds decode() of random
id sequences (invalid UTF-8 byte runs included)."""
import json
import os
import random
import sys

import tokenizers
from tokenizers import Tokenizer

out_dir = sys.argv[1]
MS = "\u2581"

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
          r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}")


def load(name):
    with open(os.path.join(out_dir, name + ".json"), encoding="utf-8") as f:
        return json.load(f)


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    target = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


def split_then_bytelevel(regex):
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}


def added(base, extra):
    """The base file's added tokens plus new ones with the next free ids."""
    tokens = list(base["added_tokens"])
    next_id = max(len(base["model"]["vocab"]), max(t["id"] for t in tokens) + 1)
    for content, flags in extra:
        t = {"id": next_id, "content": content, "single_word": False, "lstrip": False,
             "rstrip": False, "normalized": False, "special": False}
        t.update(flags)
        tokens.append(t)
        next_id += 1
    return tokens


bl, ms = load("bytelevel_bpe"), load("metaspace_bytefallback_bpe")
bl_added = added(bl, [
    ("<|begin|>", {"special": True}),
    ("<|x|>", {"special": True, "rstrip": True}),
    ("<mask>", {"lstrip": True, "rstrip": True, "single_word": True}),
    ("word", {"single_word": True}),
    ("hello", {"normalized": True}),
])
ms_added = added(ms, [
    ("<mask>", {"special": True, "lstrip": True}),
    ("hello world", {"normalized": True}),
    ("[x]", {"single_word": True}),
])
metaspace_decoder = ms["decoder"]
no_strip_decoder = {"type": "Sequence", "decoders": metaspace_decoder["decoders"][:3]}


def metaspace_pretok(scheme):
    return {"type": "Metaspace", "replacement": MS, "prepend_scheme": scheme, "split": False}


CONFIGS = {
    "gpt2_split_sequence": ("bytelevel_bpe", {"pre_tokenizer": split_then_bytelevel(GPT2), "added_tokens": bl_added}),
    "llama3_ignore_merges": ("bytelevel_bpe", {"pre_tokenizer": split_then_bytelevel(LLAMA3),
                                               "model": {"ignore_merges": True}, "added_tokens": bl_added}),
    "qwen2": ("bytelevel_bpe", {"pre_tokenizer": split_then_bytelevel(QWEN2), "added_tokens": bl_added}),
    "nfc_add_prefix_space": ("bytelevel_bpe", {"normalizer": {"type": "NFC"},
                                               "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True,
                                                                 "trim_offsets": True, "use_regex": True},
                                               "added_tokens": bl_added}),
    "metaspace_normalizer_added": ("metaspace_bytefallback_bpe", {"added_tokens": ms_added}),
    "metaspace_first": ("metaspace_bytefallback_bpe", {"normalizer": None, "pre_tokenizer": metaspace_pretok("first"),
                                                       "added_tokens": ms_added}),
    "metaspace_always": ("metaspace_bytefallback_bpe", {"normalizer": None, "pre_tokenizer": metaspace_pretok("always"),
                                                        "added_tokens": ms_added}),
    "metaspace_never": ("metaspace_bytefallback_bpe", {"normalizer": None, "pre_tokenizer": metaspace_pretok("never"),
                                                       "decoder": no_strip_decoder}),
    "metaspace_replace_only": ("metaspace_bytefallback_bpe", {
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Replace", "pattern": {"String": " "}, "content": MS}]},
        "decoder": no_strip_decoder}),
    "metaspace_unk_no_fallback": ("metaspace_bytefallback_bpe", {"model": {"byte_fallback": False}}),
    "added_overlap": ("bytelevel_bpe", {"added_tokens": added(bl, [
        ("<r>", {"special": True, "rstrip": True}), ("  ", {}), ("<l>", {"lstrip": True}),
        ("<l><r>", {"special": True})])}),
    "metaspace_unk_no_fuse": ("metaspace_bytefallback_bpe", {"model": {"byte_fallback": False, "fuse_unk": False}}),
}

TEXTS = [
    "Hello world", " Hello  world ", "  leading", "trailing  ", "", " ", "\n", "a",
    "I'll don't we're they've she's it'd", "I'M YOU'RE HE'LL IT'S WE'VE SHE'D", "'s 'S 'ſ 'sup 'Re",
    "Numbers: 12345 3.14159 -42 1e10 1234567890", "\u0661\u0662\u0663\u0664 \u00bd \u2167 x\u00b2",
    "x.Foo (hello) \tfoo\n\n  bar!!\n\r\nend", "tabs\tand\nnewlines\n\n\nand   spaces  \n ",
    "caf\u00e9 cafe\u0301 \u212b \u00c5 A\u030a \u1100\u1161\u11a8 n\u0303 \u1e9b\u0323",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \ud55c\uad6d\uc5b4", "emoji \U0001F600\U0001F389\U0001F44D\U0001F3FD family \U0001F468\u200d\U0001F469\u200d\U0001F467",
    "\u00a0nbsp\u3000ideographic\u2003em\u2028line\u0085next", "zero\u200bwidth \ufeffbom",
    "<|endoftext|>", "mixed<|endoftext|>special", "<|begin|>hi<|begin|>", "a <|x|>   next", "<|x|>",
    "a <mask> b", "a<mask>b", "x  <mask>  y", "<mask>", " <mask>", "word", "a word b", "swordfish words",
    "hello", "Hello hello HELLO", "hello world", " hello world!", "say hello world", "[x] a[x] [x]b",
    "<s>Hi</s> <s> Hi", "a<r>   b<r>  <l>c", "x <l>  <r>y", "<l><r> <l><r>", "<r>\n  \n", "</s>", "<unk>", "<0x41>B", "a<mask> b <mask>  c", "\u2581lit\u2581eral",
    "def f(x):\n    return x**2  # comment", "URL: https://example.com/path?q=1&r=2#frag",
    "A" * 70, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbb",
]


def random_texts(n, seed=1234):
    rng = random.Random(seed)
    pools = ["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " ", "  \t\n\r",
             "'.,;:!?-()[]{}<>\"/\\_|", "\u00e9\u00e8\u00fc\u00df\u00f1\u0301\u0308\u017f\u212a",
             "\u65e5\u672c\u8a9e\u4e2d\u6587\u306e\u30c6\u30ad", "\U0001F600\U0001F389\u200d",
             "\u00a0\u3000\u2003\u0085", "\u0661\u00bd\u00b2", "\u1100\u1161\u11a8\uac00",
             "<|endoftext|>", "<mask>", "hello", " world", "<r>", "<l>", "<s>", "</s>"]
    out = []
    for _ in range(n):
        parts = [rng.choice(pools[rng.randrange(len(pools))]) if rng.random() < 0.8 else rng.choice(pools)
                 for _ in range(rng.randrange(1, 40))]
        out.append("".join(parts))
    return out


def cases(tok, texts):
    rows = []
    for s in texts:
        ids = tok.encode(s, add_special_tokens=False).ids
        tok.encode_special_tokens = True  # special tokens in the text are plain text
        plain = tok.encode(s, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        rows.append({"text": s, "ids": ids, "ids_plain": plain,
                     "decoded": tok.decode(ids, skip_special_tokens=False),
                     "decoded_skip": tok.decode(ids, skip_special_tokens=True)})
    return rows


def random_decodes(tok, vocab_size, n=60, seed=99):
    """decode() of random id sequences, half of them drawn from the first
    300 ids, where the byte tokens of both fixtures lie."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        top = 300 if rng.random() < 0.5 else vocab_size
        ids = [rng.randrange(min(top, vocab_size)) for _ in range(rng.randrange(0, 16))]
        rows.append({"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
                     "decoded_skip": tok.decode(ids, skip_special_tokens=True)})
    return rows


def main():
    # The fixture cases must still come out the same with this version.
    with open(os.path.join(out_dir, "tokenizer_cases.json"), encoding="utf-8") as f:
        fixture = json.load(f)
    for name, base in (("bytelevel_bpe", bl), ("metaspace_bytefallback_bpe", ms)):
        tok = Tokenizer.from_str(json.dumps(base))
        for row in fixture[name]:
            got = tok.encode(row["text"], add_special_tokens=False).ids
            assert got == row["ids"], (name, row["text"], got)
    texts = TEXTS + random_texts(60)
    result = {"_generator": {"tokenizers": tokenizers.__version__}}
    for name, (base_name, patch) in CONFIGS.items():
        spec = merge_patch(bl if base_name == "bytelevel_bpe" else ms, patch)
        tok = Tokenizer.from_str(json.dumps(spec))
        for t in spec["added_tokens"]:
            assert tok.token_to_id(t["content"]) == t["id"], (name, t)
        result[name] = {"base": base_name, "patch": patch, "cases": cases(tok, texts),
                        "decodes": random_decodes(tok, tok.get_vocab_size(with_added_tokens=True))}
        print(name, len(result[name]["cases"]))
    with open(os.path.join(out_dir, "tokenizer_cases_extra.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=0)


main()
