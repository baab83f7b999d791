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
        Ok(Command::Run(mut options)) => {
            if options.admin_token.is_none() {
                options.admin_token = std::env::var("SHOPTRAIL_ADMIN_TOKEN")
                    .ok()
                    .filter(|t| !t.is_empty());
            }
            *options
        }
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

    wait_for_signal().await;
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

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn wait_for_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
