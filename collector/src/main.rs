//! `shoptrail-collector`: runs the collection endpoint until SIGINT/SIGTERM.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use shoptrail_collector::{parse_args, start, usage, Command};

/// How long a graceful shutdown may take before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => *options,
        Ok(Command::Help) => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("shoptrail-collector {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("shoptrail-collector: {e}\nRun 'shoptrail-collector --help' for usage.");
            return ExitCode::from(2);
        }
    };

    // Listening for the signals starts before the line that says the server is up, so a
    // signal sent right after it stops the server gracefully instead of killing the process.
    let signals = Signals::listen();
    let server = match start(options).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("shoptrail-collector: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "shoptrail-collector listening on http://{}",
        server.local_addr()
    );
    let _ = stdout.flush();
    drop(stdout);

    signals.wait().await;
    match tokio::time::timeout(SHUTDOWN_GRACE, server.shutdown()).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("shoptrail-collector: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("shoptrail-collector: shutdown timed out");
            ExitCode::FAILURE
        }
    }
}

/// SIGINT (Ctrl-C) and, on Unix, SIGTERM, listened to from creation on.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn listen() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Signals {
                term: signal(SignalKind::terminate()).ok(),
                int: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Resolves on the first of them.
    async fn wait(self) {
        #[cfg(unix)]
        {
            async fn next(s: Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                _ = next(self.term) => {}
                _ = next(self.int) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
