//! What `sweep` adds to a run: its plan from the flags (checked before any call: a bound no
//! sweep can meet, a folder `--shrink` cannot write), and the pacing of its calls' starts
//! (`--rate`).

use std::time::{Duration, Instant};

use crate::report::ShrinkTo;
use crate::sweep::{self, SweepOptions};

use crate::cli::Usage;
use crate::cli::args::SweepArgs;
use crate::cli::output::usage;

/// What `sweep` adds to a run.
pub(crate) struct SweepPlan {
    /// Seeds, first seed, repeats and the pass-rate bound.
    pub(crate) options: SweepOptions,
    /// `--shrink DIR`: where minimal failing cases go.
    pub(crate) shrink: Option<ShrinkTo>,
}

impl SweepArgs {
    /// The sweep the flags ask for, or why they cannot be met.
    pub(crate) fn plan(&self) -> Result<SweepPlan, Usage> {
        // `--seed` is the first seed of every case's sweep, as `--from` is (SweepOptions
        // falls back to the run's seed): two different first seeds are a mistake.
        let from = match (self.from, self.run.seed) {
            (Some(from), Some(seed)) if from != seed => {
                return Err(usage::seed_and_from(seed, from));
            }
            (from, seed) => from.or(seed),
        };
        if let (Some(from), Some(seeds)) = (from, self.seeds) {
            if from.checked_add(seeds - 1).is_none() {
                return Err(usage::seeds_overflow(from, seeds));
            }
        }
        // A bound the flags alone can never meet (issue 23, fault 16); one that only a
        // case's own `sweep.seeds` cannot meet is that case's error.
        if let Some(rate) = self.min_pass_rate {
            let runs = self
                .seeds
                .map(|seeds| seeds.saturating_mul(u64::from(self.repeat)));
            let why = match runs {
                // Without --seeds, only a bound of 1 is beyond every case.
                None if rate >= 1.0 => sweep::why_unreachable(1, rate, self.repeat),
                None => None,
                Some(runs) => sweep::why_unreachable(runs, rate, self.repeat),
            };
            if let Some(why) = why {
                return Err(usage::unreachable_rate(self.seeds, rate, &why));
            }
        }
        if let Some(dir) = &self.shrink {
            std::fs::create_dir_all(dir)
                .and_then(|()| {
                    let probe = dir.join(".voice-harness-write-test");
                    std::fs::write(&probe, b"")?;
                    std::fs::remove_file(probe)
                })
                .map_err(|e| usage::shrink_unwritable(dir, e))?;
        }
        let mut options = SweepOptions::default()
            .with_from(self.from)
            .with_repeat(self.repeat)
            .with_min_pass_rate(self.min_pass_rate);
        options.seeds = self.seeds;
        Ok(SweepPlan {
            options,
            shrink: self.shrink.clone().map(ShrinkTo),
        })
    }
}

/// Spaces the starts of a sweep's calls, from any thread, at least 1/rate seconds apart:
/// a call waits for the slot after the last one given out, never for a slot in the past,
/// so a stall is never followed by a burst.
pub(crate) struct Pacer {
    every: Duration,
    next: std::sync::Mutex<Option<Instant>>,
}

impl Pacer {
    /// Starts at most `rate` calls a second.
    pub(crate) fn new(rate: f64) -> Self {
        Self {
            every: Duration::from_secs_f64(1.0 / rate),
            next: std::sync::Mutex::new(None),
        }
    }

    /// Waits for this call's start.
    pub(crate) fn wait(&self) {
        let start = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let start = next.map_or(now, |at| at.max(now));
            *next = Some(start + self.every);
            start
        };
        std::thread::sleep(start.saturating_duration_since(Instant::now()));
    }
}
