//! Not part of the public API: the runner's plumbing, hidden from the docs.
//!
//! The processes of agent programs ([`super::CommandAgent`]): what is running, how a call's
//! whole tree is ended, and how a run that is interrupted stops every one (issue #23).
//!
//! A program starts as the leader of a process group of its own, and ending the call kills
//! that group. A process that leaves the group (`setsid sleep 1000 &`, a daemon) is found
//! another way: every agent program is started with `MARK` in its environment, set to a
//! value of its own call, which everything it starts inherits; at the end of the call, on
//! Linux, every process that carries the call's mark is killed too.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// The environment variable that marks an agent program and whatever it starts: `<pid of
/// the harness>.<call number>`.
pub(crate) const MARK: &str = "VOICE_HARNESS_AGENT_CALL";

static NEXT_CALL: AtomicU64 = AtomicU64::new(0);

/// Set once the run is interrupted: no agent program starts after that.
static STOPPED: AtomicBool = AtomicBool::new(false);

/// Told when the run is interrupted, so a loop of calls in flight stops at once.
static STOP: std::sync::LazyLock<tokio::sync::Notify> =
    std::sync::LazyLock::new(tokio::sync::Notify::new);

/// Completes once the run is interrupted ([`stop_all`]).
#[cfg(feature = "cli")]
pub(crate) async fn interrupted() {
    let notified = STOP.notified();
    if !stopped() {
        notified.await;
    }
}

/// This process is a child subreaper ([`become_subreaper`]): orphans come to it.
#[cfg(target_os = "linux")]
static SUBREAPER: AtomicBool = AtomicBool::new(false);

/// The agent programs that tokio may still wait for (it reaps them itself): never reaped
/// here. A program leaves once its call has waited for it ([`waited`]); one whose agent
/// was dropped stays, as tokio reaps it in its own time.
static AGENTS: Mutex<std::collections::BTreeSet<u32>> =
    Mutex::new(std::collections::BTreeSet::new());

fn agents() -> std::sync::MutexGuard<'static, std::collections::BTreeSet<u32>> {
    AGENTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The agent programs running now: each call's mark, and its program's pid (the leader of
/// its process group).
static LIVE: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());

fn live() -> std::sync::MutexGuard<'static, BTreeMap<String, u32>> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A new call's mark: unique in this process, and told apart from another harness's.
pub(crate) fn new_mark() -> String {
    format!(
        "{}.{}",
        std::process::id(),
        NEXT_CALL.fetch_add(1, Ordering::Relaxed)
    )
}

/// The run was interrupted ([`stop_all`]): no agent program may start, and no call that
/// ends from now on counts.
pub fn stopped() -> bool {
    STOPPED.load(Ordering::SeqCst)
}

/// Notes a started program, so that [`stop_all`] can end it.
pub(crate) fn started(mark: &str, pid: u32) {
    agents().insert(pid);
    live().insert(mark.to_owned(), pid);
    // Interrupted between the check before starting and now: end it at once.
    if stopped() {
        end_tree(Some(pid), mark);
    }
}

/// The program `pid` has been waited for (reaped by tokio).
pub(crate) fn waited(pid: Option<u32>) {
    if let Some(pid) = pid {
        agents().remove(&pid);
    }
}

/// Ends the call's whole tree: the program's process group, and every process that carries
/// the call's mark (those that left the group); forgets the call.
pub(crate) fn end_tree(group: Option<u32>, mark: &str) {
    let agent = live().remove(mark);
    kill_group(group.or(agent));
    #[cfg(target_os = "linux")]
    {
        let entry = format!("{MARK}={mark}");
        linux::kill_marked(|e| e == entry.as_bytes(), &[group.or(agent)]);
    }
}

/// Stops every agent program of this process, and whatever each started, and refuses to
/// start any more: for a run that is interrupted (Ctrl-C, SIGTERM). The calls in flight
/// then fail at once, as a program that exited.
pub fn stop_all() {
    STOPPED.store(true, Ordering::SeqCst);
    STOP.notify_waiters();
    let calls: Vec<(String, u32)> = std::mem::take(&mut *live()).into_iter().collect();
    for (_, pid) in &calls {
        kill_group(Some(*pid));
    }
    #[cfg(target_os = "linux")]
    {
        let prefix = format!("{MARK}={}.", std::process::id());
        let agents: Vec<Option<u32>> = calls.iter().map(|(_, pid)| Some(*pid)).collect();
        linux::kill_marked(|e| e.starts_with(prefix.as_bytes()), &agents);
    }
}

/// Ends the processes this one inherited as a child subreaper (see [`become_subreaper`]):
/// orphans of the agent programs, such as a daemon that left its call's group and cleared
/// its environment. Called once every call is over; kills and reaps each.
pub fn reap_orphans() {
    #[cfg(target_os = "linux")]
    linux::reap_orphans(&live().values().copied().collect::<Vec<_>>());
}

/// Makes this process a child subreaper (Linux): a process its agent programs started and
/// left behind (`setsid cmd &`, then the program exits) becomes its child rather than
/// init's, so it is still found and ended ([`reap_orphans`]). For the runner, whose
/// process is its own; a library in someone else's test process does not change it.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        // Without it (an old kernel) orphans go to init, as before.
        let set = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
        SUBREAPER.store(set.is_ok(), Ordering::SeqCst);
    }
}

/// Kills a process group (the program leads its own).
pub(crate) fn kill_group(group: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = group.and_then(|id| rustix::process::Pid::from_raw(id as i32)) {
        // The group may already be gone: nothing to do then.
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = group;
}

#[cfg(target_os = "linux")]
mod linux {
    use rustix::process::{Pid, Signal, WaitOptions, kill_process, waitpid};

    /// The pids in /proc, but this process's own.
    fn processes() -> impl Iterator<Item = u32> {
        let me = std::process::id();
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(move |&pid| pid != me)
    }

    /// The state and parent of `pid`, from /proc/PID/stat (after the command's bracket).
    fn state(pid: u32) -> Option<(char, u32)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
        let state = fields.next()?.chars().next()?;
        Some((state, fields.next()?.parse().ok()?))
    }

    /// The parent of `pid`.
    fn parent(pid: u32) -> Option<u32> {
        state(pid).map(|(_, parent)| parent)
    }

    /// `pid` is a child of `me` that has exited (a zombie) and that no agent of tokio's is:
    /// an orphan this subreaper inherited, to be reaped.
    fn exited_orphan(pid: u32, me: u32) -> bool {
        state(pid) == Some(('Z', me)) && !super::agents().contains(&pid)
    }

    /// Kills every process with an environment entry `matches` takes, and reaps those that
    /// became this process's children (orphans, with the subreaper). `agents` are the
    /// programs themselves: tokio waits for those. As a subreaper, also reaps the orphans
    /// that have exited since (zombies: their environment is gone), those of any call.
    pub(super) fn kill_marked(matches: impl Fn(&[u8]) -> bool, agents: &[Option<u32>]) {
        let mut killed = Vec::new();
        let subreaper = super::SUBREAPER.load(std::sync::atomic::Ordering::SeqCst);
        let me = std::process::id();
        for pid in processes() {
            if subreaper && exited_orphan(pid, me) {
                reap(std::iter::once(pid));
                continue;
            }
            // Another user's process cannot be read, nor be ours to kill.
            let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
                continue;
            };
            if environ.split(|b| *b == 0).any(&matches) {
                if let Some(p) = Pid::from_raw(pid as i32) {
                    let _ = kill_process(p, Signal::KILL);
                    killed.push(pid);
                }
            }
        }
        reap(
            killed
                .into_iter()
                .filter(|pid| !agents.contains(&Some(*pid))),
        );
    }

    /// Waits for those of `pids` that are this process's children, briefly: a killed
    /// process is reaped in microseconds; one that is not is left, a zombie until the
    /// harness exits, rather than hold the call up.
    fn reap(pids: impl Iterator<Item = u32>) {
        let me = std::process::id();
        for pid in pids {
            if parent(pid) != Some(me) {
                continue;
            }
            let Some(p) = Pid::from_raw(pid as i32) else {
                continue;
            };
            for _ in 0..100 {
                match waitpid(Some(p), WaitOptions::NOHANG) {
                    Ok(None) => std::thread::sleep(std::time::Duration::from_millis(1)),
                    _ => break,
                }
            }
        }
    }

    /// Kills and reaps every child of this process that is not an agent program of a call
    /// in flight (`agents`): what is left is an orphan this subreaper inherited.
    pub(super) fn reap_orphans(agents: &[u32]) {
        let me = std::process::id();
        let orphans: Vec<u32> = processes()
            .filter(|&pid| parent(pid) == Some(me) && !agents.contains(&pid))
            .collect();
        for &pid in &orphans {
            if let Some(p) = Pid::from_raw(pid as i32) {
                let _ = kill_process(p, Signal::KILL);
            }
        }
        reap(orphans.into_iter());
    }
}
