//! Ctrl-C and SIGTERM: the first stops every agent program and lets the run write the
//! reports of the cases that finished; a second exits at once.

/// The exit status of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report
/// an interrupted command).
pub(crate) const INTERRUPTED: u8 = 130;

/// On Ctrl-C (SIGINT) or SIGTERM: stop every agent program (and all each started), start
/// no more calls, and let the run write the reports of the cases that finished, marked
/// interrupted; the runner then exits 130. A second signal exits at once (#23.10).
pub(crate) fn catch_interrupts() {
    #[cfg(unix)]
    {
        use crate::agent::processes;
        use tokio::signal::unix::{Signal, SignalKind, signal};

        use crate::cli::output;

        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        // Registered here, before any call starts, so no signal is missed.
        let signals = runtime.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        });
        let Ok((mut int, mut term)) = signals else {
            return;
        };
        /// The next SIGINT or SIGTERM.
        async fn next(int: &mut Signal, term: &mut Signal) {
            std::future::poll_fn(|cx| {
                if int.poll_recv(cx).is_ready() || term.poll_recv(cx).is_ready() {
                    std::task::Poll::Ready(())
                } else {
                    std::task::Poll::Pending
                }
            })
            .await;
        }
        std::thread::spawn(move || {
            runtime.block_on(async {
                next(&mut int, &mut term).await;
                output::interrupting();
                processes::stop_all();
                next(&mut int, &mut term).await;
                processes::stop_all();
                std::process::exit(INTERRUPTED.into());
            });
        });
    }
}
