//! 200 calls in a row through `CommandAgent` leave no child process and no descriptor
//! behind. A test binary of its own: descriptors are counted for the whole process, so no
//! other test may run beside it.

mod common;

use voice_harness::{CommandAgent, RunOptions, run_case};

fn case() -> voice_harness::Case {
    common::two_steps()
}

/// The tests count this process's children and descriptors: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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

/// Whether process `pid` is gone (or a zombie nobody waits for, which holds nothing).
#[cfg(target_os = "linux")]
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            stat.rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next())
                == Some("Z")
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_program_started_through_a_wrapper_leaves_no_grandchild() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // The wrapper shell starts a helper in the background (a grandchild of the harness),
    // then answers the call; both must end with the call.
    let script = format!(
        r#"sleep 300 & echo $! >> {pids}; echo $$ >> {pids}; while read -r line; do case "$line" in *'"event":"user"'*) echo '{{"text": "hello bye"}}';; esac; done"#,
        pids = pids.display()
    );
    let mut agent = CommandAgent::new(["sh", "-c", &script]);
    let outcome = run_case(&case(), &mut agent, &RunOptions::default());
    assert_eq!(outcome.status, voice_harness::Status::Pass);
    let pids: Vec<u32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "the helper and the wrapper");
    // The kill is sent at the end of the call; the kernel may take a moment to reap.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !pids.iter().all(|&p| gone(p)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for pid in pids {
        assert!(gone(pid), "process {pid} outlived its call");
    }
}

/// Writes a grandchild that leaves the program's group and session (`setsid`) and sleeps,
/// then answers every user event: `g.<pid of the program>` holds the grandchild's pid.
#[cfg(target_os = "linux")]
fn setsid_agent(dir: &std::path::Path) -> String {
    format!(
        r#"cd {dir}; setsid sh -c 'echo $$ > g.tmp.'$$'; mv g.tmp.'$$' g.'$$'; exec sleep 1000' & while [ ! -s g.$$ ]; do sleep 0.01; done; while read -r line; do case "$line" in *'"event":"user"'*) echo '{{"text": "hello bye"}}';; esac; done"#,
        dir = dir.display()
    )
}

/// The grandchildren `setsid_agent` wrote down.
#[cfg(target_os = "linux")]
fn grandchildren(dir: &std::path::Path) -> Vec<u32> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("g."))
        .filter(|e| !e.file_name().to_string_lossy().starts_with("g.tmp."))
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        })
        .collect()
}

/// Issue #23.12: a process the program started in a session of its own (`setsid`, so
/// outside the program's process group) ends with the call too.
#[cfg(target_os = "linux")]
#[test]
fn a_grandchild_in_a_session_of_its_own_ends_with_the_call() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let script = setsid_agent(dir.path());
    let mut agent = CommandAgent::new(["sh", "-c", &script]);
    let outcome = run_case(&case(), &mut agent, &RunOptions::default());
    assert_eq!(outcome.status, voice_harness::Status::Pass);
    let pids = grandchildren(dir.path());
    assert_eq!(pids.len(), 1, "one grandchild");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !pids.iter().all(|&p| gone(p)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for pid in pids {
        let outlived = !gone(pid);
        if outlived {
            // Not left for the next test run to trip over.
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
        assert!(!outlived, "grandchild {pid} (setsid) outlived its call");
    }
}

/// Issue #23.10, under `cargo test`: when the test process dies without ending the call
/// (killed by a signal), the agent program's stdin closes, and a program that exits when
/// its stdin ends (docs/agent-protocol.md) does not outlive it. The test runs itself as
/// that test process and kills it mid-call.
#[cfg(target_os = "linux")]
#[test]
fn an_agent_that_reads_its_stdin_ends_with_a_killed_test_process() {
    const CHILD: &str = "VOICE_HARNESS_NO_LEAKS_CHILD";
    if let Some(dir) = std::env::var_os(CHILD) {
        // The test process: a call whose agent answers step 1 and then waits for input.
        let dir = std::path::PathBuf::from(dir);
        let script = format!(
            r#"cd {dir}; echo $$ > agent.tmp; mv agent.tmp agent; while read -r line; do case "$line" in *'"step_order":1,'*) echo '{{"text": "hello"}}';; esac; done"#,
            dir = dir.display()
        );
        let options = RunOptions::default().with_turn_timeout(std::time::Duration::from_secs(600));
        run_case(
            &case(),
            &mut CommandAgent::new(["sh", "-c", &script]),
            &options,
        );
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    /// Killed (and reaped) when dropped, so a failing assertion leaves no test process.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let test_process = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "an_agent_that_reads_its_stdin_ends_with_a_killed_test_process",
            "--test-threads",
            "1",
        ])
        .env(CHILD, dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut test_process = KillOnDrop(test_process);
    let agent = dir.path().join("agent");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !agent.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid: u32 = std::fs::read_to_string(&agent)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Mid-call: step 2 waits for a reply that never comes.
    std::thread::sleep(std::time::Duration::from_millis(300));
    test_process.0.kill().unwrap();
    test_process.0.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !gone(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let outlived = !gone(pid);
    if outlived {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
    assert!(!outlived, "agent {pid} outlived its killed test process");
}
