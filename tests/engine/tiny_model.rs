//! Tiny synthetic GGUF models for the architectures of the llama-style decoder: a few
//! thousand random weights from a fixed seed (F32 or Q8_0), the metadata llama.cpp needs to
//! load them, and a byte-level BPE vocabulary of 299 tokens. The weights are scaled so that
//! attention is sharp (scores of several units) and the output logits are spread out (a
//! standard deviation of about 8), which makes greedy tokens a meaningful comparison.

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use std::path::Path;

/// Hidden width.
pub const HIDDEN: usize = 64;
/// Transformer blocks.
pub const LAYERS: usize = 2;
/// Query heads.
pub const HEADS: usize = 4;
/// Key/value heads.
pub const KV_HEADS: usize = 2;
/// Feed-forward inner width.
pub const FFN: usize = 128;

/// One synthetic model: an architecture and the layout options its real files use.
#[derive(Debug, Clone)]
pub struct Spec {
    /// A short name for messages.
    pub name: &'static str,
    /// `general.architecture`.
    pub arch: &'static str,
    /// Width of one head (`attention.key_length`).
    pub head_dim: usize,
    /// Rotated dimensions per head (`rope.dimension_count`).
    pub rotary_dims: usize,
    /// Matrices stored as Q8_0 (else F32).
    pub q8: bool,
    /// A separate `output.weight` (else tied to the embedding).
    pub output: bool,
    /// Llama 3.1's `rope_freqs.weight`.
    pub rope_freqs: bool,
    /// Biases on the q/k/v projections.
    pub qkv_bias: bool,
    /// One fused `attn_qkv` instead of `attn_q`, `attn_k`, `attn_v`.
    pub fused_qkv: bool,
    /// Qwen 3's per-head q/k norms.
    pub qk_norm: bool,
    /// GLM-4's post-attention and post-feed-forward norms.
    pub post_norms: bool,
    /// One `ffn_up` holding gate and up (GLM).
    pub fused_gate_up: bool,
    /// `tokenizer.ggml.pre`.
    pub pre: &'static str,
}

impl Spec {
    const BASE: Spec = Spec {
        name: "",
        arch: "",
        head_dim: HIDDEN / HEADS,
        rotary_dims: HIDDEN / HEADS,
        q8: false,
        output: true,
        rope_freqs: false,
        qkv_bias: false,
        fused_qkv: false,
        qk_norm: false,
        post_norms: false,
        fused_gate_up: false,
        pre: "default",
    };
}

/// The synthetic models, one or two per architecture.
pub fn specs() -> Vec<Spec> {
    vec![
        Spec {
            name: "llama3.1",
            arch: "llama",
            q8: true,
            rope_freqs: true,
            pre: "llama-bpe",
            ..Spec::BASE
        },
        Spec {
            name: "mistral",
            arch: "llama",
            ..Spec::BASE
        },
        Spec {
            name: "qwen2",
            arch: "qwen2",
            output: false,
            qkv_bias: true,
            pre: "qwen2",
            ..Spec::BASE
        },
        Spec {
            name: "qwen3",
            arch: "qwen3",
            head_dim: 32,
            rotary_dims: 32,
            q8: true,
            output: false,
            qk_norm: true,
            pre: "qwen2",
            ..Spec::BASE
        },
        Spec {
            name: "glm4",
            arch: "glm4",
            rotary_dims: 8,
            qkv_bias: true,
            post_norms: true,
            fused_gate_up: true,
            pre: "glm4",
            ..Spec::BASE
        },
        Spec {
            name: "chatglm",
            arch: "chatglm",
            rotary_dims: 8,
            q8: true,
            qkv_bias: true,
            fused_qkv: true,
            fused_gate_up: true,
            pre: "chatglm-bpe",
            ..Spec::BASE
        },
    ]
}

/// The vocabulary: the 256 byte tokens of byte-level BPE, 40 merged tokens, 3 specials.
pub fn vocabulary() -> (Vec<String>, Vec<String>) {
    let mut tokens: Vec<String> = (0u8..=255).map(byte_char).map(String::from).collect();
    // Merges in rank order, as `left right`; each adds the token `leftright`.
    const MERGES: &str = "Ġ t|h e|i n|a n|e r|o n|Ġ a|r e|a t|e n|o r|Ġt he|e s|Ġ s|i s|i t|\
        Ġ w|a l|Ġ o|e d|Ġ c|n d|Ġ b|o u|Ġ f|a r|in g|Ġ m|l e|Ġ p|Ġ d|Ġa nd|Ġ h|i c|a s|Ġ l|\
        o m|Ġ n|s t|Ġ e";
    let pairs = MERGES.split('|').filter_map(|m| m.trim().split_once(' '));
    let mut merges = Vec::new();
    for (a, b) in pairs {
        merges.push(format!("{a} {b}"));
        tokens.push(format!("{a}{b}"));
    }
    for special in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] {
        tokens.push(special.to_string());
    }
    (tokens, merges)
}

/// GPT-2's printable stand-in for a byte.
fn byte_char(b: u8) -> char {
    let printable = |b: u8| (33..=126).contains(&b) || (161..=172).contains(&b) || b >= 174;
    if printable(b) {
        return char::from(b);
    }
    let rank = (0..b).filter(|&c| !printable(c)).count() as u32;
    char::from_u32(256 + rank).expect("a valid code point")
}

/// Id of `<|endoftext|>`.
pub fn eos_id() -> u32 {
    vocabulary().0.len() as u32 - 3
}

/// A deterministic normal generator (splitmix64 + Box-Muller).
struct Rng(u64);

impl Rng {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self, std: f64) -> f32 {
        let u1 = self.next_unit().max(1e-12);
        let u2 = self.next_unit();
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos() * std) as f32
    }
}

/// Collects named tensors for the file.
struct Tensors {
    rng: Rng,
    q8: bool,
    list: Vec<(String, QTensor)>,
}

impl Tensors {
    fn add(&mut self, name: &str, dims: &[usize], values: Vec<f32>, quantize: bool) {
        let t = Tensor::from_vec(values, dims, &Device::Cpu).expect("tensor");
        let dtype = if quantize && self.q8 {
            GgmlDType::Q8_0
        } else {
            GgmlDType::F32
        };
        let q = QTensor::quantize(&t, dtype).expect("quantize");
        self.list.push((name.to_string(), q));
    }

    fn random(&mut self, name: &str, dims: &[usize], std: f64, quantize: bool) {
        let n = dims.iter().product();
        let values = (0..n).map(|_| self.rng.normal(std)).collect();
        self.add(name, dims, values, quantize);
    }

    fn matrix(&mut self, name: &str, rows: usize, cols: usize, std: f64) {
        self.random(name, &[rows, cols], std, true);
    }

    fn norm(&mut self, name: &str, width: usize) {
        let values = (0..width).map(|_| 1.0 + self.rng.normal(0.1)).collect();
        self.add(name, &[width], values, false);
    }
}

/// The tensors of `spec`, drawn from the generator seeded with `seed`.
fn tensors(spec: &Spec, vocab: usize, seed: u64) -> Vec<(String, QTensor)> {
    let mut t = Tensors {
        rng: Rng(seed),
        q8: spec.q8,
        list: Vec::new(),
    };
    let (qw, kvw) = (HEADS * spec.head_dim, KV_HEADS * spec.head_dim);
    t.matrix("token_embd.weight", vocab, HIDDEN, 1.0);
    t.norm("output_norm.weight", HIDDEN);
    if spec.output {
        t.matrix("output.weight", vocab, HIDDEN, 1.0);
    }
    if spec.rope_freqs {
        // Llama 3.1's shape: high frequencies kept, low ones slowed down.
        let half = spec.rotary_dims / 2;
        let factors = (0..half)
            .map(|i| {
                if i < half / 2 {
                    1.0
                } else {
                    2.0 + 2.0 * (i - half / 2) as f32
                }
            })
            .collect();
        t.add("rope_freqs.weight", &[half], factors, false);
    }
    // Queries and keys of std ~1.6 per element: attention scores of a few units.
    let qk_std = 0.2;
    let unit = |cols: usize| 1.0 / (cols as f64).sqrt();
    for i in 0..LAYERS {
        let p = |s: &str| format!("blk.{i}.{s}");
        t.norm(&p("attn_norm.weight"), HIDDEN);
        if spec.fused_qkv {
            // Scale the key rows like the query rows, the value rows to unit outputs.
            let mut values = Vec::with_capacity((qw + 2 * kvw) * HIDDEN);
            for row in 0..qw + 2 * kvw {
                let std = if row < qw + kvw { qk_std } else { unit(HIDDEN) };
                values.extend((0..HIDDEN).map(|_| t.rng.normal(std)));
            }
            t.add(&p("attn_qkv.weight"), &[qw + 2 * kvw, HIDDEN], values, true);
            if spec.qkv_bias {
                t.random(&p("attn_qkv.bias"), &[qw + 2 * kvw], 0.5, false);
            }
        } else {
            t.matrix(&p("attn_q.weight"), qw, HIDDEN, qk_std);
            t.matrix(&p("attn_k.weight"), kvw, HIDDEN, qk_std);
            t.matrix(&p("attn_v.weight"), kvw, HIDDEN, unit(HIDDEN));
            if spec.qkv_bias {
                t.random(&p("attn_q.bias"), &[qw], 0.5, false);
                t.random(&p("attn_k.bias"), &[kvw], 0.5, false);
                t.random(&p("attn_v.bias"), &[kvw], 0.5, false);
            }
        }
        if spec.qk_norm {
            t.norm(&p("attn_q_norm.weight"), spec.head_dim);
            t.norm(&p("attn_k_norm.weight"), spec.head_dim);
        }
        t.matrix(&p("attn_output.weight"), HIDDEN, qw, unit(qw));
        if spec.post_norms {
            t.norm(&p("post_attention_norm.weight"), HIDDEN);
        }
        t.norm(&p("ffn_norm.weight"), HIDDEN);
        if spec.fused_gate_up {
            t.matrix(&p("ffn_up.weight"), 2 * FFN, HIDDEN, unit(HIDDEN));
        } else {
            t.matrix(&p("ffn_gate.weight"), FFN, HIDDEN, unit(HIDDEN));
            t.matrix(&p("ffn_up.weight"), FFN, HIDDEN, unit(HIDDEN));
        }
        t.matrix(&p("ffn_down.weight"), HIDDEN, FFN, 2.0 * unit(FFN));
        if spec.post_norms {
            t.norm(&p("post_ffw_norm.weight"), HIDDEN);
        }
    }
    t.list
}

/// The metadata of `spec` (architecture, hyper-parameters, tokenizer), with the keys of
/// `extra` added or replaced.
fn metadata(spec: &Spec, extra: &[(&str, Value)]) -> Vec<(String, Value)> {
    let (tokens, merges) = vocabulary();
    let a = spec.arch;
    let strings = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
    let mut types = vec![Value::I32(1); tokens.len()];
    for t in types.iter_mut().rev().take(3) {
        *t = Value::I32(3);
    }
    let mut md = vec![
        ("general.architecture".to_string(), Value::String(a.into())),
        (
            "general.name".to_string(),
            Value::String(format!("tiny {}", spec.name)),
        ),
        (format!("{a}.context_length"), Value::U32(2048)),
        (format!("{a}.embedding_length"), Value::U32(HIDDEN as u32)),
        (format!("{a}.block_count"), Value::U32(LAYERS as u32)),
        (format!("{a}.feed_forward_length"), Value::U32(FFN as u32)),
        (
            format!("{a}.attention.head_count"),
            Value::U32(HEADS as u32),
        ),
        (
            format!("{a}.attention.head_count_kv"),
            Value::U32(KV_HEADS as u32),
        ),
        (
            format!("{a}.attention.key_length"),
            Value::U32(spec.head_dim as u32),
        ),
        (
            format!("{a}.attention.value_length"),
            Value::U32(spec.head_dim as u32),
        ),
        (
            format!("{a}.attention.layer_norm_rms_epsilon"),
            Value::F32(1e-5),
        ),
        (format!("{a}.rope.freq_base"), Value::F32(10_000.0)),
        (
            format!("{a}.rope.dimension_count"),
            Value::U32(spec.rotary_dims as u32),
        ),
        (
            "tokenizer.ggml.model".to_string(),
            Value::String("gpt2".into()),
        ),
        (
            "tokenizer.ggml.pre".to_string(),
            Value::String(spec.pre.into()),
        ),
        ("tokenizer.ggml.tokens".to_string(), strings(tokens)),
        ("tokenizer.ggml.token_type".to_string(), Value::Array(types)),
        ("tokenizer.ggml.merges".to_string(), strings(merges)),
        (
            "tokenizer.ggml.eos_token_id".to_string(),
            Value::U32(eos_id()),
        ),
        (
            "tokenizer.ggml.bos_token_id".to_string(),
            Value::U32(eos_id()),
        ),
        (
            "tokenizer.ggml.add_bos_token".to_string(),
            Value::Bool(false),
        ),
    ];
    for (key, value) in extra {
        md.retain(|(k, _)| k != key);
        md.push((key.to_string(), value.clone()));
    }
    md
}

/// Writes the model of `spec` to `path`, without the tensors named in `omit` and with the
/// metadata keys of `extra` added or replaced.
pub fn write_with(path: &Path, spec: &Spec, omit: &[&str], extra: &[(&str, Value)]) {
    let vocab = vocabulary().0.len();
    let seed = spec
        .name
        .bytes()
        .fold(0x5EED_u64, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    let tensors: Vec<_> = tensors(spec, vocab, seed)
        .into_iter()
        .filter(|(name, _)| !omit.contains(&name.as_str()))
        .collect();
    let md = metadata(spec, extra);
    let md_refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    let mut file = std::fs::File::create(path).expect("create the model file");
    gguf_file::write(&mut file, &md_refs, &t_refs).expect("write the GGUF file");
}

/// Writes the complete model of `spec` to `path`.
pub fn write(path: &Path, spec: &Spec) {
    write_with(path, spec, &[], &[]);
}
