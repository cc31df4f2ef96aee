//! The detector on looping, copying and echoing text, and on real prose that must pass.

use super::*;

const FIXTURES: [(&str, &str); 6] = [
    ("story", include_str!("../../tests/data/prose/story.md")),
    ("essay", include_str!("../../tests/data/prose/essay.md")),
    ("howto", include_str!("../../tests/data/prose/howto.md")),
    ("ballad", include_str!("../../tests/data/prose/ballad.md")),
    ("history", include_str!("../../tests/data/prose/history.md")),
    ("zh", include_str!("../../tests/data/prose/zh.md")),
];

fn guard() -> Guard {
    Guard::new(GuardSettings::default(), [])
}

/// Streams `text` in pieces of `piece` bytes (on char boundaries); the first incident.
fn stream(guard: &Guard, before: &str, text: &str, piece: usize) -> Option<Incident> {
    let mut watch = guard.watch(before);
    let mut rest = text;
    while !rest.is_empty() {
        let mut at = piece.min(rest.len());
        while !rest.is_char_boundary(at) {
            at += 1;
        }
        let (head, tail) = rest.split_at(at);
        if let Some(incident) = watch.push(head) {
            return Some(incident);
        }
        rest = tail;
    }
    None
}

#[test]
fn real_prose_passes_whole_and_in_small_pieces() {
    for (name, text) in FIXTURES {
        for piece in [1, 7, 64, text.len()] {
            assert_eq!(
                stream(&guard(), "", text, piece),
                None,
                "{name} in pieces of {piece}"
            );
        }
    }
}

#[test]
fn a_section_may_follow_another_on_the_same_subject() {
    // The ballad retells the story: same names, same events, no copied run of 16 words.
    let guard = Guard::new(GuardSettings::default(), [FIXTURES[0].1]);
    for (name, text) in &FIXTURES[1..] {
        assert_eq!(stream(&guard, "", text, 32), None, "{name} after story");
    }
}

#[test]
fn a_looping_paragraph_is_cut_before_its_first_repeat() {
    let good = "The keeper climbed the stairs at dusk. She lit the lamp and wound the clock.";
    let looped = " The sea was calm and the light turned slowly over the dark water.";
    let text = format!("{good}{}", looped.repeat(8));
    let incident = stream(&guard(), "", &text, 5).expect("a loop");
    assert_eq!(incident.kind, GuardKind::Loop);
    // The first time the sentence is said is good text; the repeats are not.
    assert_eq!(
        &text[..incident.keep],
        format!("{good}{}", looped.trim_end())
    );
    assert!(incident.quote.contains("the light turned"), "{incident:?}");
}

#[test]
fn a_short_sentence_said_over_and_over_is_a_loop() {
    let text = "He waited by the door. ".repeat(3) + &"The wind kept on blowing. ".repeat(6);
    let incident = stream(&guard(), "", &text, 3).expect("a loop");
    assert_eq!(incident.kind, GuardKind::Loop);
    assert_eq!(
        &text[..incident.keep],
        "He waited by the door. He waited by the door. He waited by the door. The wind kept on blowing."
    );
}

#[test]
fn short_phrases_and_refrains_within_the_allowance_pass() {
    let ends = [
        "the keeper stayed",
        "the storm passed",
        "the ship came home",
        "the lamp held",
        "nobody knew why",
        "we all went home",
        "the sea won",
    ];
    let mut text: String = ends.iter().map(|e| format!("In the end, {e}. ")).collect();
    text.push_str(&"And still the light kept burning on the rock. ".repeat(5));
    assert_eq!(stream(&guard(), "", &text, 9), None);
    let sixth = text + "And still the light kept burning on the rock.";
    assert!(stream(&guard(), "", &sixth, 9).is_some());
}

#[test]
fn a_loop_that_began_in_an_earlier_piece_keeps_that_piece() {
    let before = "The lamp burned all night long by the sea. ".repeat(3);
    let text = "The lamp burned all night long by the sea. ".repeat(4);
    let incident = stream(&guard(), before.trim_end(), &format!(" {text}"), 11).expect("a loop");
    assert_eq!(incident.keep, 0, "nothing of this request is kept");
}

#[test]
fn copying_an_earlier_section_is_caught_at_its_sentence() {
    let earlier = FIXTURES[4].1;
    let guard = Guard::new(GuardSettings::default(), [earlier]);
    let fresh = "Nobody on the island had seen a fire like it.";
    let copied = "The Romans built lights across their empire, from the Black Sea to the English Channel. One of them stands.";
    let text = format!("{fresh} {copied}");
    let incident = stream(&guard, "", &text, 13).expect("a copy");
    assert_eq!(incident.kind, GuardKind::Copy);
    assert_eq!(&text[..incident.keep], fresh);
    // Fifteen words in a row are allowed; sixteen are not.
    let fifteen = "They said the Romans built lights across their empire, from the Black Sea to the English coast.";
    assert_eq!(stream(&guard, "", fifteen, 13), None);
}

#[test]
fn echoed_instructions_are_caught_and_a_short_quote_of_the_request_is_not() {
    let mut guard = guard();
    guard.set_prompts(&[
        ChatMessage::user(
            "The request:\n\"\"\"\nWrite a 1,000-word story about a lighthouse keeper\n\"\"\"\n\n\
             I will ask for the sections in order. Write only the section I ask for, continuing \
             naturally from the text you have already written.\n\n\
             Now write section 1 of 2, \"The Keeper\": Introduce Ada and the rock.",
        ),
        ChatMessage::assistant("Ada lived on the rock and kept the light for eleven years."),
    ]);
    let quote = "It is a story about a lighthouse keeper, and it begins in winter.";
    assert_eq!(stream(&guard, "", quote, 8), None);
    // The model's own earlier text is not an instruction.
    let own = "Ada lived on the rock and kept the light for eleven years, alone.";
    assert_eq!(stream(&guard, "", own, 8), None);
    let echo =
        "Ada woke early. I will ask for the sections in order. Write only the section I ask for.";
    let incident = stream(&guard, "", echo, 8).expect("an echo");
    assert_eq!(incident.kind, GuardKind::Echo);
    assert_eq!(&echo[..incident.keep], "Ada woke early.");
}

#[test]
fn chinese_text_is_counted_by_characters() {
    let before = "灯塔建于一八七六年。";
    let looped = "海面上风很大，灯光一直在转动。".repeat(7);
    let incident = stream(&guard(), before, &looped, 6).expect("a loop");
    assert_eq!(incident.kind, GuardKind::Loop);
    assert_eq!(&looped[..incident.keep], "海面上风很大，灯光一直在转动。");
}

#[test]
fn settings_that_would_flag_prose_are_refused() {
    assert_eq!(GuardSettings::default().check(), Ok(()));
    let tiny = GuardSettings {
        ngram: 2,
        ..GuardSettings::default()
    };
    let err = tiny
        .check()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("ngram = 2") && err.contains("at least 4"),
        "{err}"
    );
    let copy = GuardSettings {
        copy_words: 3,
        ..GuardSettings::default()
    };
    assert_eq!(copy.check().map_err(|e| e.key), Err("copy_words"));
}
