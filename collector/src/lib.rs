//! Reference collection endpoint for shoptrail.
//!
//! The collector accepts events in the shape of Segment's HTTP tracking API
//! (`POST /v1/batch`, `/v1/track`, `/v1/page`, ...), validates them, stores
//! them in SQLite or PostgreSQL (deduplicated by `messageId`) and serves them back at
//! `GET /v1/events` and live at `/_shoptrail/`. It can also serve static
//! files, such as a demo storefront and the SDK's WebAssembly build.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let options = shoptrail_collector::Options {
//!     db: "events.db".into(),
//!     port: 0,
//!     ..Default::default()
//! };
//! let server = shoptrail_collector::start(options).await?;
//! println!("listening on http://{}", server.local_addr());
//! server.shutdown().await
//! # }
//! ```

#![warn(missing_docs)]

mod access;
mod backfill;
pub mod bots;
mod cli;
mod clock;
mod consent;
mod cookieless;
mod db;
mod encoding;
mod erasure;
mod error;
pub mod forward;
mod http;
mod idcookie;
mod identity;
pub mod journeys;
mod limit;
mod live;
mod metrics;
mod outbound;
mod params;
mod profiles;
mod proxy;
mod retention;
mod serve;
pub mod shopify;
mod state;
mod store;
mod time;
mod tokens;
mod validate;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use cli::{parse_args, usage, ArgError, Command};
pub use clock::Clock;
pub use forward::{Destination, Format as ForwardFormat, Kind as ForwardKind};
pub use journeys::config::JourneysConfig;
pub use proxy::Trusted;
pub use serve::ConnectionLimits;

/// The default `--max-body`: 512 KiB.
pub const DEFAULT_MAX_BODY: usize = 512 * 1024;

/// POST requests a second per client address, by default.
pub const DEFAULT_RATE_LIMIT: u32 = 50;

/// How the server is set up; [`Options::default`] matches the CLI defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The database: a SQLite file path (created when missing) or a `postgres://` URL.
    pub db: String,
    /// TCP port; 0 asks the system for a free one.
    pub port: u16,
    /// IP address to listen on.
    pub bind: IpAddr,
    /// Directories served as static files.
    pub statics: Vec<StaticMount>,
    /// Origins allowed to make cross-origin requests to the ingestion routes. Empty (or
    /// containing `*`) allows every origin.
    pub allow_origins: Vec<String>,
    /// Largest accepted request body, in bytes.
    pub max_body: usize,
    /// The bearer token of the admin routes (events, the live stream, profiles, export, ...);
    /// without one they answer 403.
    pub admin_token: Option<String>,
    /// Bearer tokens of the read routes (metrics, journey summaries), for dashboards.
    pub read_tokens: Vec<String>,
    /// Origins whose pages may call the read and admin routes (with a token); empty: none.
    pub dashboard_origins: Vec<String>,
    /// Host names (without port) the read and admin routes answer besides this machine's.
    pub public_hosts: Vec<String>,
    /// Proxies whose `X-Forwarded-*` headers are believed (`--trust-proxy`).
    pub trusted_proxies: Vec<Trusted>,
    /// Connections at once and the time each has for a request's headers.
    pub connections: ConnectionLimits,
    /// How long events and what derives from them are kept (`--retention`); `None`: for
    /// ever.
    pub retention: Option<std::time::Duration>,
    /// Accepted write keys; empty accepts every batch.
    pub write_keys: Vec<String>,
    /// POST requests a second per client address (bursts of four seconds' worth); 0: no
    /// limit.
    pub rate_limit: u32,
    /// Journeys to run (`--journeys FILE`).
    pub journeys: Option<Arc<JourneysConfig>>,
    /// The clock events are received and journeys scheduled by.
    pub clock: Clock,
    /// Where accepted events are forwarded: every one (`--forward URL`), or those of people
    /// who consent to marketing (`--forward-marketing URL`); see [`ForwardKind`].
    pub forward: Vec<Destination>,
    /// How often the scheduler looks for due journey steps, the forwarder for outbox rows and
    /// the metrics for events without facts; zero: never by itself (a caller runs
    /// [`Server::run_journeys`] and [`Server::run_forwarding`]; a metrics query derives what
    /// it needs first in any case).
    pub scheduler_interval: std::time::Duration,
    /// The Shopify app's client secret, which signs its webhooks (`--shopify-secret`);
    /// without it `/v1/sources/shopify/webhooks` answers 404.
    pub shopify_secret: Option<String>,
    /// The shops whose webhooks are taken (`--shopify-shop`, lower-case); empty: any shop the
    /// secret signs for.
    pub shopify_shops: Vec<String>,
    /// What traffic from crawler user agents does (`--bots`).
    pub bots: bots::Bots,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            db: "./shoptrail.db".to_owned(),
            port: 8080,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            statics: Vec::new(),
            allow_origins: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
            admin_token: None,
            read_tokens: Vec::new(),
            dashboard_origins: Vec::new(),
            public_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            connections: ConnectionLimits::default(),
            retention: None,
            write_keys: Vec::new(),
            rate_limit: DEFAULT_RATE_LIMIT,
            journeys: None,
            forward: Vec::new(),
            clock: Clock::system(),
            scheduler_interval: std::time::Duration::from_secs(1),
            shopify_secret: None,
            shopify_shops: Vec::new(),
            bots: bots::Bots::default(),
        }
    }
}

/// A directory served under a URL prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticMount {
    /// URL prefix without a trailing slash, such as `/dist`; empty for `/`.
    pub prefix: String,
    /// Directory whose files are served.
    pub dir: PathBuf,
}

impl StaticMount {
    /// Parses `DIR` (served at `/`) or `/PREFIX=DIR`.
    pub fn parse(spec: &str) -> Result<StaticMount, String> {
        let (prefix, dir) = match spec.split_once('=') {
            Some((prefix, dir)) if prefix.starts_with('/') => (prefix, dir),
            _ => ("/", spec),
        };
        if dir.is_empty() {
            return Err(format!("'{spec}' names no directory"));
        }
        let prefix = prefix.trim_end_matches('/');
        if prefix.contains(['?', '#', '{', '}', '*']) || prefix.contains("//") {
            return Err(format!("'{prefix}' is not a usable URL prefix"));
        }
        Ok(StaticMount {
            prefix: prefix.to_owned(),
            dir: PathBuf::from(dir),
        })
    }
}

/// A running collector. Dropping it shuts the server down, like
/// [`Server::shutdown`] without waiting.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<io::Result<()>>,
    scheduler: Option<Arc<journeys::scheduler::Scheduler>>,
    sender: Option<Arc<forward::sender::Sender>>,
    retention: Option<retention::Purger>,
    backfilled: watch::Receiver<bool>,
}

impl Server {
    /// The address the server is listening on (with the real port when
    /// port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends the journey steps due now (by the server's clock) and waits for the webhook's
    /// answers; gives how many were delivered (0 without journeys). The server also does
    /// this every `scheduler_interval`.
    pub async fn run_journeys(&self) -> usize {
        match &self.scheduler {
            Some(s) => s.tick().await,
            None => 0,
        }
    }

    /// Forwards what the destinations may take now (by the server's clock), batch after
    /// batch; gives how many events were delivered (0 without `--forward`). The server also
    /// does this every `scheduler_interval`.
    pub async fn run_forwarding(&self) -> usize {
        match &self.sender {
            Some(s) => s.round().await,
            None => 0,
        }
    }

    /// Purges what `--retention` no longer keeps (by the server's clock); gives the rows
    /// removed (0 without it). The server also does this at start and every ten minutes.
    pub async fn run_retention(&self) -> io::Result<u64> {
        match &self.retention {
            Some(p) => p.run().await,
            None => Ok(0),
        }
    }

    /// Waits until the rewrites of stored rows that start with the server are over (done,
    /// failed or stopped by shutdown): at present, hiding the raw link tokens of events
    /// stored before ingestion hid them.
    pub async fn backfilled(&self) {
        let mut done = self.backfilled.clone();
        let _ = done.wait_for(|done| *done).await;
    }

    /// Stops accepting connections, ends live streams, lets requests in
    /// flight finish and waits until the server has stopped.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await.map_err(io::Error::other)?
    }
}

/// Opens the database, binds the listener and starts serving in the
/// background on the current Tokio runtime.
///
/// Fails when the database cannot be opened, a static directory does not
/// exist, an allowed origin is malformed or the address cannot be bound.
pub async fn start(options: Options) -> io::Result<Server> {
    for mount in &options.statics {
        if !mount.dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("static directory {} does not exist", mount.dir.display()),
            ));
        }
    }

    let db = options.db.clone();
    let journeys = options.journeys.clone();
    let with = journeys.clone();
    let destinations = options.forward.clone();
    let store = tokio::task::spawn_blocking(move || {
        store::Store::open(&db)
            .map(|s| s.with_journeys(with))
            .and_then(|s| s.with_forwarding(&destinations))
    })
    .await
    .map_err(io::Error::other)?
    .map_err(|e| {
        io::Error::other(format!(
            "cannot open database {}: {e}",
            crate::db::shown(&options.db)
        ))
    })?;

    let listener = tokio::net::TcpListener::bind((options.bind, options.port))
        .await
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot listen on {}:{}: {e}", options.bind, options.port),
            )
        })?;
    let addr = listener.local_addr()?;

    let (shutdown, shutdown_rx) = watch::channel(false);
    let store = Arc::new(store);
    let scheduler = match journeys {
        Some(cfg) => Some(Arc::new(journeys::scheduler::Scheduler::new(
            Arc::clone(&store),
            cfg,
            options.clock.clone(),
        )?)),
        None => None,
    };
    if let Some(s) = &scheduler {
        if !options.scheduler_interval.is_zero() {
            tokio::spawn(Arc::clone(s).run(shutdown_rx.clone(), options.scheduler_interval));
        }
    }
    let sender = match store.forwarding() {
        [] => None,
        ids => Some(Arc::new(forward::sender::Sender::new(
            Arc::clone(&store),
            ids.iter()
                .copied()
                .zip(options.forward.iter().cloned())
                .collect(),
            options.clock.clone(),
        )?)),
    };
    if let Some(s) = &sender {
        if !options.scheduler_interval.is_zero() {
            tokio::spawn(Arc::clone(s).run(shutdown_rx.clone(), options.scheduler_interval));
        }
    }
    let (backfill_done, backfilled) = watch::channel(false);
    tokio::spawn(backfill::run(
        Arc::clone(&store),
        options.clock.clone(),
        shutdown_rx.clone(),
        backfill_done,
    ));
    if !options.scheduler_interval.is_zero() {
        tokio::spawn(derive_facts(
            Arc::clone(&store),
            options.clock.clone(),
            shutdown_rx.clone(),
            options.scheduler_interval,
        ));
    }
    let retention = options.retention.map(retention::Retention::new);
    if let Some(r) = &retention {
        if !options.scheduler_interval.is_zero() {
            tokio::spawn(retention::run(
                Arc::clone(r),
                Arc::clone(&store),
                options.clock.clone(),
                shutdown_rx.clone(),
                std::time::Duration::from_secs(600),
            ));
        }
    }
    let kept = retention.clone().map(|r| retention::Purger {
        retention: r,
        store: Arc::clone(&store),
        clock: options.clock.clone(),
    });
    let mut state = state::AppState::new(store, &options, shutdown_rx.clone())?;
    state.retention = retention;
    let app = http::router(state, options.max_body);

    // Ends when told to, and when the `Server` handle is dropped.
    let task = tokio::spawn(serve::serve(
        listener,
        app,
        options.connections,
        shutdown_rx,
    ));
    Ok(Server {
        addr,
        shutdown,
        task,
        scheduler,
        sender,
        retention: kept,
        backfilled,
    })
}

/// Keeps the metrics' facts close behind the stored events, off the request path, and
/// deletes the cookieless salts of past days once they are over.
async fn derive_facts(
    store: Arc<store::Store>,
    clock: clock::Clock,
    shutdown: watch::Receiver<bool>,
    every: std::time::Duration,
) {
    outbound::every(shutdown, every, || {
        let store = Arc::clone(&store);
        let now = clock.now_ms();
        async move {
            let work = move || {
                store.sweep_cookieless(now)?;
                store.catch_up_facts()
            };
            match tokio::task::spawn_blocking(work).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => eprintln!("shoptrail-collector: metrics: cannot derive facts: {e}"),
                Err(e) => eprintln!("shoptrail-collector: metrics: {e}"),
            }
        }
    })
    .await;
}

/// Reads and validates a `POST /v1/batch` body as the endpoint does, without storing it: the
/// number of events it holds, or the message the endpoint answers 400 with. (The fuzz targets
/// and tests call it; the server runs the same code.)
pub fn check_batch(body: &[u8]) -> Result<usize, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    validate::prepare_batch(value, &time::now_iso8601())
        .map(|events| events.len())
        .map_err(|e| e.message)
}
