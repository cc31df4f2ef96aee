//! The engine thread's loop: continuous batching over the model's slots. Each slot is one
//! sequence with its own KV cache and the token ids in it. A request takes the free slot whose
//! cache shares the longest prefix with its prompt (prefix reuse per slot), else waits in
//! arrival order. Every step runs one batched forward pass over the last sampled token of each
//! decoding sequence and a chunk of each joining sequence's prompt (at most
//! [`PREFILL_WHILE_DECODING`] prompt tokens when others are decoding, so they are not
//! starved); sequences join and leave between steps. A request whose reply channel is dropped
//! is cancelled before the next step and frees its slot; its cache stays for reuse.

use super::models::{Item, Model, ModelError};
use super::sampler::Sampler;
use super::tokenizer::{TokenOutputStream, Tokenizer};
use super::worker::{Counts, EngineError, Event, Finish, Job, Request};
use std::collections::VecDeque;
use std::sync::mpsc as std_mpsc;
use tokio::sync::mpsc;

/// Prompt tokens one step computes, across joining sequences, while others are decoding: a
/// step then takes about as long as that many tokens of prefill, which bounds the pause the
/// decoding streams see. With nobody decoding, the model's prefill chunk applies.
pub const PREFILL_WHILE_DECODING: usize = 128;

/// Tokens that end a turn in the families we know.
const END_OF_TURN: &[&str] = &[
    "<end_of_turn>",
    "<|eot_id|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|user|>",
];

/// A generation in progress in a slot.
struct Run<'t> {
    job: Job,
    reply: mpsc::UnboundedSender<Event>,
    /// The prompt's token ids; the slot's cache holds them once prefill is done.
    prompt: Vec<u32>,
    /// The sampled token the next step feeds (decoding), `None` while prefilling.
    next: Option<u32>,
    sampler: Sampler,
    stream: TokenOutputStream<'t>,
    /// Text held back because it could begin a stop string.
    pending: String,
    counts: Counts,
}

/// One sequence: the ids in its KV cache and what it is generating.
struct Slot<'t> {
    cached: Vec<u32>,
    /// The step it was last given a request, to prefer the least recently used free slot.
    used: u64,
    run: Option<Run<'t>>,
}

/// What the loop owns: the model, its slots and the requests waiting for one.
struct Batcher<'t> {
    model: Box<dyn Model>,
    tokenizer: &'t Tokenizer,
    slots: Vec<Slot<'t>>,
    waiting: VecDeque<Request>,
    stops: Vec<u32>,
    steps: u64,
}

/// What became of a run after its logits were sampled.
enum Outcome {
    /// It goes on with this token.
    Next(u32),
    /// It ended.
    Finished(Finish),
    /// Its receiver is gone.
    Cancelled,
}

/// Runs requests from `inbox` until every sender is gone and the last run has finished.
pub(crate) fn serve(
    model: Box<dyn Model>,
    tokenizer: Tokenizer,
    inbox: std_mpsc::Receiver<Request>,
) {
    let stops = END_OF_TURN
        .iter()
        .filter_map(|t| tokenizer.token_id(t))
        .chain(tokenizer.eos_id())
        .collect();
    let slots = (0..model.slots())
        .map(|_| Slot {
            cached: Vec::new(),
            used: 0,
            run: None,
        })
        .collect();
    let mut b = Batcher {
        model,
        tokenizer: &tokenizer,
        slots,
        waiting: VecDeque::new(),
        stops,
        steps: 0,
    };
    loop {
        if b.idle() {
            match inbox.recv() {
                Ok(request) => b.waiting.push_back(request),
                Err(_) => return,
            }
        }
        while let Ok(request) = inbox.try_recv() {
            b.waiting.push_back(request);
        }
        b.admit();
        b.step();
    }
}

/// Logs a job whose receiver went away (a client that hung up, a writer that cut a section):
/// generation stops here.
fn cancelled(counts: Counts) {
    tracing::info!(
        "engine: request cancelled after {} generated tokens (its receiver is gone)",
        counts.completion_tokens
    );
}

/// Length of the longest common prefix.
pub fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// How many bytes at the end of `text` could begin a stop string.
pub fn held_back(text: &str, stop: &[String]) -> usize {
    stop.iter()
        .flat_map(|s| {
            (1..s.len())
                .rev()
                .filter(move |&n| s.is_char_boundary(n))
                .map(move |n| &s[..n])
        })
        .filter(|prefix| text.ends_with(prefix))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// The free slot for `ids`: the longest cached prefix, then the least recently used.
pub fn pick_slot<'a>(
    free: impl Iterator<Item = (usize, &'a [u32], u64)>,
    ids: &[u32],
) -> Option<usize> {
    free.max_by_key(|&(i, cached, used)| {
        (
            common_prefix(cached, ids),
            std::cmp::Reverse(used),
            std::cmp::Reverse(i),
        )
    })
    .map(|(i, _, _)| i)
}

impl<'t> Batcher<'t> {
    fn idle(&self) -> bool {
        self.waiting.is_empty() && self.slots.iter().all(|s| s.run.is_none())
    }

    /// Gives waiting requests free slots, in arrival order; refuses those that cannot fit.
    fn admit(&mut self) {
        while let Some(request) = self.waiting.pop_front() {
            if request.reply.is_closed() {
                cancelled(Counts::default());
                continue;
            }
            let ids = self.tokenizer.encode_with(
                &request.job.prompt,
                !self.starts_with_bos(&request.job.prompt),
                true,
            );
            let context = self.model.context();
            if ids.len() >= context {
                let e = EngineError::PromptTooLong {
                    tokens: ids.len(),
                    context,
                };
                let _ = request.reply.send(Event::Refused(e.to_string()));
                continue;
            }
            let free = self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.run.is_none())
                .map(|(i, s)| (i, s.cached.as_slice(), s.used));
            let Some(at) = pick_slot(free, &ids) else {
                self.waiting.push_front(request);
                return;
            };
            self.start(at, request, ids);
        }
    }

    /// Starts `request` in slot `at`, keeping the cached prefix it shares.
    fn start(&mut self, at: usize, request: Request, ids: Vec<u32>) {
        let slot = &mut self.slots[at];
        // At least one prompt token must be computed to get the next token's logits.
        let reuse = common_prefix(&slot.cached, &ids).min(ids.len() - 1);
        self.model.truncate_slot(at, reuse);
        slot.cached.truncate(reuse);
        slot.used = self.steps;
        let counts = Counts {
            prompt_tokens: ids.len(),
            prompt_computed: ids.len() - reuse,
            completion_tokens: 0,
        };
        tracing::debug!(
            "engine: request in slot {at}: {} prompt tokens, {} computed, {reuse} from the KV cache",
            counts.prompt_tokens,
            counts.prompt_computed
        );
        slot.run = Some(Run {
            sampler: Sampler::new(request.job.sampling.clone()),
            job: request.job,
            reply: request.reply,
            prompt: ids,
            next: None,
            stream: TokenOutputStream::new(self.tokenizer, true),
            pending: String::new(),
            counts,
        });
    }

    /// What each active slot feeds this step: decoders their token, joiners a prompt chunk.
    fn plan(&mut self) -> Vec<(usize, Vec<u32>)> {
        for slot in &mut self.slots {
            if slot.run.as_ref().is_some_and(|r| r.reply.is_closed()) {
                if let Some(run) = slot.run.take() {
                    cancelled(run.counts);
                }
            }
        }
        let mut plan: Vec<(usize, Vec<u32>)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, vec![s.run.as_ref()?.next?])))
            .collect();
        let mut budget = if plan.is_empty() {
            self.model.prefill_chunk()
        } else {
            PREFILL_WHILE_DECODING
        };
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(run) = slot.run.as_ref().filter(|r| r.next.is_none()) else {
                continue;
            };
            if budget == 0 {
                break;
            }
            let from = slot.cached.len();
            let take = run.prompt.len().saturating_sub(from).min(budget);
            if take == 0 {
                continue;
            }
            plan.push((i, run.prompt[from..from + take].to_vec()));
            budget -= take;
        }
        plan
    }

    /// One batched forward pass over every active slot, then sampling where a prompt is done.
    fn step(&mut self) {
        let plan = self.plan();
        if plan.is_empty() {
            return;
        }
        self.steps += 1;
        let items: Vec<Item<'_>> = plan
            .iter()
            .map(|(slot, ids)| Item { slot: *slot, ids })
            .collect();
        let rows = self
            .model
            .forward_batch(&items)
            .and_then(|logits| Ok(logits.to_vec2::<f32>()?));
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => return self.fail(&plan, &e),
        };
        for ((at, fed), mut values) in plan.into_iter().zip(rows) {
            let slot = &mut self.slots[at];
            slot.cached.extend_from_slice(&fed);
            let Some(run) = slot.run.as_mut() else {
                continue;
            };
            if slot.cached.len() < run.prompt.len() {
                continue;
            }
            let context = self.model.context();
            match run.after(&mut values, &slot.cached, context, &self.stops) {
                Outcome::Next(token) => run.next = Some(token),
                Outcome::Finished(finish) => {
                    if let Some(run) = slot.run.take() {
                        run.finish(finish);
                    }
                }
                Outcome::Cancelled => {
                    if let Some(run) = slot.run.take() {
                        cancelled(run.counts);
                    }
                }
            }
        }
    }

    /// A failed pass: every run in it gets the error, and their caches are forgotten.
    fn fail(&mut self, plan: &[(usize, Vec<u32>)], e: &ModelError) {
        for (at, _) in plan {
            self.model.truncate_slot(*at, 0);
            let slot = &mut self.slots[*at];
            slot.cached.clear();
            if let Some(run) = slot.run.take() {
                let _ = run.reply.send(Event::Error(e.to_string()));
            }
        }
    }

    fn starts_with_bos(&self, prompt: &str) -> bool {
        self.tokenizer
            .bos_id()
            .and_then(|id| self.tokenizer.token_text(id))
            .is_some_and(|bos| !bos.is_empty() && prompt.starts_with(bos))
    }
}

impl Run<'_> {
    /// Samples the next token from `values` (`cached` being the slot's ids) and sends the text
    /// it completes.
    fn after(
        &mut self,
        values: &mut [f32],
        cached: &[u32],
        context: usize,
        stops: &[u32],
    ) -> Outcome {
        if self.counts.completion_tokens >= self.job.max_tokens || cached.len() >= context {
            return Outcome::Finished(Finish::Length);
        }
        if self.reply.is_closed() {
            return Outcome::Cancelled;
        }
        let token = self.sampler.sample(values, cached);
        self.counts.completion_tokens += 1;
        if stops.contains(&token) {
            return Outcome::Finished(Finish::Stop);
        }
        if let Some(text) = self.stream.push(token) {
            self.pending.push_str(&text);
        }
        let stop = &self.job.stop;
        if let Some(at) = stop
            .iter()
            .filter_map(|s| self.pending.find(s.as_str()))
            .min()
        {
            self.pending.truncate(at);
            let _ = self
                .reply
                .send(Event::Text(std::mem::take(&mut self.pending)));
            return Outcome::Finished(Finish::Stop);
        }
        let keep = held_back(&self.pending, stop);
        let out: String = self.pending.drain(..self.pending.len() - keep).collect();
        if !out.is_empty() && self.reply.send(Event::Text(out)).is_err() {
            return Outcome::Cancelled;
        }
        Outcome::Next(token)
    }

    /// Sends what is left of the text and the end.
    fn finish(mut self, finish: Finish) {
        if let Some(rest) = self.stream.flush() {
            self.pending.push_str(&rest);
        }
        if !self.pending.is_empty() {
            let _ = self
                .reply
                .send(Event::Text(std::mem::take(&mut self.pending)));
        }
        tracing::debug!(
            "engine: request done ({finish:?}), {} generated",
            self.counts.completion_tokens
        );
        let _ = self.reply.send(Event::Done(finish, self.counts));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_back_a_possible_stop_start() {
        let stop = vec!["\n\n###".to_string()];
        assert_eq!(held_back("abc\n\n#", &stop), 3);
        assert_eq!(held_back("abc", &stop), 0);
        assert_eq!(common_prefix(&[1, 2, 3], &[1, 2, 4]), 2);
    }

    #[test]
    fn a_request_takes_the_slot_with_its_prefix_else_the_least_recently_used() {
        let (a, b, empty): (&[u32], &[u32], &[u32]) = (&[1, 2, 3], &[7, 8], &[]);
        let free = || vec![(0, a, 5), (1, b, 3), (2, empty, 9)].into_iter();
        assert_eq!(pick_slot(free(), &[7, 8, 9]), Some(1));
        assert_eq!(pick_slot(free(), &[1, 2]), Some(0));
        // No shared prefix: the one used longest ago.
        assert_eq!(pick_slot(free(), &[4]), Some(1));
        assert_eq!(pick_slot(std::iter::empty(), &[4]), None);
    }
}
