//! `cargo xtask load`: the collector under load on loopback. Builds the release collector and
//! `shoptrail-load`, starts one or more collectors on one fresh SQLite database (or, with
//! `--postgres`, a throwaway PostgreSQL cluster), lets the clients POST batches until the events
//! or seconds run out, prints what they measured and stops the collectors.

use crate::postgres::Cluster;
use crate::tasks::start_collector_at;
use crate::tools::{cmd, root, run, Result};

/// The options, with their defaults.
struct Load {
    clients: u32,
    batch: u32,
    events: u64,
    seconds: u64,
    instances: u32,
    /// Store in a throwaway PostgreSQL cluster rather than a SQLite file.
    postgres: bool,
}

fn parse(args: &[String]) -> Result<Load> {
    let mut o = Load {
        clients: 16,
        batch: 20,
        events: 200_000,
        seconds: 30,
        instances: 1,
        postgres: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> Result<u64> {
            it.next()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|v| *v > 0)
                .ok_or(format!("{name} needs a positive number"))
        };
        match a.as_str() {
            "--clients" => o.clients = value(a)?.min(1024) as u32,
            "--batch" => o.batch = value(a)?.min(2500) as u32,
            "--events" => o.events = value(a)?,
            "--seconds" => o.seconds = value(a)?.min(3600),
            "--instances" => o.instances = value(a)?.min(8) as u32,
            "--postgres" => o.postgres = true,
            other => {
                return Err(format!(
                    "unknown load option {other}: try --clients N --batch N --events N \
                     --seconds N --instances N --postgres"
                ))
            }
        }
    }
    Ok(o)
}

/// `cargo xtask load [--clients 16] [--batch 20] [--events 200000] [--seconds 30]
/// [--instances 1] [--postgres]`.
pub fn load(args: &[String]) -> Result {
    let o = parse(args)?;
    run(cmd("cargo").args(["build", "--release", "-p", "shoptrail-collector", "--bins"]))?;
    let dir = root().join("target/load");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Declared before the collectors, so dropped after them.
    let cluster = if o.postgres {
        Some(Cluster::start()?)
    } else {
        None
    };
    let file = dir.join("load.db");
    let db = match &cluster {
        Some(cluster) => {
            eprintln!(
                "engine: PostgreSQL {} ({})",
                cluster.version(),
                cluster.url()
            );
            cluster.url()
        }
        None => {
            let db = file
                .to_str()
                .ok_or("the target directory's path is not UTF-8")?;
            eprintln!("engine: SQLite ({db})");
            db
        }
    };
    let bin = root().join("target/release/shoptrail-collector");
    // The closing metrics query is a dashboard's: it takes a read token.
    const READ_TOKEN: &str = "load-read-token-0123456789";
    let collectors = (0..o.instances)
        .map(|_| {
            start_collector_at(
                &bin,
                &[
                    "--port",
                    "0",
                    "--db",
                    db,
                    "--rate-limit",
                    "0",
                    "--read-token",
                    READ_TOKEN,
                ],
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let mut c = cmd(root()
        .join("target/release/shoptrail-load")
        .to_str()
        .ok_or("the target directory's path is not UTF-8")?);
    for collector in &collectors {
        c.args(["--target", &collector.url]);
    }
    c.env("SHOPTRAIL_READ_TOKEN", READ_TOKEN);
    c.args([
        "--clients",
        &o.clients.to_string(),
        "--batch",
        &o.batch.to_string(),
        "--events",
        &o.events.to_string(),
        "--seconds",
        &o.seconds.to_string(),
    ]);
    let outcome = run(&mut c);
    drop(collectors);
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}
