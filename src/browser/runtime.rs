//! The driver: feeds browser inputs (calls, timers, responses, page lifecycle) to the core and
//! carries out its outputs (requests, beacons, storage writes, callbacks).
//!
//! One [`Runtime`] lives in a thread-local cell. Every entry point borrows it, collects the
//! JavaScript callbacks to run as [`Notices`], releases the borrow and only then calls into
//! JavaScript, so a callback that calls back into the SDK never meets a held borrow.

use super::platform::{self, Rng, Store};
use crate::core::{
    campaign,
    config::Config,
    event::{self, Body, Envelope, EventError, PageInfo},
    identity::{self, Session},
    json, page,
    queue::{self, Outcome, Queue, Report, Settings},
};
use js_sys::{Function, Object, Reflect};
use std::cell::RefCell;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{AbortController, RequestInit, Response};

const K_AID: &str = "shoptrail:aid";
const K_UID: &str = "shoptrail:uid";
const K_TRAITS: &str = "shoptrail:traits";
const K_SESSION: &str = "shoptrail:session";
const K_CAMPAIGN: &str = "shoptrail:campaign";
const K_FIRST_TOUCH: &str = "shoptrail:first_touch";
const K_LAST_TOUCH: &str = "shoptrail:last_touch";
const Q_PREFIX: &str = "shoptrail:q:";
const COOKIE: &str = "shoptrail_aid";
/// 400 days, the longest lifetime browsers keep a cookie.
const COOKIE_AGE_S: u32 = 400 * 86_400;
/// Queue changes are written to storage this long after they happen (coalesced), and at once
/// when the page is hidden.
const PERSIST_DELAY_MS: u64 = 50;
/// A request without an answer after this long is aborted and retried.
const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Calls made before `init` that are kept and replayed by it.
const MAX_EARLY_CALLS: usize = 1000;
/// Scroll position is sampled at most this often.
const SCROLL_SAMPLE_MS: u64 = 100;

/// JavaScript calls to make once the runtime is released: `(function, argument)`.
pub type Notices = Vec<(Function, JsValue)>;
type Call = Box<dyn FnOnce(&mut Runtime, &mut Notices)>;

enum State {
    /// Before `init`: calls wait here.
    Waiting(Vec<Call>),
    /// Running.
    Live(Box<Runtime>),
    /// `init` failed: calls are ignored until a valid `init`.
    Inert,
}

thread_local! {
    static STATE: RefCell<State> = const { RefCell::new(State::Waiting(Vec::new())) };
    /// Calls that arrived while the runtime was borrowed (from JavaScript that the runtime
    /// called, such as a page's wrapper around `fetch`); they run as soon as the borrow ends.
    static DEFERRED: RefCell<Vec<Call>> = const { RefCell::new(Vec::new()) };
}

fn dispatch(notices: Notices) {
    for (f, arg) in notices {
        // A throwing callback is the host's bug; it must not break the SDK.
        let _ = f.call1(&JsValue::UNDEFINED, &arg);
    }
}

/// Runs `f` on the live runtime now, or keeps it for `init` when the SDK is not started yet.
pub fn call(f: impl FnOnce(&mut Runtime, &mut Notices) + 'static) {
    let mut next: Option<Call> = Some(Box::new(f));
    while let Some(f) = next.take() {
        let mut notices = Vec::new();
        let mut busy = false;
        let _ = STATE.try_with(|s| {
            let Ok(mut s) = s.try_borrow_mut() else {
                // The outer call that holds the runtime runs this once it lets go.
                busy = true;
                let _ = DEFERRED.try_with(|d| d.try_borrow_mut().map(|mut d| d.push(f)));
                return;
            };
            match &mut *s {
                State::Live(rt) => f(rt, &mut notices),
                State::Waiting(calls) if calls.len() < MAX_EARLY_CALLS => calls.push(f),
                _ => {}
            }
        });
        dispatch(notices);
        if busy {
            return;
        }
        next = DEFERRED
            .try_with(|d| {
                d.try_borrow_mut()
                    .ok()
                    .and_then(|mut d| (!d.is_empty()).then(|| d.remove(0)))
            })
            .ok()
            .flatten();
    }
}

/// Reads from the live runtime; `None` before a successful `init`.
pub fn read<R>(f: impl FnOnce(&Runtime) -> R) -> Option<R> {
    STATE
        .try_with(|s| match &*s.try_borrow().ok()? {
            State::Live(rt) => Some(f(rt)),
            _ => None,
        })
        .ok()
        .flatten()
}

/// Whether `init` has succeeded.
pub fn is_live() -> bool {
    read(|_| ()).is_some()
}

/// Starts the SDK with a validated config, then replays the calls made before.
pub fn start(cfg: Config, on_error: Option<Function>) {
    let mut notices = Vec::new();
    let _ = STATE.try_with(|s| {
        let Ok(mut s) = s.try_borrow_mut() else {
            return;
        };
        let early = match std::mem::replace(&mut *s, State::Inert) {
            State::Waiting(calls) => calls,
            _ => Vec::new(),
        };
        let mut rt = Box::new(Runtime::new(cfg, on_error, &mut notices));
        if rt.cfg.page_views {
            rt.page_view(None, "{}", &mut notices);
        }
        for c in early {
            c(&mut rt, &mut notices);
        }
        *s = State::Live(rt);
    });
    dispatch(notices);
    // Run anything that arrived while `init` held the runtime.
    call(|_, _| {});
}

/// Marks the SDK inert after a failed `init` (calls made before it are dropped).
pub fn fail() {
    let _ = STATE.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            if !matches!(*s, State::Live(_)) {
                *s = State::Inert;
            }
        }
    });
}

/// Builds the `Error` given to `onError` and `error` listeners.
pub fn error_value(code: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    e.set_name("ShoptrailError");
    let _ = Reflect::set(&e, &"code".into(), &code.into());
    e.into()
}

type HistoryFn = Closure<dyn FnMut(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>;

struct Hooks {
    wake: Closure<dyn FnMut()>,
    ok: Closure<dyn FnMut(JsValue)>,
    fail: Closure<dyn FnMut(JsValue)>,
    lifecycle: Closure<dyn FnMut(web_sys::Event)>,
    /// Our wrappers around `history.pushState` and `history.replaceState`.
    history: Vec<HistoryFn>,
    /// The delegated click listener for `data-shoptrail` markup.
    click: Closure<dyn FnMut(web_sys::Event)>,
    /// Reads the page once it is parsed.
    ready: Closure<dyn FnMut()>,
    /// A batch's gzip bytes are ready, or compressing failed.
    compressed: Closure<dyn FnMut(JsValue)>,
    uncompressed: Closure<dyn FnMut(JsValue)>,
}

impl Hooks {
    fn new() -> Hooks {
        Hooks {
            wake: Closure::new(|| call(|rt, n| rt.on_wake(n))),
            ok: Closure::new(|resp: JsValue| {
                call(move |rt, n| {
                    let (status, retry_after) = match resp.dyn_ref::<Response>() {
                        Some(r) => {
                            // Read the body so the request completes: Chromium counts a
                            // keepalive request against its 64 KiB in-flight quota until then.
                            let _ = r.text();
                            (r.status(), r.headers().get("Retry-After").ok().flatten())
                        }
                        None => (0, None),
                    };
                    rt.on_response(queue::classify(status, retry_after.as_deref()), n)
                })
            }),
            fail: Closure::new(|_err: JsValue| {
                call(|rt, n| rt.on_response(Outcome::Retry { after_ms: None }, n))
            }),
            lifecycle: Closure::new(|e: web_sys::Event| {
                let kind = e.type_();
                let persisted = Reflect::get(&e, &"persisted".into())
                    .ok()
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                call(move |rt, n| rt.on_lifecycle(&kind, persisted, n))
            }),
            history: Vec::new(),
            click: Closure::new(|e: web_sys::Event| {
                // Read the markup before taking the runtime: it is the page's data, not ours.
                if let Some(m) = super::capture::markup_for_click(&e) {
                    call(move |rt, n| rt.on_markup(m, n));
                }
            }),
            ready: Closure::new(|| call(|rt, n| rt.scan_page(n))),
            compressed: Closure::new(|bytes: JsValue| call(move |rt, _| rt.send_compressed(bytes))),
            uncompressed: Closure::new(|_e: JsValue| call(|rt, _| rt.send_uncompressed())),
        }
    }

    /// Wraps `history.pushState` and `replaceState` so that in-app navigations are seen. The
    /// wrapper is transparent: it calls the original with the page's arguments and returns (or
    /// rethrows) what the original does.
    fn patch_history(&mut self) {
        let Some(history) = platform::window().and_then(|w| w.history().ok()) else {
            return;
        };
        for name in ["pushState", "replaceState"] {
            let key = JsValue::from_str(name);
            let Some(original) = Reflect::get(&history, &key)
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok())
            else {
                continue;
            };
            let target = history.clone();
            let wrapper: HistoryFn =
                Closure::new(move |state: JsValue, unused: JsValue, url: JsValue| {
                    let result = original.call3(&target, &state, &unused, &url);
                    if result.is_ok() {
                        call(|rt, n| rt.on_navigation(n));
                    }
                    result
                });
            if Reflect::set(&history, &key, wrapper.as_ref()).unwrap_or(false) {
                self.history.push(wrapper);
            }
        }
    }
}

/// Everything the SDK knows and holds while it runs.
pub struct Runtime {
    cfg: Config,
    on_error: Option<Function>,
    listeners: Vec<(String, Function)>,
    store: Store,
    rng: Rng,
    queue: Queue,
    queue_key: String,
    cookie_domain: Option<String>,
    anonymous_id: String,
    user_id: Option<String>,
    traits: String,
    session: Session,
    static_ctx: String,
    page: PageInfo,
    ctx: String,
    ctx_session: u64,
    flush_waiters: Vec<Function>,
    flush_failed: bool,
    timer: Option<(i32, u64)>,
    persist_due: Option<u64>,
    sent_at: Option<u64>,
    abort: Option<AbortController>,
    storage_warned: bool,
    location: Option<web_sys::Location>,
    /// The endpoint with `compression=gzip` in its query.
    gzip_endpoint: String,
    /// The plain body of the batch under way while it is being compressed.
    plain: Option<String>,
    /// The session's campaign (JSON object text), if it came from a campaign URL.
    campaign: Option<String>,
    /// URL of the last page view, to see real navigations in single-page apps.
    tracked_url: String,
    tracked_path: String,
    /// When the current page view started, Unix ms.
    page_started: u64,
    /// Deepest scroll of the current page, percent.
    max_scroll: u32,
    last_scroll_sample: u64,
    /// Whether `Page Left` went out for the current page view.
    left_sent: bool,
    /// Products the page scan reported for this page view, and for the one before.
    viewed: Vec<String>,
    viewed_before: Vec<String>,
    hooks: Hooks,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runtime")
    }
}

fn read_static_context() -> String {
    let Some(w) = platform::window() else {
        return String::new();
    };
    let nav = w.navigator();
    let ua = nav.user_agent().unwrap_or_default();
    let locale = nav.language().unwrap_or_default();
    let tz = Reflect::get(
        &js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &Object::new())
            .resolved_options(),
        &"timeZone".into(),
    )
    .ok()
    .and_then(|v| v.as_string())
    .unwrap_or_default();
    let (sw, sh) = w
        .screen()
        .map(|s| {
            (
                s.width().unwrap_or(0).max(0) as u32,
                s.height().unwrap_or(0).max(0) as u32,
            )
        })
        .unwrap_or((0, 0));
    let density: String = js_sys::Number::from(w.device_pixel_ratio())
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default();
    event::static_context(&ua, &locale, &tz, (sw, sh), &density)
}

fn read_page(referrer: Option<&str>) -> PageInfo {
    let Some(w) = platform::window() else {
        return PageInfo::default();
    };
    let loc = w.location();
    let doc = w.document();
    PageInfo {
        url: loc.href().unwrap_or_default(),
        path: loc.pathname().unwrap_or_default(),
        search: loc.search().unwrap_or_default(),
        referrer: match referrer {
            Some(r) => r.to_string(),
            None => doc.as_ref().map(|d| d.referrer()).unwrap_or_default(),
        },
        title: doc.map(|d| d.title()).unwrap_or_default(),
    }
}

/// A promise of the gzip bytes of `text` (an ArrayBuffer), where CompressionStream exists.
fn gzip(text: &str) -> Option<js_sys::Promise> {
    let w = platform::window()?;
    // Looked up at run time: web-sys gates CompressionStream behind an unstable cfg.
    let ctor = Reflect::get(&w, &"CompressionStream".into())
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    let cs = Reflect::construct(&ctor, &js_sys::Array::of1(&"gzip".into())).ok()?;
    let blob = web_sys::Blob::new_with_str_sequence(&js_sys::Array::of1(&text.into())).ok()?;
    let stream: JsValue = blob.stream().into();
    let pipe = Reflect::get(&stream, &"pipeThrough".into())
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    let gz = pipe
        .call1(&stream, &cs)
        .ok()?
        .dyn_into::<web_sys::ReadableStream>()
        .ok()?;
    Response::new_with_opt_readable_stream(Some(&gz))
        .ok()?
        .array_buffer()
        .ok()
}

fn is_object_text(s: &str) -> bool {
    s.starts_with('{') && s.ends_with('}')
}

impl Runtime {
    fn new(cfg: Config, on_error: Option<Function>, notices: &mut Notices) -> Runtime {
        let now = platform::now();
        let mut gzip_endpoint = cfg.endpoint.clone();
        gzip_endpoint.push(if cfg.endpoint.contains('?') { '&' } else { '?' });
        gzip_endpoint.push_str("compression=gzip");
        let store = Store::open();
        let mut rng = Rng::default();
        let cookie_domain = platform::cookie_domain();
        let settings = Settings {
            batch_size: cfg.batch_size as usize,
            flush_interval: cfg.flush_interval as u64,
            max_retries: cfg.max_retries,
            write_key: cfg.write_key.clone(),
            ..Settings::default()
        };
        let mut queue_key = String::from(Q_PREFIX);
        queue_key.push_str(rng.uuid().get(..8).unwrap_or_default());
        let traits = store
            .get(K_TRAITS)
            .filter(|t| is_object_text(t))
            .unwrap_or_else(|| "{}".into());
        let mut rt = Runtime {
            cfg,
            on_error,
            listeners: Vec::new(),
            queue: Queue::new(settings),
            queue_key,
            cookie_domain,
            anonymous_id: String::new(),
            user_id: store.get(K_UID).filter(|u| !u.is_empty()),
            traits,
            session: Session { id: now, last: now },
            static_ctx: read_static_context(),
            page: PageInfo::default(),
            ctx: String::new(),
            ctx_session: 0,
            flush_waiters: Vec::new(),
            flush_failed: false,
            timer: None,
            persist_due: None,
            sent_at: None,
            abort: None,
            storage_warned: false,
            location: platform::window().map(|w| w.location()),
            gzip_endpoint,
            plain: None,
            campaign: None,
            tracked_url: String::new(),
            tracked_path: String::new(),
            page_started: now,
            max_scroll: 0,
            last_scroll_sample: 0,
            left_sent: true,
            viewed: Vec::new(),
            viewed_before: Vec::new(),
            hooks: Hooks::new(),
            store,
            rng,
        };
        rt.load_anonymous_id();
        rt.session =
            Session::decode(&rt.store.get(K_SESSION).unwrap_or_default()).unwrap_or(rt.session);
        rt.touch_session(now, true);
        rt.adopt_queues(now, notices);
        rt.listen();
        if rt.cfg.history {
            rt.hooks.patch_history();
        }
        rt
    }

    fn load_anonymous_id(&mut self) {
        let cookie = platform::cookie_get(COOKIE);
        let stored = self.store.get(K_AID);
        let id = match identity::pick_anonymous_id(cookie.as_deref(), stored.as_deref()) {
            Some(id) => id.to_string(),
            None => self.rng.uuid(),
        };
        // Each copy restores the other; the cookie's lifetime is renewed on every visit.
        platform::cookie_set(COOKIE, &id, COOKIE_AGE_S, self.cookie_domain.as_deref());
        if stored.as_deref() != Some(id.as_str()) {
            self.store.set(K_AID, &id);
        }
        self.anonymous_id = id;
    }

    fn touch_session(&mut self, now: u64, force_read: bool) {
        if !force_read
            && now
                < self
                    .session
                    .last
                    .saturating_add(identity::ACTIVITY_WRITE_MS)
        {
            return;
        }
        let stored = self.store.get(K_SESSION).and_then(|s| Session::decode(&s));
        let (s, write) = Session::touch(stored.or(Some(self.session)), now);
        if write || stored.is_none() {
            self.store.set(K_SESSION, &s.encode());
        }
        self.session = s;
    }

    fn adopt_queues(&mut self, now: u64, notices: &mut Notices) {
        let mut adopted = Vec::new();
        for key in self.store.keys_with_prefix(Q_PREFIX) {
            match self.store.get(&key).and_then(|t| queue::decode(&t)) {
                Some(stored) if stored.adoptable(now) => {
                    self.queue.restore(stored.events, now);
                    adopted.push(key);
                }
                Some(_) => {}
                None => self.store.remove(&key),
            }
        }
        if !adopted.is_empty() {
            // Write our copy before deleting theirs, so a crash in between loses nothing.
            self.persist(false, now, notices);
            for k in adopted {
                self.store.remove(&k);
            }
            self.drive(now, notices);
        }
    }

    fn listen(&self) {
        let Some(w) = platform::window() else { return };
        let f: &Function = self.hooks.lifecycle.as_ref().unchecked_ref();
        let mut kinds = vec!["pagehide", "pageshow", "online"];
        if self.cfg.history {
            kinds.extend(["popstate", "hashchange"]);
        }
        for kind in kinds {
            let _ = w.add_event_listener_with_callback(kind, f);
        }
        let passive = web_sys::AddEventListenerOptions::new();
        passive.set_passive(true);
        let _ = w
            .add_event_listener_with_callback_and_add_event_listener_options("scroll", f, &passive);
        if let Some(d) = w.document() {
            let _ = d.add_event_listener_with_callback("visibilitychange", f);
            if self.cfg.capture {
                let _ = d.add_event_listener_with_callback(
                    "click",
                    self.hooks.click.as_ref().unchecked_ref(),
                );
            }
            if self.cfg.capture || self.cfg.json_ld {
                // Markup and JSON-LD may sit anywhere in the body: read them once it is parsed.
                let ready: &Function = self.hooks.ready.as_ref().unchecked_ref();
                if d.ready_state() == "loading" {
                    let _ = d.add_event_listener_with_callback("DOMContentLoaded", ready);
                } else {
                    let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(ready, 0);
                }
            }
        }
    }

    /// `location.href`, through the Location object fetched once (one call into JavaScript on
    /// the `track` path instead of three).
    fn href(&self) -> String {
        self.location
            .as_ref()
            .and_then(|l| l.href().ok())
            .unwrap_or_default()
    }

    /// localStorage.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// A new random UUID v4.
    pub(crate) fn new_id(&mut self) -> String {
        self.rng.uuid()
    }

    /// Whether `data-shoptrail` markup is tracked.
    pub(crate) fn capture_markup(&self) -> bool {
        self.cfg.capture
    }

    /// Whether schema.org JSON-LD products are tracked.
    pub(crate) fn capture_jsonld(&self) -> bool {
        self.cfg.json_ld
    }

    // ---- reporting ----

    /// Reports a problem to `onError`, `error` listeners and (in debug mode) the console.
    pub(crate) fn report(&mut self, code: &str, message: &str, notices: &mut Notices) {
        let e = error_value(code, message);
        if self.cfg.debug {
            platform::log(true, "shoptrail:", &e);
        }
        if let Some(f) = &self.on_error {
            notices.push((f.clone(), e.clone()));
        }
        self.emit("error", &e, notices);
    }

    fn emit(&self, name: &str, payload: &JsValue, notices: &mut Notices) {
        for (n, f) in &self.listeners {
            if n == name {
                notices.push((f.clone(), payload.clone()));
            }
        }
    }

    fn wants(&self, name: &str) -> bool {
        self.listeners.iter().any(|(n, _)| n == name)
    }

    /// Adds an event listener: `event` (each accepted event), `delivered` ({count}) or `error`.
    pub fn on(&mut self, name: String, f: Function, notices: &mut Notices) {
        if !matches!(name.as_str(), "event" | "delivered" | "error") {
            return self.report(
                "invalid_argument",
                "on(name, callback): name must be \"event\", \"delivered\" or \"error\"",
                notices,
            );
        }
        self.listeners.push((name, f));
    }

    /// Removes a listener added with [`Runtime::on`].
    pub fn off(&mut self, name: &str, f: &Function) {
        self.listeners
            .retain(|(n, g)| !(n == name && JsValue::from(g) == JsValue::from(f)));
    }

    // ---- events ----

    fn refresh_context(&mut self, now: u64) {
        self.touch_session(now, false);
        let href = self.href();
        let url_changed = href != self.page.url;
        if url_changed || self.ctx_session != self.session.id || self.ctx.is_empty() {
            if url_changed {
                // After an in-app navigation the previous URL is the referrer.
                let referrer = (!self.page.url.is_empty()).then(|| self.page.url.clone());
                self.page = read_page(referrer.as_deref());
            }
            self.refresh_campaign();
            self.ctx = event::context(
                &self.static_ctx,
                &self.page,
                self.session.id,
                self.campaign.as_deref(),
            );
            self.ctx_session = self.session.id;
        }
    }

    /// The session's campaign: a campaign URL starts one (and becomes the last touch, and the
    /// first touch if there was none); later pages of the session keep it.
    fn refresh_campaign(&mut self) {
        let landing = campaign::campaign_json(&self.page.search);
        let stored = self.store.get(K_CAMPAIGN);
        let (c, new) = campaign::for_session(stored.as_deref(), self.session.id, landing);
        if let (Some(c), true) = (&c, new) {
            self.store
                .set(K_CAMPAIGN, &campaign::encode_session(self.session.id, c));
            self.store.set(K_LAST_TOUCH, c);
            if self.store.get(K_FIRST_TOUCH).is_none() {
                self.store.set(K_FIRST_TOUCH, c);
            }
        }
        self.campaign = c;
    }

    /// Builds and queues one message.
    pub fn enqueue(&mut self, body: Body, notices: &mut Notices) {
        let now = platform::now();
        self.refresh_context(now);
        let message_id = self.rng.uuid();
        let env = Envelope {
            message_id: &message_id,
            anonymous_id: &self.anonymous_id,
            user_id: self.user_id.as_deref(),
            timestamp: now,
            context: &self.ctx,
            page: &self.page,
        };
        let text = match event::build(&env, &body) {
            Ok(t) => t,
            Err(e) => return self.report(e.code(), e.message(), notices),
        };
        if self.cfg.debug || self.wants("event") {
            let v = js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL);
            if self.cfg.debug {
                platform::log(false, "shoptrail event", &v);
            }
            self.emit("event", &v, notices);
        }
        if let Err(r) = self.queue.push(message_id, text, now) {
            self.on_report(r, notices);
        }
        self.drive(now, notices);
    }

    /// Reports properties or traits that are not a serializable plain object.
    pub fn enqueue_error(&mut self, notices: &mut Notices) {
        self.report(
            "invalid_argument",
            EventError::NotAnObject.message(),
            notices,
        )
    }

    /// `track(event, properties)`.
    pub fn track(&mut self, name: &str, properties: &str, notices: &mut Notices) {
        self.enqueue(
            Body::Track {
                event: name,
                properties,
            },
            notices,
        )
    }

    /// `identify(userId?, traits?)`: `traits` (JSON object text) merge into those already known.
    pub fn identify(
        &mut self,
        user_id: Option<String>,
        traits: Option<String>,
        notices: &mut Notices,
    ) {
        if let Some(u) = user_id {
            if u.trim().is_empty() || u.len() > 128 {
                return self.report("invalid_argument", EventError::BadUserId.message(), notices);
            }
            if self.user_id.as_deref() != Some(u.as_str()) {
                self.store.set(K_UID, &u);
                self.user_id = Some(u);
            }
        }
        if let Some(t) = traits {
            // Both texts are JSON written by JSON.stringify: parsing them runs no page code.
            let parse = |s: &str| {
                js_sys::JSON::parse(s)
                    .ok()
                    .and_then(|v| v.dyn_into::<Object>().ok())
            };
            let merged = match (parse(&self.traits), parse(&t)) {
                (Some(old), Some(new)) => js_sys::JSON::stringify(&Object::assign(&old, &new))
                    .ok()
                    .and_then(|s| s.as_string()),
                _ => None,
            };
            match merged {
                Some(m) if is_object_text(&m) => {
                    self.store.set(K_TRAITS, &m);
                    self.traits = m;
                }
                _ => {
                    return self.report(
                        "invalid_argument",
                        EventError::NotAnObject.message(),
                        notices,
                    )
                }
            }
        }
        let traits = self.traits_with_touches();
        self.enqueue(Body::Identify { traits: &traits }, notices);
    }

    /// The traits sent with `identify`: the stored ones plus the first- and last-touch campaigns,
    /// so that the profile keeps where the shopper first came from and most recently came from.
    fn traits_with_touches(&self) -> String {
        let mut t = self.traits.strip_suffix('}').unwrap_or("{").to_string();
        let mut first = t.len() <= 1;
        for (key, name) in [(K_FIRST_TOUCH, "first_touch"), (K_LAST_TOUCH, "last_touch")] {
            if let Some(c) = self.store.get(key).filter(|c| is_object_text(c)) {
                json::push_key(&mut t, name, first);
                t.push_str(&c);
                first = false;
            }
        }
        t.push('}');
        t
    }

    /// `alias(userId, previousId?)`.
    pub fn alias(&mut self, user_id: String, previous_id: Option<String>, notices: &mut Notices) {
        if user_id.trim().is_empty() || user_id.len() > 128 {
            return self.report("invalid_argument", EventError::BadUserId.message(), notices);
        }
        let previous = previous_id
            .or_else(|| self.user_id.clone())
            .unwrap_or_else(|| self.anonymous_id.clone());
        self.store.set(K_UID, &user_id);
        self.user_id = Some(user_id);
        self.enqueue(
            Body::Alias {
                previous_id: &previous,
            },
            notices,
        );
    }

    /// `reset()`: forgets the user, traits, campaigns and cart; starts a new anonymous id and
    /// session.
    pub fn reset(&mut self) {
        for k in [
            K_UID,
            K_TRAITS,
            K_AID,
            K_SESSION,
            K_CAMPAIGN,
            K_FIRST_TOUCH,
            K_LAST_TOUCH,
            super::shop::K_CART,
        ] {
            self.store.remove(k);
        }
        platform::cookie_set(COOKIE, "", 0, self.cookie_domain.as_deref());
        self.user_id = None;
        self.traits = "{}".into();
        self.load_anonymous_id();
        let now = platform::now();
        self.session = Session { id: now, last: now };
        self.store.set(K_SESSION, &self.session.encode());
        self.campaign = None;
        self.ctx.clear();
    }

    /// `flush()`: sends everything queued now; `resolve(true)` once delivered, `resolve(false)`
    /// if delivery is failing or a batch was refused.
    pub fn flush(&mut self, resolve: Function, notices: &mut Notices) {
        if self.queue.is_empty() {
            notices.push((resolve, JsValue::TRUE));
            return;
        }
        self.flush_waiters.push(resolve);
        self.queue.flush();
        self.drive(platform::now(), notices);
    }

    /// The anonymous id.
    pub fn anonymous_id(&self) -> String {
        self.anonymous_id.clone()
    }

    /// The user id, once known.
    pub fn user_id(&self) -> Option<String> {
        self.user_id.clone()
    }

    /// The session id (Unix ms at which it started).
    pub fn session_id(&self) -> u64 {
        self.session.id
    }

    // ---- delivery ----

    fn settle(&mut self, ok: bool, notices: &mut Notices) {
        let v = JsValue::from_bool(ok);
        for f in self.flush_waiters.drain(..) {
            notices.push((f, v.clone()));
        }
        self.flush_failed = false;
    }

    fn on_report(&mut self, r: Report, notices: &mut Notices) {
        match r {
            Report::Delivered { count } => {
                if self.wants("delivered") {
                    let o = Object::new();
                    let _ = Reflect::set(&o, &"count".into(), &(count as u32).into());
                    self.emit("delivered", &o, notices);
                }
            }
            Report::Rejected { count, status } => {
                self.flush_failed = true;
                let mut m = String::from("the endpoint refused a batch of ");
                json::push_u64(&mut m, count as u64);
                m.push_str(" events with HTTP ");
                json::push_u64(&mut m, status as u64);
                m.push_str("; they were dropped");
                self.report("rejected", &m, notices);
            }
            Report::Failing { attempts } => {
                let mut m = String::from("delivery is failing (attempts so far: ");
                json::push_u64(&mut m, attempts as u64);
                m.push_str("); the events are kept and retried");
                self.report("delivery_failing", &m, notices);
                self.settle(false, notices);
            }
            Report::QueueFull => self.report(
                "queue_full",
                "the queue holds 10000 undelivered events; this event was dropped",
                notices,
            ),
        }
        if self.queue.is_empty() && !self.flush_waiters.is_empty() {
            let ok = !self.flush_failed;
            self.settle(ok, notices);
        }
    }

    fn on_response(&mut self, outcome: Outcome, notices: &mut Notices) {
        let now = platform::now();
        self.sent_at = None;
        self.abort = None;
        let r = self.queue.on_response(outcome, now, self.rng.u32());
        if let Some(r) = r {
            self.on_report(r, notices);
        }
        self.drive(now, notices);
    }

    /// Sends a batch body: gzip-compressed first when `compress` is on and the browser has
    /// CompressionStream (the compressed bytes come back to [`Runtime::send_compressed`]).
    fn send(&mut self, body: &str, now: u64) -> bool {
        self.sent_at = Some(now);
        if self.cfg.compress && body.len() >= 1024 {
            if let Some(p) = gzip(body) {
                self.plain = Some(body.to_string());
                let _ = p.then2(&self.hooks.compressed, &self.hooks.uncompressed);
                return true;
            }
        }
        self.fetch(
            &self.cfg.endpoint.clone(),
            &JsValue::from_str(body),
            body.len(),
        )
    }

    /// The gzip bytes of the batch under way are ready: POST them, saying so in the URL.
    fn send_compressed(&mut self, bytes: JsValue) {
        self.plain = None;
        let len = bytes
            .dyn_ref::<js_sys::ArrayBuffer>()
            .map_or(0, |b| b.byte_length() as usize);
        let url = self.gzip_endpoint.clone();
        if !self.fetch(&url, &bytes, len) {
            self.on_response(Outcome::Retry { after_ms: None }, &mut Vec::new());
        }
    }

    /// Compression failed: send the batch under way as it is.
    fn send_uncompressed(&mut self) {
        let body = self.plain.take().unwrap_or_default();
        let url = self.cfg.endpoint.clone();
        if !self.fetch(&url, &JsValue::from_str(&body), body.len()) {
            self.on_response(Outcome::Retry { after_ms: None }, &mut Vec::new());
        }
    }

    fn fetch(&mut self, url: &str, body: &JsValue, len: usize) -> bool {
        let Some(w) = platform::window() else {
            return false;
        };
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(body);
        // keepalive lets the request finish if the page unloads; its quota is 64 KiB.
        if len < queue::UNLOAD_BODY_BYTES {
            let _ = Reflect::set(&init, &"keepalive".into(), &JsValue::TRUE);
        }
        let abort = AbortController::new().ok();
        if let Some(a) = &abort {
            init.set_signal(Some(&a.signal()));
        }
        let p = w.fetch_with_str_and_init(url, &init);
        let _ = p.then2(&self.hooks.ok, &self.hooks.fail);
        self.abort = abort;
        true
    }

    /// Sends what is due and sets the timer for the next wake-up.
    fn drive(&mut self, now: u64, notices: &mut Notices) {
        if let Some(t) = self.queue.poll_transmit(now) {
            if !self.send(&t.body, now) {
                self.queue
                    .on_response(Outcome::Retry { after_ms: None }, now, self.rng.u32());
            }
        }
        if self.queue.take_dirty() && self.persist_due.is_none() {
            self.persist_due = Some(now + PERSIST_DELAY_MS);
        }
        let _ = notices;
        let next = [
            self.queue.poll_timeout(now),
            self.persist_due,
            self.sent_at.map(|t| t + REQUEST_TIMEOUT_MS),
        ]
        .into_iter()
        .flatten()
        .min();
        self.set_timer(next, now);
    }

    fn set_timer(&mut self, due: Option<u64>, now: u64) {
        let Some(due) = due else { return };
        if matches!(self.timer, Some((_, t)) if t <= due) {
            return;
        }
        let Some(w) = platform::window() else { return };
        if let Some((h, _)) = self.timer.take() {
            w.clear_timeout_with_handle(h);
        }
        let delay = due.saturating_sub(now).min(i32::MAX as u64) as i32;
        if let Ok(h) = w.set_timeout_with_callback_and_timeout_and_arguments_0(
            self.hooks.wake.as_ref().unchecked_ref(),
            delay,
        ) {
            self.timer = Some((h, due));
        }
    }

    fn on_wake(&mut self, notices: &mut Notices) {
        self.timer = None;
        let now = platform::now();
        if self.persist_due.is_some_and(|t| t <= now) {
            self.persist(false, now, notices);
        }
        if self.sent_at.is_some_and(|t| now >= t + REQUEST_TIMEOUT_MS) {
            if let Some(a) = self.abort.take() {
                a.abort();
            }
        }
        self.drive(now, notices);
    }

    fn persist(&mut self, released: bool, now: u64, notices: &mut Notices) {
        self.persist_due = None;
        if self.queue.is_empty() {
            self.store.remove(&self.queue_key);
            return;
        }
        let text = self.queue.encode(released, now);
        if !self.store.set(&self.queue_key, &text) && !self.storage_warned {
            self.storage_warned = true;
            self.report("storage_unavailable", "localStorage refused the queue (disabled or full): undelivered events will not survive a reload", notices);
        }
    }

    fn on_lifecycle(&mut self, kind: &str, persisted: bool, notices: &mut Notices) {
        let now = platform::now();
        let hidden = platform::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
        match kind {
            "pagehide" => {
                self.page_left(now, notices);
                self.unload(true, now, notices)
            }
            "visibilitychange" if hidden => {
                self.page_left(now, notices);
                self.unload(false, now, notices)
            }
            "pageshow" if persisted => {
                // Back from the back-forward cache: the shopper is on this page again.
                self.persist(false, now, notices);
                if self.cfg.page_views {
                    self.page_view(None, "{}", notices);
                }
            }
            "online" => {
                self.queue.flush();
                self.drive(now, notices);
            }
            "popstate" | "hashchange" => self.on_navigation(notices),
            "scroll" if now >= self.last_scroll_sample + SCROLL_SAMPLE_MS => {
                self.last_scroll_sample = now;
                self.sample_scroll();
            }
            _ => {}
        }
    }

    /// A page view: also starts the time-on-page and scroll-depth measures for `Page Left`.
    pub fn page_view(&mut self, name: Option<&str>, properties: &str, notices: &mut Notices) {
        self.enqueue(Body::Page { name, properties }, notices);
        self.viewed_before = std::mem::take(&mut self.viewed);
        self.tracked_url = self.page.url.clone();
        self.tracked_path = self.page.path.clone();
        self.page_started = platform::now();
        self.max_scroll = 0;
        self.left_sent = false;
        self.sample_scroll();
    }

    /// `history.pushState`/`replaceState`, `popstate` or `hashchange`: one page view per real
    /// URL change, after `Page Left` for the page being left.
    fn on_navigation(&mut self, notices: &mut Notices) {
        let href = self.href();
        if href == self.tracked_url || !self.cfg.history {
            return;
        }
        self.page_left(platform::now(), notices);
        self.page_view(None, "{}", notices);
        if self.cfg.capture || self.cfg.json_ld {
            // Give the app time to render the new route, then read its products.
            if let Some(w) = platform::window() {
                let f: &Function = self.hooks.ready.as_ref().unchecked_ref();
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(f, 500);
            }
        }
    }

    /// Whether product `id` is seen for the first time in this page view (and not already
    /// reported by the previous one): records it either way.
    pub(crate) fn first_view_of(&mut self, id: &str) -> bool {
        if self.viewed.iter().any(|v| v == id) || self.viewed_before.iter().any(|v| v == id) {
            return false;
        }
        self.viewed.push(id.to_string());
        true
    }

    fn sample_scroll(&mut self) {
        let Some(w) = platform::window() else { return };
        let y = w.scroll_y().unwrap_or(0.0);
        let vh = w
            .inner_height()
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        let dh = w
            .document()
            .and_then(|d| d.document_element())
            .map(|e| e.scroll_height() as f64)
            .unwrap_or(0.0);
        self.max_scroll = self.max_scroll.max(page::scroll_percent(y, vh, dh));
    }

    /// `Page Left` for the current page view, once: time on page and deepest scroll.
    fn page_left(&mut self, now: u64, notices: &mut Notices) {
        if self.left_sent || self.tracked_url.is_empty() {
            return;
        }
        self.left_sent = true;
        self.sample_scroll();
        // The page being left is the one last viewed, even if the URL already changed.
        let props = page::left_properties(
            &self.tracked_path,
            &self.tracked_url,
            now.saturating_sub(self.page_started),
            self.max_scroll,
        );
        self.track("Page Left", &props, notices);
    }

    /// The page may be going away: hand what is queued to the browser (sendBeacon) in bodies it
    /// accepts, and write the rest to storage at once.
    fn unload(&mut self, released: bool, now: u64, notices: &mut Notices) {
        if let Some(nav) = platform::window().map(|w| w.navigator()) {
            while let Some(t) = self.queue.poll_unload(now) {
                if nav.send_beacon_with_opt_str(&self.cfg.endpoint, Some(&t.body)) != Ok(true) {
                    break;
                }
                self.queue.unload_sent(t.count);
            }
        }
        self.queue.take_dirty();
        self.persist(released, now, notices);
        if self.queue.is_empty() && !self.flush_waiters.is_empty() {
            self.settle(true, notices);
        }
    }
}
