//! The driver: one [`Engine`] in a thread-local cell, fed by the host's calls and timers, its
//! actions carried out through the host. Before `init` it keeps the calls made
//! ([`Early`] decides which) and replays them after it; after a refused `init` it is inert.
//!
//! Every entry point borrows the engine, collects its actions, releases the borrow and only
//! then calls JavaScript, so a page callback that calls back into the SDK never meets a held
//! borrow. A call that arrives while the engine is borrowed anyway (page code behind a
//! storage or location getter) is deferred and runs as soon as the borrow ends.

use super::host::{self, Page, Parts};
use crate::prelude::*;
use crate::tracker_core::args::Args;
use crate::tracker_core::boundary::{Call, ErrorCode, Internal, Method, Notify};
use crate::tracker_core::config;
use crate::tracker_core::early::{Early, Kept};
use crate::tracker_core::engine::{lanes, Action, Engine, SCROLL_SAMPLE_MS};
use crate::tracker_core::json;
use crate::tracker_core::queue::UNLOAD_BODY_BYTES;
use core::cell::RefCell;
use wasm_bindgen::prelude::*;

const NOT_AN_OBJECT: &str = "init(config): config must be an object such as { endpoint: \"https://collect.example.com/v1/batch\" }";

enum State {
    /// Before `init`: calls wait here.
    Waiting(Early),
    /// Running.
    Live(Box<Engine<Page>>),
    /// `init` was refused: calls are ignored, `flush()` settles with false.
    Inert,
}

/// A global cell for the driver's state. The tracker is `no_std` (no `thread_local!`);
/// wasm32-unknown-unknown without the `atomics` feature runs one thread, so a `RefCell` in a
/// `static` is never shared between threads.
struct Global<T>(RefCell<T>);

// SAFETY: see `Global`. A build with `atomics` (threads) does not compile this impl, so it
// cannot become unsound silently.
#[allow(unsafe_code)]
#[cfg(not(target_feature = "atomics"))]
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    fn with<R>(&self, f: impl FnOnce(&RefCell<T>) -> R) -> R {
        f(&self.0)
    }
}

static STATE: Global<State> = Global(RefCell::new(State::Waiting(Early::new())));
static DEFERRED: Global<Vec<Kept>> = Global(RefCell::new(Vec::new()));
/// By lane: `endpoint`, then each destination's.
static ENDPOINTS: Global<Vec<[String; 2]>> = Global(RefCell::new(Vec::new()));
static API: Global<Option<JsValue>> = Global(RefCell::new(None));
/// Calls made before `init`, run after the engine's start (`~start`).
static EARLY: Global<Vec<Kept>> = Global(RefCell::new(Vec::new()));

fn now() -> u64 {
    host::now() as u64
}

/// Connects the wasm to its host once and returns the public API object.
pub fn boot() -> JsValue {
    API.with(|a| {
        a.borrow_mut()
            .get_or_insert_with(|| {
                let f: Closure<dyn Fn(u32, String) -> Option<String>> = Closure::new(dispatch);
                let api = host::connect(&f);
                // The page keeps the API for its whole life.
                f.forget();
                api
            })
            .clone()
    })
}

/// The wasm's one entry point: an API call (`track`, `cart.add`, ...) or an internal one
/// (`~wake`, `~res`, ...) with its arguments as text.
fn dispatch(code: u32, args: String) -> Option<String> {
    let out = match Call::from_code(code) {
        Some(Call::Api(Method::Init)) => {
            init(&args);
            None
        }
        Some(Call::Internal(Internal::Batch)) => {
            batch(&args);
            None
        }
        Some(call) => run((call, args, now(), None)),
        None => None,
    };
    drain();
    out
}

/// Calls the host kept together: `code \x01 time \x01 URL \x01 arguments`, separated by
/// `\x02` (JSON text and URLs hold no raw control characters).
fn batch(text: &str) {
    for call in text.split('\u{2}') {
        let mut part = call.splitn(4, '\u{1}');
        let (Some(code), Some(at), Some(href), Some(args)) =
            (part.next(), part.next(), part.next(), part.next())
        else {
            continue;
        };
        let Some(call) = json::parse_u64(code).and_then(|c| Call::from_code(c as u32)) else {
            continue;
        };
        let at = json::parse_u64(at).unwrap_or_else(now);
        run((call, args.into(), at, Some(href.into())));
        drain();
    }
}

/// Runs one call on the live engine, keeps it for `init`, or defers it while the engine is
/// borrowed. A call made at a known URL is run with the engine reading that URL.
fn run(call: Kept) -> Option<String> {
    let start = call.0 == Call::Internal(Internal::Start);
    let mut deferred = None;
    let mut unsent = false;
    let out = STATE.with(|s| {
        let Ok(mut s) = s.try_borrow_mut() else {
            deferred = Some(call);
            return None;
        };
        match &mut *s {
            State::Live(e) => {
                let (call, args, at, href) = call;
                e.store().backend().made_at(href);
                let out = apply(e, call, &args, at);
                e.store().backend().made_at(None);
                out
            }
            State::Waiting(calls) => {
                calls.keep(call);
                None
            }
            State::Inert => {
                unsent = call.0 == Call::Api(Method::Flush);
                None
            }
        }
    });
    if unsent {
        host::notify(Notify::Settled, "0", "");
    }
    if let Some(d) = deferred {
        DEFERRED.with(|q| q.borrow_mut().push(d));
    } else if start {
        // The first page view is in; now the calls made before `init`, in order.
        let early = EARLY.with(|e| core::mem::take(&mut *e.borrow_mut()));
        for call in early {
            run(call);
            drain();
        }
    }
    out
}

fn apply(e: &mut Engine<Page>, call: Call, args: &str, now: u64) -> Option<String> {
    let internal = match call {
        Call::Api(m) => return e.call(m, args, now),
        Call::Internal(i) => i,
    };
    match internal {
        Internal::Wake => e.handle_wake(now),
        Internal::Res => {
            let mut part = args.splitn(3, '\n');
            let mut num = || json::parse_u64(part.next().unwrap_or_default()).unwrap_or(0);
            let (lane, status) = (num() as usize, num().min(999) as u16);
            let retry = part.next().filter(|r| !r.is_empty());
            e.handle_response(lane, status, retry, now)
        }
        Internal::Start => e.handle_start(now),
        Internal::Hide => e.handle_hide(args == "1", now),
        Internal::Show => e.handle_show(now),
        Internal::Online => e.handle_online(now),
        Internal::Nav => e.handle_navigation(now),
        Internal::Scroll => {
            let mut n = args
                .split(' ')
                .map(|x| json::parse_u64(x).unwrap_or(0).min(u32::MAX as u64) as u32);
            let (y, vh, dh) = (n.next(), n.next(), n.next());
            e.handle_scroll(y.unwrap_or(0), vh.unwrap_or(0), dh.unwrap_or(0))
        }
        Internal::Scan => e.handle_scan(args, now),
        Internal::Adopt => e.handle_adopt(args, now),
        Internal::Events => e.set_event_listeners(json::parse_u64(args).unwrap_or(0) as usize),
        Internal::Link => return e.decorate_link(args, now),
        Internal::Markup => e.handle_markup(args, now),
        // `dispatch` runs a batch's calls one by one.
        Internal::Batch => {}
    }
    None
}

/// The engine's pending actions (none while it is borrowed or not running).
fn take_actions() -> Vec<Action> {
    STATE.with(|s| match s.try_borrow_mut().as_deref_mut() {
        Ok(State::Live(e)) => core::iter::from_fn(|| e.poll_action()).collect(),
        _ => Vec::new(),
    })
}

/// Carries out the engine's actions with no borrow held, then runs deferred calls.
fn drain() {
    loop {
        let actions = take_actions();
        if actions.is_empty() {
            let next = DEFERRED.with(|q| {
                let mut q = q.borrow_mut();
                (!q.is_empty()).then(|| q.remove(0))
            });
            match next {
                Some(call) => {
                    run(call);
                    continue;
                }
                None => return,
            }
        }
        for a in actions {
            perform(a);
        }
    }
}

fn perform(a: Action) {
    match a {
        Action::Send {
            lane,
            gzip,
            keepalive,
            timeout_ms,
        } => {
            write_body(|e, out| e.write_request(lane, out));
            endpoint(lane, |[plain, gz]| {
                let gz = if gzip { gz.as_str() } else { "" };
                host::send(
                    plain,
                    gz,
                    keepalive,
                    UNLOAD_BODY_BYTES as u32,
                    timeout_ms,
                    lane as u32,
                )
            });
        }
        Action::Beacon { lane } => {
            write_body(|e, out| e.write_beacon(out));
            let ok = endpoint(lane, |[plain, _]| host::beacon(plain)).unwrap_or(false);
            let now = now();
            STATE.with(|s| {
                if let Ok(State::Live(e)) = s.try_borrow_mut().as_deref_mut() {
                    e.handle_beacon(ok, now);
                }
            });
        }
        Action::Last { lane, body } => {
            host::part(body.as_bytes());
            endpoint(lane, |[plain, _]| host::beacon(plain));
        }
        Action::Timer(due) => host::timer(due.saturating_sub(now()) as f64),
        Action::Scan(ms) => host::scan(ms),
        Action::Error { code, message } => host::notify(Notify::Error, code.as_str(), &message),
        Action::Event(text) => host::notify(Notify::Event, &text, ""),
        Action::Delivered { count, lane } => {
            let count = crate::tracker_core::json::u64_text(count as u64);
            endpoint(lane, |[plain, _]| {
                host::notify(Notify::Delivered, &count, plain)
            });
        }
        Action::Settle(ok) => host::notify(Notify::Settled, if ok { "1" } else { "0" }, ""),
        Action::Popups(run) => host::notify(Notify::Popups, if run { "1" } else { "0" }, ""),
        Action::RefreshCookie { url, id, domain } => host::idcookie(&url, &id, &domain),
        Action::ReplaceUrl(url) => host::replace(&url),
        Action::Middleware(event) => {
            // The page's code runs with no borrow held; its answer goes straight back.
            let answer = host::mw(&event);
            let now = now();
            STATE.with(|s| {
                if let Ok(State::Live(e)) = s.try_borrow_mut().as_deref_mut() {
                    e.handle_middleware(answer.as_deref(), now);
                }
            });
        }
    }
}

/// Runs `f` with lane `lane`'s endpoint, plain and announcing gzip ([`lanes::urls`]).
fn endpoint<R>(lane: usize, f: impl FnOnce(&[String; 2]) -> R) -> Option<R> {
    ENDPOINTS.with(|ep| ep.borrow().get(lane).map(f))
}

/// Hands the body the engine writes to the host, in parts.
fn write_body(write: impl FnOnce(&Engine<Page>, &mut dyn FnMut(&str))) {
    let mut parts = Parts::default();
    STATE.with(|s| {
        if let Ok(State::Live(e)) = s.try_borrow().as_deref() {
            write(e, &mut |text| parts.push(text));
        }
    });
    parts.flush();
}

fn set_state(new: State) -> Option<State> {
    STATE.with(|s| {
        s.try_borrow_mut()
            .ok()
            .map(|mut s| core::mem::replace(&mut *s, new))
    })
}

fn is_live() -> bool {
    STATE.with(|s| matches!(s.try_borrow().as_deref(), Ok(State::Live(_))))
}

/// `init(config)`: validates the config, starts the engine and replays the calls made before.
/// An invalid config is reported (console and `onError`, notify kind 5, which also settles
/// `ready()` and `flush()` with false) and leaves the SDK inert. `!` is a config the host
/// could not read, refused and reported there.
fn init(args: &str) {
    if is_live() {
        return host::notify(
            Notify::Console,
            "init was already called; this call is ignored",
            "",
        );
    }
    if args == "!" {
        set_state(State::Inert);
        return;
    }
    let a = Args::parse(args);
    let Some(raw) = a.raw(0).filter(|r| r.starts_with('{')) else {
        set_state(State::Inert);
        return host::notify(
            Notify::Refused,
            ErrorCode::InvalidConfig.as_str(),
            NOT_AN_OBJECT,
        );
    };
    let cfg = match config::parse_json_at(raw, &host::abs) {
        Ok(cfg) => cfg,
        Err(e) => {
            set_state(State::Inert);
            return host::notify(
                Notify::Refused,
                ErrorCode::InvalidConfig.as_str(),
                &e.describe(),
            );
        }
    };
    ENDPOINTS.with(|ep| *ep.borrow_mut() = lanes::urls(&cfg));
    let (history, capture, debug) = (cfg.history, cfg.capture, cfg.debug);
    let links = !cfg.link_domains().is_empty();
    let engine = Box::new(Engine::new(cfg, Page::default(), now()));
    let key = engine.queue_key().to_string();
    let early = match set_state(State::Live(engine)) {
        Some(State::Waiting(mut calls)) => calls.take(),
        _ => Vec::new(),
    };
    EARLY.with(|e| *e.borrow_mut() = early);
    host::locks(&key);
    host::listen(history, capture, debug, links, SCROLL_SAMPLE_MS);
    // The first page view and the calls made before `init` follow right after it.
    host::defer(Internal::Start.code());
}
