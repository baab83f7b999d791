//! The state every handler shares: the store, the live feed, the settings of the running
//! collector.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tower_http::services::ServeDir;

use crate::store::Store;
use crate::Options;

/// How many live events a slow stream subscriber may fall behind.
const LIVE_BUFFER: usize = 1024;

/// State shared by every handler.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<Store>,
    pub(crate) live: broadcast::Sender<Arc<str>>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) statics: Arc<Vec<(String, ServeDir)>>,
    pub(crate) max_body: usize,
    pub(crate) admin_token: Option<Arc<str>>,
    /// The dashboards' tokens (`--read-token`): metrics and journey summaries.
    pub(crate) read_tokens: Arc<Vec<String>>,
    /// CORS of the ingestion routes and the static files (`--allow-origin`).
    pub(crate) ingest_cors: tower_http::cors::CorsLayer,
    /// CORS of the read and admin routes: the `--dashboard-origin`s, if any.
    pub(crate) dashboard_cors: Option<tower_http::cors::CorsLayer>,
    /// The `Host` names read and admin routes answer (DNS rebinding gets nothing): this
    /// machine's names when bound to loopback, and the `--public-host`s; `None`: any (a
    /// public bind without `--public-host`).
    pub(crate) hosts: Option<Arc<Vec<String>>>,
    /// Proxies whose forwarding headers are believed.
    pub(crate) trusted_proxies: Arc<Vec<crate::proxy::Trusted>>,
    /// `--retention`'s purge and its report.
    pub(crate) retention: Option<Arc<crate::retention::Retention>>,
    /// Live-stream subscribers now.
    pub(crate) subscribers: Arc<std::sync::atomic::AtomicUsize>,
    pub(crate) write_keys: Arc<Vec<String>>,
    pub(crate) limiter: Option<Arc<crate::limit::Limiter>>,
    pub(crate) journeys: Option<Arc<crate::journeys::config::JourneysConfig>>,
    pub(crate) clock: crate::clock::Clock,
    pub(crate) inbox: Arc<std::sync::Mutex<std::collections::VecDeque<Value>>>,
    /// The Shopify app's secret, which signs its webhooks.
    pub(crate) shopify_secret: Option<Arc<str>>,
    /// The shops whose webhooks are taken (`--shopify-shop`); empty: any.
    pub(crate) shopify_shops: Arc<Vec<String>>,
    /// What crawler traffic does (`--bots`).
    pub(crate) bots: crate::bots::Bots,
    /// The page-view pace of each anonymous id (bots that go too fast).
    pub(crate) pace: Arc<crate::bots::Pace>,
}

impl AppState {
    /// The per-address rate limiter, unless turned off.
    pub(crate) fn limiter(&self) -> Option<&crate::limit::Limiter> {
        self.limiter.as_deref()
    }

    /// The journeys, when configured.
    pub(crate) fn journeys(&self) -> Option<Arc<crate::journeys::config::JourneysConfig>> {
        self.journeys.clone()
    }

    /// The collector's clock.
    pub(crate) fn clock(&self) -> &crate::clock::Clock {
        &self.clock
    }

    /// The journeys' demo inbox.
    pub(crate) fn inbox(&self) -> std::sync::MutexGuard<'_, std::collections::VecDeque<Value>> {
        self.inbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The state of a collector started with `options`; an origin that is not a header value
    /// is an error.
    pub(crate) fn new(
        store: Arc<Store>,
        options: &Options,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<Self> {
        let ingest_cors = crate::access::ingest_cors(&options.allow_origins)?;
        let dashboard_cors = crate::access::dashboard_cors(&options.dashboard_origins)?;
        let mut statics: Vec<(String, ServeDir)> = options
            .statics
            .iter()
            .map(|m| {
                let dir = ServeDir::new(&m.dir).append_index_html_on_directories(true);
                (m.prefix.clone(), dir)
            })
            .collect();
        // The most specific prefix gets the first chance to answer.
        statics.sort_by_key(|mount| std::cmp::Reverse(mount.0.len()));
        Ok(AppState {
            store,
            live: broadcast::channel(LIVE_BUFFER).0,
            shutdown,
            statics: Arc::new(statics),
            max_body: options.max_body,
            admin_token: options.admin_token.as_deref().map(Arc::from),
            read_tokens: Arc::new(options.read_tokens.clone()),
            hosts: if options.bind.is_loopback() || !options.public_hosts.is_empty() {
                let mut names = options.public_hosts.clone();
                if options.bind.is_loopback() {
                    names.push("localhost".into());
                }
                Some(Arc::new(names))
            } else {
                None
            },
            subscribers: Arc::default(),
            retention: None,
            trusted_proxies: Arc::new(options.trusted_proxies.clone()),
            ingest_cors,
            dashboard_cors,
            write_keys: Arc::new(options.write_keys.clone()),
            limiter: (options.rate_limit > 0)
                .then(|| Arc::new(crate::limit::Limiter::new(options.rate_limit))),
            journeys: options.journeys.clone(),
            clock: options.clock.clone(),
            inbox: Arc::default(),
            shopify_secret: options.shopify_secret.as_deref().map(Arc::from),
            shopify_shops: Arc::new(options.shopify_shops.clone()),
            bots: options.bots,
            pace: Arc::default(),
        })
    }

    /// The store.
    pub(crate) fn store(&self) -> Arc<Store> {
        self.store.clone()
    }
}
