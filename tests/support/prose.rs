//! Generated test text: prose whose words the counters count exactly, and plans in the
//! AgentWrite line format.

/// A tag of letters only for section `i` (digits would not count as words).
pub fn tag(prefix: &str, i: usize) -> String {
    format!("{prefix}{}", char::from(b'a' + (i % 26) as u8))
}

/// `n` words of prose in sentences of eight words, each sentence starting with `tag`.
pub fn prose(tag: &str, n: usize) -> String {
    let filler = [
        "river", "stone", "light", "harbor", "winter", "signal", "keeper",
    ];
    let mut words = Vec::with_capacity(n);
    for i in 0..n {
        let w = if i % 8 == 0 {
            tag.to_string()
        } else {
            filler[i % filler.len()].to_string()
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
