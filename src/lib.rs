#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
// Without a front end (`harness!` or the runner), only `run_case` and the loader are used:
// the pipeline's stages for them are there, unused.
#![cfg_attr(
    not(any(feature = "harness", feature = "cli")),
    allow(dead_code, unused_imports)
)]

pub mod agent;
mod call;
pub mod case;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
// Every environment variable, in one place; public (hidden) for the runner's two.
#[doc(hidden)]
pub mod config;
#[cfg(feature = "fuzz")]
mod fuzz;
#[cfg(feature = "harness")]
mod harness;
// What the agent hears lives with the caller (`call/caller/hearing.rs`).
use call::caller::hearing;
// `voice-harness import` (docs/import.md): the runner's, not part of the public API.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod import;
// The runner's machinery (limits, the run store, sweeps, reports): public so the crate's
// own tests reach it, hidden from the docs because it may change in any
// release (docs/ARCHITECTURE.md, "The public API").
#[doc(hidden)]
pub mod limits;
#[cfg(feature = "llm")]
pub mod llm;
mod message;
mod metrics;
mod normalize;
mod numbers;
mod pipeline;
mod prepare;
#[cfg(feature = "harness")]
mod render;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod report;
mod rng;
pub mod run;
mod stats;
#[doc(hidden)]
pub mod store;
#[doc(hidden)]
pub mod sweep;
mod tool_match;
mod validate;

// The root holds what a test author writes against; the rest is in the modules above,
// which follow the data flow: case → agent → run (call, validate, metrics) → report.
#[cfg(feature = "retell")]
pub use agent::RetellAgent;
pub use agent::{
    Agent, AgentError, BuiltinAgent, CallStart, CallerLine, CommandAgent, HttpAgent, IdealAgent,
    OpenAiAgent, ReplayAgent, Reply,
};
pub use case::{Case, LoadError, Status, load_case, parse_case};
pub use normalize::{appears_in, tokens};
#[doc(hidden)]
pub use prepare::Shard;
pub use run::{Outcome, RunOptions, run_case};

/// Generates a `main` that makes one test per `.json` file under the cases folder.
///
/// Needs the crate's `harness` feature (off by default: the default build is the
/// runner's): `voice-harness = { ..., default-features = false, features = ["harness"] }`.
/// Without it, the macro is a compile error that says so.
///
/// Put it alone in a test target with `harness = false`:
///
/// ```toml
/// [[test]]
/// name = "cases"
/// harness = false
/// ```
///
/// Without `harness = false` cargo's own harness would run and find no case; the macro
/// also emits a `#[test]` that exists only under cargo's harness and fails with this fix.
///
/// ```rust,no_run
/// // tests/cases.rs: every case in cases/, answered by the built-in agents
/// voice_harness::harness!();
/// ```
///
/// Options, `key = value`, in any order, each optional:
/// - `root`: the cases folder, relative to the crate root. The default is `"cases"`. A
///   missing or empty folder fails the test binary with a message naming it.
/// - `snapshots`: the snapshot folder, relative to the crate root. The default is
///   `"snapshots"`. A case `<root>/billing/refund.json` has its snapshots in
///   `<snapshots>/billing/refund/transcript.snap` and `metrics.snap`.
/// - `agent`: a function or closure `Fn(&Case) -> impl Agent`, called once per simulated
///   call. The default is [`BuiltinAgent::for_case`] (the replay agent for cases with
///   `agent.replay`, else the ideal agent). A bound agent answers every simulated case; a
///   case's own `agent.replay` is then not used, and a recorded `transcript` is still
///   validated as recorded. The agent may not borrow the case (it is built before the
///   call and its type cannot name the case's lifetime): clone what it needs, e.g.
///   `agent = |case| MyAgent::new(case.clone())`.
/// - `options`: a [`RunOptions`] expression, e.g. a longer turn timeout for a slow agent:
///   `options = RunOptions::default().with_turn_timeout(Duration::from_secs(30))`. The
///   default is [`RunOptions::default`]. The environment variables of
///   [`limits`](crate::limits) (`MAX_TRANSCRIPT_SIZE`) still override its limits, as they
///   do for the runner.
///
/// ```rust,no_run
/// # struct MyBot;
/// # impl MyBot { fn new() -> Self { MyBot } }
/// # impl voice_harness::Agent for MyBot {
/// #     async fn reply(&mut self, _: &voice_harness::CallerLine<'_>)
/// #         -> Result<voice_harness::Reply, voice_harness::AgentError> { todo!() }
/// # }
/// use std::time::Duration;
/// use voice_harness::RunOptions;
///
/// voice_harness::harness!(
///     agent = |_case| MyBot::new(),
///     options = RunOptions::default().with_turn_timeout(Duration::from_secs(30)),
/// );
/// ```
#[macro_export]
macro_rules! harness {
    ($($key:ident = $value:expr),* $(,)?) => {
        $crate::__harness_options! {
            {
                root = "cases",
                snapshots = "snapshots",
                agent = $crate::BuiltinAgent::for_case,
                options = $crate::RunOptions::default()
            }
            $($key = $value,)*
        }
    };
}

/// Not part of the public API: folds `harness!`'s options over the defaults.
#[doc(hidden)]
#[macro_export]
macro_rules! __harness_options {
    ({ root = $r:expr, snapshots = $s:expr, agent = $a:expr, options = $o:expr } root = $v:expr, $($rest:tt)*) => {
        $crate::__harness_options! { { root = $v, snapshots = $s, agent = $a, options = $o } $($rest)* }
    };
    ({ root = $r:expr, snapshots = $s:expr, agent = $a:expr, options = $o:expr } snapshots = $v:expr, $($rest:tt)*) => {
        $crate::__harness_options! { { root = $r, snapshots = $v, agent = $a, options = $o } $($rest)* }
    };
    ({ root = $r:expr, snapshots = $s:expr, agent = $a:expr, options = $o:expr } agent = $v:expr, $($rest:tt)*) => {
        $crate::__harness_options! { { root = $r, snapshots = $s, agent = $v, options = $o } $($rest)* }
    };
    ({ root = $r:expr, snapshots = $s:expr, agent = $a:expr, options = $o:expr } options = $v:expr, $($rest:tt)*) => {
        $crate::__harness_options! { { root = $r, snapshots = $s, agent = $a, options = $v } $($rest)* }
    };
    ({ $($done:tt)* } $key:ident = $value:expr, $($rest:tt)*) => {
        ::std::compile_error!(::std::concat!(
            "voice_harness::harness!: unknown option `", ::std::stringify!($key),
            "`; expected `root`, `snapshots`, `agent` or `options`"
        ));
    };
    ({ root = $root:expr, snapshots = $snapshots:expr, agent = $agent:expr, options = $options:expr }) => {
        $crate::__harness_main! { $root, $snapshots, $agent, $options }
    };
}

/// Not part of the public API: the test binary's `main` that [`harness!`] generates.
#[cfg(feature = "harness")]
#[doc(hidden)]
#[macro_export]
macro_rules! __harness_main {
    ($root:expr, $snapshots:expr, $agent:expr, $options:expr) => {
        const __VOICE_HARNESS_CONFIG: $crate::__private::HarnessConfig =
            $crate::__private::HarnessConfig {
                manifest_dir: env!("CARGO_MANIFEST_DIR"),
                root: $root,
                snapshots: $snapshots,
                source_file: ::std::file!(),
                crate_name: env!("CARGO_CRATE_NAME"),
                test_fn: "case",
                target_tmpdir: ::std::option_env!("CARGO_TARGET_TMPDIR"),
            };

        fn case(path: &::std::path::Path) -> $crate::__private::datatest_stable::Result<()> {
            $crate::__private::check_case_file(
                &__VOICE_HARNESS_CONFIG,
                path,
                $agent,
                || $options,
                |name: &str, contents: &str| {
                    // Expanded here, in the user's crate, so insta resolves the workspace
                    // and the snapshot's `source:` against the user's crate.
                    $crate::__private::insta::assert_snapshot!(name, contents);
                },
            )
            .map_err(::std::convert::Into::into)
        }

        fn main() -> ::std::process::ExitCode {
            // A missing or empty cases folder is said plainly, before datatest-stable
            // would panic about it.
            if let ::std::result::Result::Err(message) =
                $crate::__private::check_root(&__VOICE_HARNESS_CONFIG)
            {
                ::std::eprintln!("{message}");
                return ::std::process::ExitCode::FAILURE;
            }
            // datatest-stable's `main`, declared in this block so it shadows this one.
            $crate::__private::datatest_stable::harness! {
                { test = case, root = $root, pattern = r"\.json$" },
            }
            main()
        }

        /// Exists only when cargo's own test harness compiled this file: then the cases
        /// would silently not run.
        #[test]
        fn harness_is_not_false() {
            ::std::panic!("{}", $crate::__private::HARNESS_NOT_FALSE);
        }
    };
}

/// Without the `harness` feature, [`harness!`] says how to turn it on.
#[cfg(not(feature = "harness"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __harness_main {
    ($($anything:tt)*) => {
        ::std::compile_error!(
            "voice_harness::harness! needs the crate's `harness` feature: in Cargo.toml, \
             `voice-harness = { path = \"...\", default-features = false, features = [\"harness\"] }`"
        );
        // So that the error above is the only one.
        fn main() {}
    };
}

/// Not part of the public API: support for [`harness!`].
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "harness")]
    pub use crate::harness::{
        CaseFailure, HARNESS_NOT_FALSE, HarnessConfig, check_case_file, check_root, harness_store,
    };

    /// The fuzz targets' bodies (see `fuzz/`).
    #[cfg(feature = "fuzz")]
    pub mod fuzz {
        pub use crate::fuzz::*;
    }
    #[cfg(feature = "harness")]
    pub use datatest_stable;
    #[cfg(feature = "harness")]
    pub use insta;
}
