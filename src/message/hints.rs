//! What to do next: how to get the LLM mode, re-run one case, review a snapshot mismatch
//! (and whether this is CI, which changes that advice), and how the printed commands quote
//! their words so that they can be pasted into a shell. Read by whoever must act on a
//! failure.

/// How to get the LLM mode, for a `cargo test` user and for a runner user alike.
pub(crate) const NEEDS_LLM_HELP: &str = "under `cargo test`, add `\"llm\"` to the `features` of the voice-harness dependency in your Cargo.toml (beside `\"harness\"`); for the runner, install one built with it: `cargo install --path . --features llm` in a clone of voice-harness; see docs/llm.md";

/// Whether this is CI, by insta's rule (so the hint agrees with what insta does): `CI` set
/// to anything but `false`, `0` or empty, or else `TF_BUILD` set (Azure Pipelines).
#[cfg(any(feature = "harness", feature = "llm"))]
pub(crate) fn is_ci(lookup: impl Fn(&str) -> Option<String>) -> bool {
    match lookup("CI").as_deref() {
        Some("false" | "0" | "") => false,
        None => lookup("TF_BUILD").is_some(),
        Some(_) => true,
    }
}

// ---- re-running one case, reviewing snapshots -------------------------------------------

#[cfg(feature = "harness")]
pub(crate) fn rerun_hint(target: &str, test_name: &str) -> String {
    format!("re-run just this case:\n  cargo test --test {target} -- --exact {test_name}")
}

#[cfg(feature = "harness")]
pub(crate) fn snapshot_mismatch(folder: &str, changed: &[String], ci: bool) -> String {
    let how = if ci {
        "CI is set, so nothing was written: run `cargo test` locally, review with \
         `cargo insta review`, and commit the snapshots"
    } else {
        "review with `cargo insta review` (or `cargo insta accept`), then re-run"
    };
    format!(
        "snapshot mismatch in {folder}/: {}\n  {how}",
        changed.join(", ")
    )
}

/// `word` as one word of a POSIX shell command line: as it is when it has nothing the shell
/// would read, else in double quotes when that is enough (an `--agent-command "…"`), else in
/// single quotes.
pub(crate) fn shell_word(word: &str) -> String {
    if is_plain(word) {
        word.to_owned()
    } else if !word.contains(['"', '$', '`', '\\', '!']) {
        format!("\"{word}\"")
    } else {
        single_quoted(word)
    }
}

/// `word` as one word of a command inside an `--agent-command "…"`: as it is, or in single
/// quotes (which the outer double quotes keep).
pub(crate) fn shell_arg(word: &str) -> String {
    if is_plain(word) {
        word.to_owned()
    } else {
        single_quoted(word)
    }
}

fn is_plain(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c))
}

fn single_quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_decided_as_insta_decides_it() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |var: &str| {
                vars.iter()
                    .find(|(k, _)| *k == var)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        // Before: any `CI` counted, `CI=false` included, and `TF_BUILD` did not.
        assert!(!is_ci(env(&[("CI", "false")])));
        assert!(!is_ci(env(&[("CI", "0")])));
        assert!(!is_ci(env(&[("CI", "")])));
        assert!(!is_ci(env(&[])));
        assert!(is_ci(env(&[("CI", "true")])));
        assert!(is_ci(env(&[("CI", "1")])));
        assert!(is_ci(env(&[("TF_BUILD", "True")])));
        assert!(!is_ci(env(&[("CI", "false"), ("TF_BUILD", "True")])));
    }

    /// Words of a printed command read back as the shell would (shrink hints, #25).
    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("agent.py"), "agent.py");
        assert_eq!(shell_word("python3 agent.py"), "\"python3 agent.py\"");
        assert_eq!(shell_word("say \"hi\""), "'say \"hi\"'");
        assert_eq!(shell_word("it's $HOME"), "'it'\\''s $HOME'");
        assert_eq!(shell_word(""), "\"\"");
        assert_eq!(shell_arg("two words"), "'two words'");
        assert_eq!(shell_arg("--port=8080"), "--port=8080");
    }
}
