#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod agent;
mod case;
mod error;
mod external;
mod fuzz;
mod harness;
mod load;
mod metrics;
mod normalize;
mod render;
mod rng;
mod run;
mod simulate;
mod store;
mod suite;
mod validate;

pub use agent::{
    Agent, AgentError, BuiltinAgent, CallStart, CallerLine, IdealAgent, ReplayAgent, Reply,
};
pub use case::{
    Case, DEFAULT_TONE_MARKERS, Expect, RecordedRow, ReplayReply, Speaker, Status, Turn,
};
pub use error::{LoadError, Location, Problem};
pub use external::{CommandAgent, HttpAgent};
pub use load::{MAX_CASE_FILE_BYTES, load_case, parse_case};
pub use metrics::Metrics;
pub use normalize::{FILLERS, appears_in, tokens};
pub use rng::seed_for_test_id;
pub use run::{Outcome, RunOptions, run_case};
pub use simulate::{MAX_REPLY_BYTES, Row};
pub use store::{
    CaseStore, DEFAULT_MAX_RUNS, DEFAULT_MAX_TRANSCRIPT_SIZE, EnvError, Limits, Run, RunId,
    RunStore, Store,
};
pub use suite::{
    CaseReport, JsonReportWriter, MissingPath, ReportStatus, SuiteOptions, Summary,
    find_case_files, report_path, run_suite,
};
pub use validate::{StepResult, ToneCheck};

/// Generates a `main` that makes one test per `.json` file under the cases folder.
///
/// Put it alone in a test target with `harness = false` (without it, cargo's own harness
/// runs and finds 0 tests):
///
/// ```toml
/// [[test]]
/// name = "cases"
/// harness = false
/// ```
///
/// ```rust,no_run
/// // tests/cases.rs: every case in cases/, answered by the built-in agents
/// voice_harness::harness!();
/// ```
///
/// Options, `key = value`, in any order, each optional:
/// - `root`: the cases folder, relative to the crate root. The default is `"cases"`.
/// - `snapshots`: the snapshot folder, relative to the crate root. The default is
///   `"snapshots"`. A case `<root>/billing/refund.json` has its snapshots in
///   `<snapshots>/billing/refund/transcript.snap` and `metrics.snap`.
/// - `agent`: a function or closure `FnOnce(&Case) -> impl Agent`, called once per simulated
///   call. The default is [`BuiltinAgent::for_case`] (the replay agent for cases with
///   `agent.replay`, else the ideal agent). A bound agent answers every simulated case; a
///   case's own `agent.replay` is then not used, and a recorded `transcript` is still
///   validated as recorded.
///
/// ```rust,no_run
/// # struct MyBot;
/// # impl MyBot { fn new() -> Self { MyBot } }
/// # impl voice_harness::Agent for MyBot {
/// #     async fn reply(&mut self, _: &voice_harness::CallerLine<'_>)
/// #         -> Result<voice_harness::Reply, voice_harness::AgentError> { todo!() }
/// # }
/// voice_harness::harness!(agent = |_case| MyBot::new());
/// ```
#[macro_export]
macro_rules! harness {
    ($($key:ident = $value:expr),* $(,)?) => {
        $crate::__harness_options! {
            { root = "cases", snapshots = "snapshots", agent = $crate::BuiltinAgent::for_case }
            $($key = $value,)*
        }
    };
}

/// Not part of the public API: folds `harness!`'s options over the defaults.
#[doc(hidden)]
#[macro_export]
macro_rules! __harness_options {
    ({ root = $r:expr, snapshots = $s:expr, agent = $a:expr } root = $v:expr, $($rest:tt)*) => {
        $crate::__harness_options! { { root = $v, snapshots = $s, agent = $a } $($rest)* }
    };
    ({ root = $r:expr, snapshots = $s:expr, agent = $a:expr } snapshots = $v:expr, $($rest:tt)*) => {
        $crate::__harness_options! { { root = $r, snapshots = $v, agent = $a } $($rest)* }
    };
    ({ root = $r:expr, snapshots = $s:expr, agent = $a:expr } agent = $v:expr, $($rest:tt)*) => {
        $crate::__harness_options! { { root = $r, snapshots = $s, agent = $v } $($rest)* }
    };
    ({ $($done:tt)* } $key:ident = $value:expr, $($rest:tt)*) => {
        ::std::compile_error!(::std::concat!(
            "voice_harness::harness!: unknown option `", ::std::stringify!($key),
            "`; expected `root`, `snapshots` or `agent`"
        ));
    };
    ({ root = $root:expr, snapshots = $snapshots:expr, agent = $agent:expr }) => {
        fn case(path: &::std::path::Path) -> $crate::__private::datatest_stable::Result<()> {
            $crate::__private::check_case_file(
                &$crate::__private::HarnessConfig {
                    manifest_dir: env!("CARGO_MANIFEST_DIR"),
                    root: $root,
                    snapshots: $snapshots,
                    test_target: env!("CARGO_CRATE_NAME"),
                    test_fn: "case",
                    target_tmpdir: ::std::option_env!("CARGO_TARGET_TMPDIR"),
                },
                path,
                $agent,
                |name: &str, contents: &str| {
                    // Expanded here, in the user's crate, so insta resolves the workspace
                    // and the snapshot's `source:` against the user's crate.
                    $crate::__private::insta::assert_snapshot!(name, contents);
                },
            )
            .map_err(::std::convert::Into::into)
        }

        $crate::__private::datatest_stable::harness! {
            { test = case, root = $root, pattern = r"\.json$" },
        }
    };
}

/// Not part of the public API: support for [`harness!`].
#[doc(hidden)]
pub mod __private {
    pub use crate::harness::{CaseFailure, HarnessConfig, check_case_file, harness_store};

    /// The fuzz targets' bodies (see `fuzz/`).
    pub mod fuzz {
        pub use crate::fuzz::{load, validate};
    }
    pub use datatest_stable;
    pub use insta;
}
