//! The case file (docs/case-format.md): the model, and how it is loaded. Cases are built only by
//! [`load_case`] and [`parse_case`], which check every rule, so a [`Case`] in hand is always
//! valid; that is why its fields are read through accessors and cannot be changed.
//!
//! This file only names the parts: the model is in `model.rs` (the case, its expectation and
//! sweep), `turn.rs`, `recorded.rs`, `tools.rs`, `keyword.rs` and `rules.rs`; loading in
//! `load.rs` (bytes), `json.rs` (the JSON tree) and `check/` (the rules of the format); the
//! cases of a folder in `discover.rs`.

mod check;
pub(crate) mod discover;
mod json;
mod keyword;
mod load;
mod model;
mod recorded;
mod rules;
mod tools;
mod turn;

pub use crate::message::{LoadError, Location, Problem};
pub use load::{load_case, parse_case};
pub use model::{Case, Status};
// A transcript row's parts (`run::Row`).
pub use recorded::Speaker;
pub use tools::ToolCall;

// The parts of a case: public, so an agent can read what it is given, but described by
// docs/case-format.md rather than by rustdoc, and hidden from it to keep the documented
// surface what a test author writes against (docs/ARCHITECTURE.md, "The public API").
#[doc(hidden)]
pub use crate::rng::seed_for_test_id;
#[doc(hidden)]
pub use keyword::{Keyword, KeywordRegex};
#[doc(hidden)]
pub use model::{CaseSweep, DEFAULT_TONE_MARKERS, Expect};
#[doc(hidden)]
pub use recorded::{RecordedRow, ReplayReply};
#[doc(hidden)]
pub use rules::{EndedBy, OutcomeChecks, Rule, Rules};
#[doc(hidden)]
pub use tools::{ExpectedCall, Mention, Mock, MockAnswer};
#[doc(hidden)]
pub use turn::{CallerAct, Turn};
