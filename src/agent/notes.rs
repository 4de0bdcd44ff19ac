//! What an agent tells the call about a reply besides the reply (a measured latency, a
//! timeout hint, waits counted on the virtual clock): notes the call installs around every
//! poll of the agent's reply, so nothing on the `Agent` trait needs forwarding and an agent
//! wrapped in another is heard the same (docs/ARCHITECTURE.md, "Agent").

thread_local! {
    /// While the call polls an agent's reply (see [`noting`]): what the agent tells it.
    static NOTES: std::cell::RefCell<Option<Notes>> = const { std::cell::RefCell::new(None) };
}

/// What the crate's own agents tell the call about a reply, besides the reply: written while
/// the call polls the reply (the call installs the notes around every poll, see [`noting`]),
/// so an agent wrapped in another is heard all the same, and no wrapper forwards anything.
/// Not an `Agent` method on purpose: an agent written by a user has nothing to say here.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    /// [`wait_ms`] counts its waits here instead of sleeping (an agent on the virtual clock).
    pub(crate) counting: bool,
    /// The virtual milliseconds counted so far.
    pub(crate) counted_ms: u64,
    /// The reply's latency as the agent measured it: a streaming agent's time to its first
    /// content token, what a voice pipeline's speech synthesis waits for.
    pub(crate) latency_ms: Option<u64>,
    /// What the agent can add to a turn timeout's message (a program that wrote nothing at
    /// all: its reply may sit in its output buffer).
    pub(crate) timeout_hint: Option<String>,
}

/// Runs `f` (one poll of an agent's future) with `notes` installed, so what the agent notes
/// lands in them. A panic in `f` still takes them back.
pub(crate) fn noting<T>(notes: &mut Notes, f: impl FnOnce() -> T) -> T {
    struct Restore<'n> {
        notes: &'n mut Notes,
        outer: Option<Notes>,
    }
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let mine = NOTES.with(|n| n.replace(self.outer.take()));
            *self.notes = mine.unwrap_or_default();
        }
    }
    let outer = NOTES.with(|n| n.replace(Some(std::mem::take(notes))));
    let _restore = Restore { notes, outer };
    f()
}

/// Writes into the notes of the reply being polled; nothing outside a call's poll.
fn note(f: impl FnOnce(&mut Notes)) {
    NOTES.with(|n| {
        if let Some(notes) = n.borrow_mut().as_mut() {
            f(notes);
        }
    });
}

/// The reply's latency as the agent measured it (see [`Notes::latency_ms`]).
pub(crate) fn note_latency(ms: u64) {
    note(|n| n.latency_ms = Some(ms));
}

/// What a turn timeout's message should add, as things stand now (`None`: nothing).
pub(crate) fn note_timeout_hint(hint: Option<String>) {
    note(|n| n.timeout_hint = hint);
}

/// Waits `ms` on the call's clock (a replayed latency, a tool mock's). For an agent on the
/// virtual clock, polled by the call, the wait is counted into the reply's latency instead
/// of slept on tokio's paused clock: the same milliseconds, without a timer and a trip
/// through tokio's driver (which took a tenth of a large suite's time), and never cut by
/// the turn timeout (a replayed latency is data, not a wait). Elsewhere it sleeps, as any
/// agent's wait does.
pub(crate) async fn wait_ms(ms: u64) {
    if ms == 0 {
        return;
    }
    let counted = NOTES.with(|n| match n.borrow_mut().as_mut() {
        Some(notes) if notes.counting => {
            notes.counted_ms += ms;
            true
        }
        _ => false,
    });
    if !counted {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    #[test]
    fn notes_count_waits_hear_a_wrapped_agent_and_survive_a_panic() {
        let poll_once = |ms: &[u64]| {
            let waits: Vec<_> = ms.iter().map(|ms| wait_ms(*ms)).collect();
            let waker = std::task::Waker::noop();
            let mut cx = std::task::Context::from_waker(waker);
            for wait in waits {
                let ready = std::pin::pin!(wait).poll(&mut cx).is_ready();
                assert!(ready, "a counted wait is over at once");
            }
        };
        let mut notes = Notes {
            counting: true,
            ..Notes::default()
        };
        noting(&mut notes, || {
            poll_once(&[0, 200, 35]);
            note_latency(12);
            note_timeout_hint(Some("flush".into()));
        });
        assert_eq!(notes.counted_ms, 235);
        assert_eq!(notes.latency_ms, Some(12));
        assert_eq!(notes.timeout_hint.as_deref(), Some("flush"));
        // Notes inside notes (a call inside a call's poll) are their own, and the outer
        // ones come back after.
        let mut outer = Notes::default();
        noting(&mut outer, || {
            let mut inner = Notes::default();
            noting(&mut inner, || note_latency(5));
            assert_eq!(inner.latency_ms, Some(5));
            note_latency(7);
        });
        assert_eq!(outer.latency_ms, Some(7));
        // A panic still hands the notes back, with what was noted before it.
        let mut notes = Notes::default();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            noting(&mut notes, || {
                note_latency(3);
                panic!("a bug")
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(notes.latency_ms, Some(3));
        // Not counting (an agent on real time): a wait sleeps.
        let mut real = Notes::default();
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut wait = std::pin::pin!(wait_ms(40));
            let pending = noting(&mut real, || wait.as_mut().poll(&mut cx).is_pending());
            assert!(pending, "not counting: the wait is a sleep");
        });
        assert_eq!(real.counted_ms, 0);
        // Outside: a wait is a sleep again (pending until a timer fires), not a count.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let waited = runtime.block_on(async {
            let start = tokio::time::Instant::now();
            wait_ms(40).await;
            start.elapsed()
        });
        assert_eq!(waited, std::time::Duration::from_millis(40));
    }
}
