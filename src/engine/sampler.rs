//! Picks the next token from a vector of logits: repetition, frequency and presence penalties
//! over recent tokens (llama.cpp's window: the last `repeat_last_n`), then
//! greedy (temperature 0) or temperature, top-k, top-p and min-p sampling with a seeded
//! generator (SplitMix64, so the same seed gives the same text everywhere). Pure.

/// How to pick tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    /// Softmax temperature; 0 means greedy.
    pub temperature: f32,
    /// Nucleus mass (1 = off).
    pub top_p: f32,
    /// Keep only the k most likely tokens (0 = off).
    pub top_k: usize,
    /// Drop tokens less likely than `min_p` times the most likely one (0 = off).
    pub min_p: f32,
    /// Divide positive logits (multiply negative ones) of recent tokens by this (1 = off).
    pub repeat_penalty: f32,
    /// Subtracted from a recent token's logit once per time it occurs (0 = off).
    pub frequency_penalty: f32,
    /// Subtracted from the logit of any token among the recent ones (0 = off).
    pub presence_penalty: f32,
    /// How many recent tokens the penalties look at.
    pub repeat_last_n: usize,
    /// Tokens never picked (their logits become -inf first).
    pub banned: Vec<u32>,
    /// Seed of the generator.
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.7,
            top_p: 0.9,
            top_k: 40,
            min_p: 0.05,
            repeat_penalty: 1.1,
            frequency_penalty: 0.0,
            presence_penalty: 0.0,
            repeat_last_n: 64,
            banned: Vec::new(),
            seed: 0,
        }
    }
}

/// A sampler with its generator state.
pub struct Sampler {
    params: SamplingParams,
    state: u64,
}

impl Sampler {
    /// A sampler seeded from `params.seed`.
    pub fn new(params: SamplingParams) -> Self {
        let state = params.seed;
        Self { params, state }
    }

    fn next_f32(&mut self) -> f32 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Picks a token from `logits`, `recent` being the tokens seen so far.
    pub fn sample(&mut self, logits: &mut [f32], recent: &[u32]) -> u32 {
        for &id in &self.params.banned {
            if let Some(logit) = logits.get_mut(id as usize) {
                *logit = f32::NEG_INFINITY;
            }
        }
        penalize(&self.params, logits, recent);
        let p = &self.params;
        let best = argmax(logits);
        if p.temperature <= 0.0 {
            return best;
        }
        // Temperature keeps the order, so the top k are picked from the raw logits, in one
        // pass: sorting a 262k vocabulary per token costs more than the model's step in a
        // debug build.
        let mut cands = if p.top_k > 0 {
            top_k(logits, p.top_k)
        } else {
            let mut all: Vec<(u32, f32)> = logits
                .iter()
                .enumerate()
                .filter(|(_, l)| l.is_finite())
                .map(|(i, &l)| (i as u32, l))
                .collect();
            all.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
            all
        };
        cands.iter_mut().for_each(|c| c.1 /= p.temperature);
        let Some(&(_, max)) = cands.first() else {
            return best;
        };
        let mut probs: Vec<f32> = cands.iter().map(|(_, l)| (l - max).exp()).collect();
        let sum: f32 = probs.iter().sum();
        probs.iter_mut().for_each(|x| *x /= sum);
        let mut keep = probs.len();
        if p.min_p > 0.0 {
            keep = probs
                .iter()
                .take_while(|&&x| x >= p.min_p * probs[0])
                .count()
                .max(1);
        }
        if p.top_p < 1.0 {
            let mut acc = 0.0;
            let n = probs[..keep]
                .iter()
                .take_while(|&&x| {
                    let before = acc;
                    acc += x;
                    before < p.top_p
                })
                .count();
            keep = n.max(1);
        }
        let total: f32 = probs[..keep].iter().sum();
        let mut r = self.next_f32() * total;
        for (i, &x) in probs[..keep].iter().enumerate() {
            r -= x;
            if r <= 0.0 {
                return cands[i].0;
            }
        }
        cands[keep - 1].0
    }
}

/// Applies the repetition penalty (once per distinct token) and the additive frequency and
/// presence penalties to the logits of the last `repeat_last_n` tokens.
fn penalize(p: &SamplingParams, logits: &mut [f32], recent: &[u32]) {
    if p.repeat_penalty == 1.0 && p.frequency_penalty == 0.0 && p.presence_penalty == 0.0 {
        return;
    }
    let from = recent.len().saturating_sub(p.repeat_last_n);
    let mut counts: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    for &t in &recent[from..] {
        *counts.entry(t).or_default() += 1;
    }
    for (t, n) in counts {
        let Some(l) = logits.get_mut(t as usize) else {
            continue;
        };
        if p.repeat_penalty != 1.0 {
            *l = if *l > 0.0 {
                *l / p.repeat_penalty
            } else {
                *l * p.repeat_penalty
            };
        }
        *l -= p.frequency_penalty * n as f32 + p.presence_penalty;
    }
}

/// The `k` largest finite logits with their ids, largest first (of equal ones, the lowest id).
fn top_k(logits: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    // Once `best` is full: the smallest logit in it, which a candidate must beat.
    let mut floor = f32::NEG_INFINITY;
    for (i, &l) in logits.iter().enumerate() {
        if !l.is_finite() || (best.len() == k && l <= floor) {
            continue;
        }
        best.push((i as u32, l));
        if best.len() > k {
            let smallest = lowest(&best);
            best.swap_remove(smallest);
        }
        if best.len() == k {
            floor = best[lowest(&best)].1;
        }
    }
    best.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    best
}

/// Where the smallest logit of `cands` is (of equal ones, the highest id).
fn lowest(cands: &[(u32, f32)]) -> usize {
    let mut at = 0;
    for (i, c) in cands.iter().enumerate() {
        let low = cands[at];
        if c.1 < low.1 || (c.1 == low.1 && c.0 > low.0) {
            at = i;
        }
    }
    at
}

fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_picks_the_largest() {
        let mut s = Sampler::new(SamplingParams {
            temperature: 0.0,
            repeat_penalty: 1.0,
            ..Default::default()
        });
        assert_eq!(s.sample(&mut [0.1, 3.0, -1.0], &[]), 1);
    }

    #[test]
    fn banned_tokens_are_never_picked() {
        let mut greedy = Sampler::new(SamplingParams {
            temperature: 0.0,
            banned: vec![1],
            ..Default::default()
        });
        assert_eq!(greedy.sample(&mut [0.1, 3.0, -1.0], &[]), 0);
        let mut sampled = Sampler::new(SamplingParams {
            temperature: 2.0,
            top_k: 0,
            min_p: 0.0,
            top_p: 1.0,
            banned: vec![0, 2],
            ..Default::default()
        });
        for _ in 0..50 {
            let token = sampled.sample(&mut [5.0, 0.0, 5.0, 0.0], &[]);
            assert!(token == 1 || token == 3, "picked banned token {token}");
        }
    }

    #[test]
    fn top_k_matches_a_full_sort() {
        let logits: Vec<f32> = (0..1000u32)
            .map(|i| ((i * 7919) % 997) as f32 / 10.0)
            .chain([f32::NEG_INFINITY, f32::NAN])
            .collect();
        let mut sorted: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_finite())
            .map(|(i, &l)| (i as u32, l))
            .collect();
        sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for k in [1, 40, 999, 2000] {
            let expected = &sorted[..k.min(sorted.len())];
            assert_eq!(top_k(&logits, k), expected, "k = {k}");
        }
    }

    #[test]
    fn same_seed_same_choices_and_penalty_applies() {
        let params = SamplingParams {
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            min_p: 0.0,
            ..Default::default()
        };
        let draw = |seed| {
            let mut s = Sampler::new(SamplingParams {
                seed,
                ..params.clone()
            });
            (0..20)
                .map(|_| s.sample(&mut [1.0, 1.0, 1.0, 1.0], &[]))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        let mut g = Sampler::new(SamplingParams {
            temperature: 0.0,
            repeat_penalty: 2.0,
            ..Default::default()
        });
        assert_eq!(g.sample(&mut [2.0, 1.5], &[0]), 1);
    }

    #[test]
    fn frequency_and_presence_penalties_apply_per_count() {
        let greedy = |frequency_penalty, presence_penalty| {
            Sampler::new(SamplingParams {
                temperature: 0.0,
                repeat_penalty: 1.0,
                frequency_penalty,
                presence_penalty,
                ..Default::default()
            })
        };
        // Token 0 was seen three times: 3.0 - 3 * 0.5 = 1.5 < 2.0.
        assert_eq!(greedy(0.5, 0.0).sample(&mut [3.0, 2.0], &[0, 0, 0]), 1);
        assert_eq!(greedy(0.2, 0.0).sample(&mut [3.0, 2.0], &[0, 0, 0]), 0);
        // Presence counts once: 3.0 - 0.9 = 2.1 still wins, 3.0 - 1.1 does not.
        assert_eq!(greedy(0.0, 0.9).sample(&mut [3.0, 2.0], &[0, 0, 0]), 0);
        assert_eq!(greedy(0.0, 1.1).sample(&mut [3.0, 2.0], &[0, 0, 0]), 1);
        // Outside the window nothing is penalized.
        let mut far = greedy(1.0, 1.0);
        let old: Vec<u32> = std::iter::once(0)
            .chain(std::iter::repeat_n(1, 64))
            .collect();
        assert_eq!(far.sample(&mut [3.0, -50.0], &old), 0);
    }
}
