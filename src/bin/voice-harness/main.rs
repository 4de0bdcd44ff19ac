//! `voice-harness`: the runner. Its code is the library's (`voice_harness::cli`, feature
//! `cli`), compiled once there; this file only sets the allocator and calls it.

use std::process::ExitCode;

/// The runner's allocator: see `mimalloc` in Cargo.toml for why.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    voice_harness::cli::main()
}
