//! `shoptrail-load`: drives running collectors with concurrent clients POSTing Segment
//! batches, until a number of events or seconds is reached, and prints the events stored a
//! second and the requests' latency. `cargo xtask load` starts the collectors and runs it.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};

/// shoptrail-load: concurrent clients POST batches to collectors and measure them.
/// The user agent of the generated events: a browser's, so that they take the path a
/// shopper's events take.
const LOAD_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 shoptrail-load";

#[derive(Debug, Parser)]
#[command(name = "shoptrail-load", version)]
struct Cli {
    /// A collector's base URL, such as http://127.0.0.1:8080 (repeatable: the clients are
    /// spread over them in turn)
    #[arg(long = "target", value_name = "URL", required = true)]
    targets: Vec<String>,
    /// Concurrent clients, each with one keep-alive connection
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    clients: u32,
    /// Events per batch
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=2500))]
    batch: u32,
    /// Stop after this many events in all
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    events: u64,
    /// Stop after this many seconds, whatever was sent
    #[arg(long, value_name = "S", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    seconds: u64,
    /// Print the result as one JSON object instead of text
    #[arg(long)]
    json: bool,
    /// A read token (or the admin token) for the closing GET /v1/metrics (or
    /// SHOPTRAIL_READ_TOKEN)
    #[arg(
        long,
        value_name = "SECRET",
        env = "SHOPTRAIL_READ_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
}

/// What one client measured.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    accepted: u64,
    duplicates: u64,
    failed_requests: u64,
    first_error: Option<String>,
}

/// A batch of `n` track events with ids unique to this client and batch.
fn batch(client: u32, seq: u64, n: u32) -> String {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "type": "track",
                "messageId": format!("load-{client}-{seq}-{i}"),
                "anonymousId": format!("load-device-{client}"),
                "event": "Product Viewed",
                "timestamp": "2026-11-30T12:00:00.000Z",
                "properties": { "product_id": format!("p-{}", i % 50), "price": 19.99, "currency": "USD" },
                "context": { "sessionId": 1_764_504_000_000u64 + u64::from(client),
                             // A browser's: a crawler's would be marked and take the
                             // shorter path (see the collector's `bots`).
                             "userAgent": LOAD_AGENT },
            })
        })
        .collect();
    json!({ "batch": events, "sentAt": "2026-11-30T12:00:00.000Z" }).to_string()
}

async fn client(
    id: u32,
    url: String,
    size: u32,
    budget: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> Tally {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let mut tally = Tally::default();
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        // Take this batch's events from the shared budget; none left ends the client.
        let taken = budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                (left > 0).then(|| left.saturating_sub(u64::from(size)))
            })
            .map(|left| left.min(u64::from(size)) as u32);
        let Ok(n) = taken else { break };
        let body = batch(id, seq, n);
        seq += 1;
        let start = Instant::now();
        let sent = http
            .post(format!("{url}/v1/batch"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await;
        let answer = match sent {
            Ok(r) if r.status().is_success() => r
                .bytes()
                .await
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string())),
            Ok(r) => Err(format!("HTTP {}", r.status())),
            Err(e) => Err(e.to_string()),
        };
        tally.latencies_us.push(start.elapsed().as_micros() as u64);
        match answer {
            Ok(v) => {
                tally.accepted += v["accepted"].as_u64().unwrap_or(0);
                tally.duplicates += v["duplicates"].as_u64().unwrap_or(0);
            }
            Err(e) => {
                tally.failed_requests += 1;
                tally.first_error.get_or_insert(e);
            }
        }
    }
    tally
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let budget = Arc::new(AtomicU64::new(cli.events));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..cli.clients {
        let url = cli.targets[id as usize % cli.targets.len()]
            .trim_end_matches('/')
            .to_string();
        tasks.spawn(client(
            id,
            url,
            cli.batch,
            Arc::clone(&budget),
            Arc::clone(&stop),
        ));
    }
    let timer = {
        let stop = Arc::clone(&stop);
        let seconds = cli.seconds;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let mut all = Tally::default();
    while let Some(done) = tasks.join_next().await {
        let Ok(t) = done else { continue };
        all.latencies_us.extend(t.latencies_us);
        all.accepted += t.accepted;
        all.duplicates += t.duplicates;
        all.failed_requests += t.failed_requests;
        if all.first_error.is_none() {
            all.first_error = t.first_error;
        }
    }
    timer.abort();
    let elapsed = started.elapsed().as_secs_f64();
    // The metrics' facts are derived behind ingestion: the first query after the load waits
    // for what is still missing, so its time shows how far behind they were.
    let metrics_started = Instant::now();
    let mut metrics = reqwest::Client::new().get(format!(
        "{}/v1/metrics",
        cli.targets[0].trim_end_matches('/')
    ));
    if let Some(token) = &cli.token {
        metrics = metrics.bearer_auth(token);
    }
    let metrics = metrics.send().await.map(|r| r.status().is_success());
    let metrics_ms = match metrics {
        Ok(true) => Some(metrics_started.elapsed().as_millis() as u64),
        _ => None,
    };
    all.latencies_us.sort_unstable();
    let requests = all.latencies_us.len();
    let result = json!({
        "targets": cli.targets,
        "clients": cli.clients,
        "batch": cli.batch,
        "seconds": (elapsed * 100.0).round() / 100.0,
        "requests": requests,
        "failedRequests": all.failed_requests,
        "accepted": all.accepted,
        "duplicates": all.duplicates,
        "eventsPerSecond": (all.accepted as f64 / elapsed).round(),
        "p50Ms": percentile(&all.latencies_us, 0.50),
        "p99Ms": percentile(&all.latencies_us, 0.99),
        "firstError": all.first_error,
        "metricsAfterMs": metrics_ms,
    });
    if cli.json {
        println!("{result}");
    } else {
        println!(
            "{} clients, batches of {}, {} target(s): {} events stored in {:.2} s = {} events/s; \
             {} requests, p50 {:.2} ms, p99 {:.2} ms; {} failed, {} duplicates",
            cli.clients,
            cli.batch,
            cli.targets.len(),
            all.accepted,
            elapsed,
            result["eventsPerSecond"],
            requests,
            result["p50Ms"].as_f64().unwrap_or(0.0),
            result["p99Ms"].as_f64().unwrap_or(0.0),
            all.failed_requests,
            all.duplicates,
        );
        match metrics_ms {
            Some(ms) => println!("then GET /v1/metrics answered in {ms} ms"),
            None => println!("then GET /v1/metrics failed"),
        }
        if let Some(e) = &all.first_error {
            println!("first error: {e}");
        }
    }
    if all.failed_requests > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
