//! Generated test text: prose whose words the counters count exactly, and plans in the
//! AgentWrite line format.

/// A tag of letters only for section `i` (digits would not count as words).
pub fn tag(prefix: &str, i: usize) -> String {
    format!("{prefix}{}", char::from(b'a' + (i % 26) as u8))
}

/// Filler words of five and six letters (the servers in `windowed` count tokens by
/// characters, so the mix sets the tokens per word).
const FILLER: [&str; 28] = [
    "river", "stone", "light", "cliff", "storm", "ocean", "tower", "waves", "beach", "north",
    "shore", "flame", "harbor", "winter", "signal", "keeper", "island", "beacon", "vessel",
    "anchor", "gravel", "summer", "autumn", "silver", "copper", "candle", "pebble", "meadow",
];

/// `n` filler words drawn by a generator seeded with `seed`: the same seed gives the same
/// words, and no run of words comes back, so the writer's loop and copy guards stay quiet
/// as they would on real prose.
pub fn filler_words(seed: u64, n: usize) -> Vec<&'static str> {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            FILLER[(state % FILLER.len() as u64) as usize]
        })
        .collect()
}

/// A seed from a text, for `filler_words`.
pub fn seed_of(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// `n` words of prose in sentences of eight words, each sentence starting with `tag`.
pub fn prose(tag: &str, n: usize) -> String {
    let mut filler = filler_words(seed_of(tag) ^ n as u64, n).into_iter();
    let mut words = Vec::with_capacity(n);
    for i in 0..n {
        let w = if i % 8 == 0 {
            tag.to_string()
        } else {
            filler.next().unwrap_or("river").to_string()
        };
        words.push(if i % 8 == 7 || i + 1 == n {
            format!("{w}.")
        } else {
            w
        });
    }
    words.join(" ")
}

/// A plan in the AgentWrite line format, `n` sections of `each` words.
pub fn agentwrite_plan(n: usize, each: usize) -> String {
    let mut out = String::from("Here is the plan:\n\n");
    for i in 1..=n {
        out.push_str(&format!(
            "Paragraph {i} - Title: Part {i} - Main Point: Describe stage {i} of the lighthouse's life. - Word Count: {each} words\n"
        ));
    }
    out
}
