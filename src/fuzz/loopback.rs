//! The in-process servers the `sse` and `retell` targets talk to through the real agents:
//! a listener on 127.0.0.1 that lives as long as the fuzzing process, serving whatever the
//! current input planned, and a tokio runtime with real time and I/O for the agent's side.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long a server socket waits to read or write before it gives up: as long as the
/// agents wait, so only a client that stopped talking meets it.
pub(crate) const SOCKET_TIMEOUT: Duration = AGENT_TIMEOUT;

/// How long the agents under test wait for one answer. The servers always answer at once,
/// so only a hang of the harness could reach it, and libFuzzer's `-timeout` (10 s in
/// fuzz/ci.sh) reports that first. Not shorter: on a loaded machine 8 MiB through the
/// sanitizer took 16 s, and a timeout in one of the `sse` target's two runs but not the
/// other would be a false finding.
pub(crate) const AGENT_TIMEOUT: Duration = Duration::from_secs(120);

thread_local! {
    static RUNTIME: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
}

/// Runs `future` on this thread's current-thread runtime with real time and I/O (built once:
/// a runtime per input would cost more than the input).
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|cell| {
        let mut slot = cell.borrow_mut();
        let runtime = slot.get_or_insert_with(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime can be built")
        });
        runtime.block_on(future)
    })
}

/// Locks `mutex`, whatever a panicking input left in it (the next input replaces it).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Binds a listener on an ephemeral port of 127.0.0.1 and serves each connection with
/// `serve` on a thread of its own (so a connection the client left open never holds up the
/// next input's); returns the address.
pub(crate) fn listen(name: &str, serve: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port can be bound");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(SOCKET_TIMEOUT));
                let _ = stream.set_write_timeout(Some(SOCKET_TIMEOUT));
                let _ = stream.set_nodelay(true);
                let _ = std::thread::Builder::new().spawn(move || serve(stream));
            }
        })
        .expect("a server thread can be started");
    addr
}

/// Reads one HTTP/1.1 request (its head, and a body of `content-length` bytes) and drops it:
/// what the harness asks is not under test here. `false` when the client went away.
pub(crate) fn read_request(stream: &TcpStream) -> bool {
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).is_ok()
}
