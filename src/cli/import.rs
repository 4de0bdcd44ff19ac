//! `voice-harness import --from PLATFORM FILE... --out DIR`: production calls into case files
//! (docs/import.md). The work is the library's (`crate::import`); this parses the
//! arguments and has `output.rs` print what it did.

use std::path::PathBuf;

use crate::import::{self, Platform};
use clap::Args;

use crate::cli::Usage;
use crate::cli::output::{self, usage};

#[derive(Args)]
#[command(
    after_help = "Exit status: 0 when the cases were written (warnings may be printed), 2 when nothing was written (an error in any file, a case file already there without --force, or a usage error)."
)]
pub(crate) struct ImportArgs {
    /// The platform the exports come from.
    #[arg(long = "from", value_name = "PLATFORM", value_parser = ["vapi", "retell", "livekit", "elevenlabs"])]
    from: String,

    /// Exported calls (JSON): one call, or a list of calls, per file.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// The folder to write the cases to (made when missing): one file per call, named from
    /// the call id.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,

    /// Write scripted cases that replay the caller's lines against the agent under test,
    /// instead of recorded cases.
    #[arg(long)]
    as_script: bool,

    /// Replace case files that are already in DIR.
    #[arg(long)]
    force: bool,
}

/// Imports, prints what was written (and the rows skipped); any error writes nothing.
pub(crate) fn import(args: &ImportArgs) -> Result<bool, Usage> {
    let platform =
        Platform::from_flag(&args.from).ok_or_else(|| usage::not_platform(&args.from))?;
    match import::import(&args.files, platform, &args.out, args.as_script, args.force) {
        Ok(imported) => {
            for warning in &imported.warnings {
                output::import_warning(warning);
            }
            for case in &imported.cases {
                output::imported_case(
                    &args.out.join(&case.name),
                    case.turns,
                    case.tool_calls,
                    &case.source,
                );
            }
            output::imported(imported.cases.len(), &args.out);
            Ok(true)
        }
        Err(errors) => {
            let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
            Err(usage::import_failed(&all, &args.out))
        }
    }
}
