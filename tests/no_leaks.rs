//! 200 calls in a row through `CommandAgent` leave no child process and no descriptor
//! behind. A test binary of its own: descriptors are counted for the whole process, so no
//! other test may run beside it.

mod common;

use voice_harness::{CommandAgent, RunOptions, run_case};

fn case() -> voice_harness::Case {
    common::two_steps()
}

#[cfg(target_os = "linux")]
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// This process's children running `sh` (other tests run other programs in parallel).
#[cfg(target_os = "linux")]
fn sh_children() -> Vec<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.contains(" (sh) "))
        .filter(|stat| {
            stat.rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().nth(1))
                == Some(me.as_str())
        })
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn two_hundred_calls_leave_no_process_or_descriptor_behind() {
    // `sh` starts in a millisecond: answer every user event, exit when stdin closes.
    let script = r#"while read -r line; do case "$line" in *'"event":"user"'*) echo '{"text": "hello bye"}';; esac; done"#;
    let run = || {
        let outcome = run_case(
            &case(),
            &mut CommandAgent::new(["sh", "-c", script]),
            &RunOptions::default(),
        );
        assert!(
            outcome.steps.iter().all(|s| s.passed),
            "{:?}",
            outcome.steps
        );
    };
    run(); // warm up: the runtime's own descriptors exist from here on
    let fds = open_fds();
    for _ in 0..200 {
        run();
    }
    assert_eq!(
        sh_children(),
        Vec::<String>::new(),
        "child processes left behind"
    );
    assert_eq!(open_fds(), fds, "descriptors leaked");
}
