//! Voice events (docs/case-format.md, "Voice events"): what a caller's turn does besides
//! speaking (silence, keypad tones), as the agent is told it and as the transcript records
//! it, and barge-ins, where the caller cuts the agent's previous reply off.

use crate::agent::CallerEvent;
use crate::call::conversation::{Cut, Row, RowEvent};
use crate::case::{CallerAct, Speaker};

/// What the agent is told the caller did: said `heard`, stayed silent, or typed tones.
pub(crate) fn event<'a>(act: &'a CallerAct, heard: &'a str) -> CallerEvent<'a> {
    match act {
        CallerAct::Say => CallerEvent::Said(heard),
        CallerAct::Silence(ms) => CallerEvent::Silence { ms: *ms },
        CallerAct::Dtmf(digits) => CallerEvent::Dtmf(digits),
    }
}

/// What the caller's row records when it did not speak.
pub(crate) fn row_event(act: &CallerAct) -> Option<RowEvent> {
    match act {
        CallerAct::Say => None,
        CallerAct::Silence(ms) => Some(RowEvent::Silence(*ms)),
        CallerAct::Dtmf(_) => Some(RowEvent::Dtmf),
    }
}

/// The caller of step `step` cuts in `ms` after the agent began its previous reply: what it
/// heard is the reply's first ⌊ms × wpm / 60,000⌋ words. Marks that reply cut and returns
/// the words heard; `None` when there is no previous reply or the caller let it finish.
pub(crate) fn barge_in(transcript: &mut [Row], step: u32, ms: u64, wpm: u32) -> Option<String> {
    let reply = transcript
        .iter_mut()
        .rev()
        .take_while(|row| row.step_order + 1 >= step)
        .find(|row| row.speaker == Speaker::Agent && row.step_order + 1 == step)?;
    let words: Vec<&str> = reply.text.split_whitespace().collect();
    let heard_words = (u128::from(ms) * u128::from(wpm) / 60_000).min(words.len() as u128) as usize;
    if heard_words >= words.len() {
        return None;
    }
    let heard = words[..heard_words].join(" ");
    reply.cut = Some(Cut {
        heard: heard.clone(),
        at_ms: Some(ms),
    });
    Some(heard)
}
