//! One test per case file in `cases/`, answered by the built-in agents.
voice_harness::harness!();
