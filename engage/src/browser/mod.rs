//! The engage module in the browser: DOM events become the detector's samples, the runner's
//! decisions become popups and events; wake-ups are one gloo-timers `Timeout`. The tracker
//! hands over its public API object; nothing else of it is reached.
//!
//! Re-entrancy: the state lives in one cell that is never borrowed while page code can run
//! (tracker calls, rendering, listeners of the page). A call that arrives while it is borrowed
//! (`add` from a page listener) waits in a queue and runs when the borrow ends.

mod dom;
mod popup;
mod strict;
mod tracker;

use crate::engage_core::campaign::{self, Campaign, Items};
use crate::engage_core::cap::Caps;
use crate::engage_core::detect::{Fire, Sample};
use crate::engage_core::experiment::{share, Arm};
use crate::engage_core::runner::{Decision, Runner};
use crate::engage_core::session::{self, Facts};
use crate::engage_core::target::Visit;
use crate::engage_core::template;
use dom::{is_field, now, Listener};
use gloo_timers::callback::Timeout;
use js_sys::{Array, Function, Object};
use popup::{Item, Outcome, Popup};
use std::cell::RefCell;
use std::rc::Rc;
use tracker::{get, items, number, set, text, Tracker};
use wasm_bindgen::prelude::*;
use web_sys::{Event, KeyboardEvent, MouseEvent};

/// Where the frequency caps are kept.
const K_CAPS: &str = "shoptrail:engage";
/// The session's source, referring site and pages (see `session`).
const K_SOURCE: &str = "shoptrail:engage:source";

struct Open {
    slot: usize,
    variant: Option<String>,
    why: Fire,
    popup: Popup,
    converted: bool,
}

struct State {
    tracker: Tracker,
    report: Function,
    runner: Runner,
    hover: bool,
    /// The session (its start, Unix ms) and what targeting knows of it.
    session: (u64, Facts),
    listeners: Vec<Listener>,
    timer: Option<(u64, Timeout)>,
    open: Option<Open>,
    pushed: bool,
    on_event: Option<Closure<dyn FnMut(JsValue)>>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    static LATER: RefCell<Vec<JsValue>> = const { RefCell::new(Vec::new()) };
    /// A `shutdown` that arrived while the state was borrowed: done when the borrow ends.
    static STOP: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn stored(key: &str) -> Option<String> {
    storage()?.get_item(key).ok()?
}

fn store(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

/// Runs `f` on the state, unless it is absent or borrowed (then `None`).
fn with<T>(f: impl FnOnce(&mut State) -> T) -> Option<T> {
    STATE.with(|s| {
        let mut s = s.try_borrow_mut().ok()?;
        s.as_mut().map(f)
    })
}

fn report(f: &Function, message: &str) {
    let _ = f.call2(&JsValue::NULL, &"invalid_campaign".into(), &message.into());
}

/// Reads and checks one campaign (`index` of `campaigns`, for the message).
fn read(value: JsValue, index: usize) -> Result<Campaign, String> {
    campaign::read(value).map_err(|e| e.describe(index))
}

/// The session's source, referring site and pages, this page counted (see `session`).
fn session_facts(session: u64) -> Facts {
    let page = || {
        let w = web_sys::window()?;
        let url = web_sys::Url::new(&w.location().href().ok()?).ok()?;
        let source = url.search_params().get("utm_source");
        let referrer = w.document().map(|d| d.referrer()).unwrap_or_default();
        let from = web_sys::Url::new(&referrer).ok().map(|u| u.hostname());
        Some((source, from, url.hostname()))
    };
    let (source, from, host) = page().unwrap_or_default();
    let stored = stored(K_SOURCE);
    let (facts, line) = session::on_page(
        stored.as_deref(),
        session,
        source.as_deref(),
        from.as_deref(),
        &host,
    );
    store(K_SOURCE, &line);
    facts
}

/// Starts the campaigns with the tracker's API object; invalid ones are reported through
/// `report(code, message)` and skipped.
#[wasm_bindgen]
pub fn start(api: JsValue, campaigns: Array, report: Function) {
    if STATE.with(|s| s.borrow().is_some()) {
        for c in campaigns.iter() {
            add(c);
        }
        return;
    }
    let tracker = Tracker::new(api);
    let window = web_sys::window();
    let hover = window
        .as_ref()
        .and_then(|w| {
            w.match_media("(hover: hover) and (pointer: fine)")
                .ok()
                .flatten()
        })
        .is_some_and(|m| m.matches());
    let session = tracker.session_id();
    let caps = Caps::decode(&stored(K_CAPS).unwrap_or_default());
    let mut runner = Runner::new(caps, &tracker.anonymous_id(), session, hover, now());
    for (i, c) in campaigns.iter().enumerate() {
        match read(c, i) {
            Ok(c) => {
                runner.add(c);
            }
            Err(m) => self::report(&report, &m),
        }
    }
    let state = State {
        tracker,
        report,
        runner,
        hover,
        session: (session, session_facts(session)),
        listeners: Vec::new(),
        timer: None,
        open: None,
        pushed: false,
        on_event: None,
    };
    STATE.with(|s| *s.borrow_mut() = Some(state));
    listen();
    feed(viewport());
    feed(Sample::Cart(cart_units(
        &with(|s| s.tracker.cart()).unwrap_or_default(),
    )));
    feed(scroll_sample());
}

/// Adds (or replaces) one campaign.
#[wasm_bindgen]
pub fn add(campaign: JsValue) {
    let done = with(|s| {
        let index = s.runner.len();
        match read(campaign.clone(), index) {
            Ok(c) => {
                s.runner.add(c);
            }
            Err(m) => report(&s.report, &m),
        }
    });
    if done.is_none() && STATE.with(|s| s.try_borrow().is_err()) {
        LATER.with(|l| l.borrow_mut().push(campaign));
    }
    schedule();
}

/// Removes every listener, timer and node the module added; campaigns stop.
#[wasm_bindgen]
pub fn shutdown() {
    let Ok(state) = STATE.with(|s| s.try_borrow_mut().map(|mut s| s.take())) else {
        STOP.with(|s| s.set(true));
        return;
    };
    if let Some(mut s) = state {
        if let Some(o) = s.open.take() {
            o.popup.close();
        }
        if let Some(f) = &s.on_event {
            s.tracker.off("event", f.as_ref().unchecked_ref());
        }
        drop(s);
    }
}

fn viewport() -> Sample {
    let doc = dom::document().and_then(|d| d.document_element());
    let w = web_sys::window();
    let outer = w
        .as_ref()
        .and_then(|w| w.inner_width().ok()?.as_f64())
        .unwrap_or(0.0) as i32;
    Sample::Viewport {
        width: doc.as_ref().map_or(outer, |d| d.client_width()),
        height: doc.as_ref().map_or(0, |d| d.client_height()),
        outer,
    }
}

fn scroll_sample() -> Sample {
    let y = web_sys::window()
        .and_then(|w| w.scroll_y().ok())
        .unwrap_or(0.0);
    let height = dom::document()
        .and_then(|d| d.document_element())
        .map_or(0, |d| d.scroll_height());
    Sample::Scroll {
        y: y as i32,
        height,
    }
}

fn cart_units(cart: &JsValue) -> u32 {
    items(cart, "products")
        .into_iter()
        .map(|p| number(&p, "quantity").unwrap_or(1.0).max(0.0) as u32)
        .sum()
}

/// The `product_id`, `sku` and `category` of each product in the cart.
fn cart_tags(cart: &JsValue) -> Vec<String> {
    let mut tags = Vec::new();
    for p in items(cart, "products") {
        for k in ["product_id", "sku", "category"] {
            tags.extend(text(&p, k));
        }
    }
    tags
}

/// What targeting needs, asked of the tracker when a trigger fires.
fn visit(tracker: &Tracker, hover: bool, (session, facts): &(u64, Facts)) -> Visit {
    let loc = web_sys::window().map(|w| w.location());
    let profile = tracker.profile();
    let cart = tracker.cart();
    let traits = get(&profile, "traits");
    Visit {
        url: loc.as_ref().and_then(|l| l.href().ok()).unwrap_or_default(),
        path: loc
            .as_ref()
            .and_then(|l| l.pathname().ok())
            .unwrap_or_default(),
        mobile: !hover,
        visits: number(&profile, "visits").unwrap_or(1.0) as u32,
        orders: number(&profile, "orders").unwrap_or(0.0) as u32,
        cart_value: number(&cart, "value").unwrap_or(0.0),
        cart_items: cart_units(&cart),
        utm_source: facts.source.clone(),
        referrer: facts.referrer.clone(),
        pages: facts.pages,
        seconds_on_site: now().saturating_sub(*session) as f64 / 1000.0,
        cart_tags: cart_tags(&cart),
        identified: tracker.user_id().is_some(),
        subscribed: get(&traits, "subscribed").as_bool() == Some(true),
    }
}

/// One sample: the runner decides inside the borrow; the decision is carried out after it.
fn feed(sample: Sample) {
    let out = with(|s| {
        let (tracker, hover, session) = (s.tracker.clone(), s.hover, s.session.clone());
        let d = s
            .runner
            .handle(now(), sample, &|| visit(&tracker, hover, &session));
        (d, s.runner.take_push() && !s.pushed)
    });
    if let Some((d, push)) = out {
        if push {
            push_entry();
        }
        act(d);
    }
}

fn wake() {
    let out = with(|s| {
        s.timer = None;
        let (tracker, hover, session) = (s.tracker.clone(), s.hover, s.session.clone());
        s.runner.wake(now(), &|| visit(&tracker, hover, &session))
    });
    if let Some(d) = out {
        act(d);
    }
}

/// Sets the one timer to the runner's next wake-up (a gloo-timers handle: replacing or
/// dropping it cancels the old one).
fn schedule() {
    if STOP.with(|s| s.replace(false)) {
        return shutdown();
    }
    let later: Vec<JsValue> = LATER.with(|l| l.borrow_mut().drain(..).collect());
    for c in later {
        add(c);
    }
    with(|s| {
        let next = s.runner.next_wake();
        if next == s.timer.as_ref().map(|(t, _)| *t) {
            return;
        }
        s.timer = next.map(|at| {
            let ms = at.saturating_sub(now()).min(u64::from(u32::MAX >> 1)) as u32;
            (at, Timeout::new(ms, wake))
        });
    });
}

/// The back-button trigger's one history entry (same URL, so no page view).
fn push_entry() {
    let Some(h) = web_sys::window().and_then(|w| w.history().ok()) else {
        return;
    };
    let marker = Object::new();
    set(&marker, "shoptrail", "exit");
    if h.push_state(&marker, "").is_ok() {
        with(|s| s.pushed = true);
    }
}

fn props(campaign: &str, variant: Option<&str>, why: Fire) -> Object {
    let p = Object::new();
    set(&p, "campaign_id", campaign);
    if let Some(v) = variant {
        set(&p, "variant_id", v);
    }
    set(&p, "trigger", why.name());
    p
}

/// Carries out a decision: the caps are stored first (a reload cannot show it twice), then
/// `Experiment Viewed` for campaigns with an experiment, then the popup and `Popup Shown`.
fn act(d: Option<Decision>) {
    let Some(d) = d else {
        return schedule();
    };
    let (slot, variant, why, control) = match d {
        Decision::Show { slot, variant, why } => (slot, variant, why, false),
        Decision::Control { slot, why } => (slot, None, why, true),
    };
    let Some((c, tracker, caps)) = with(|s| {
        let c = s.runner.campaign(slot).cloned();
        (c, s.tracker.clone(), s.runner.take_caps())
    }) else {
        return;
    };
    let Some(c) = c else { return schedule() };
    if let Some(caps) = caps {
        store(K_CAPS, &caps);
    }
    let variant_id = variant
        .and_then(|v| c.variants.get(v))
        .map(|v| v.id.clone());
    if !c.variants.is_empty() || c.control > 0 {
        let e = Object::new();
        set(&e, "experiment_id", c.id.as_str());
        set(
            &e,
            "variation_id",
            variant_id.as_deref().unwrap_or("control"),
        );
        set(&e, "trigger", why.name());
        let weights: Vec<u32> = c.variants.iter().map(|v| v.weight).collect();
        let arm = if control {
            Arm::Control
        } else {
            Arm::Variant(variant.unwrap_or(0))
        };
        set(&e, "allocation", share(&weights, c.control, arm));
        tracker.track("Experiment Viewed", &e);
    }
    if control {
        return schedule();
    }
    let Some(content) = c.content(variant) else {
        return schedule();
    };
    let cart = tracker.cart();
    let profile = tracker.profile();
    let fill = |t: &str| template::render(t, &|path| lookup(path, &profile, &cart));
    let items = match content.items {
        Some(Items::Cart) => cart_items(&cart),
        Some(Items::Viewed) => viewed_items(&profile),
        None => Vec::new(),
    };
    let on: Rc<dyn Fn(Outcome)> = Rc::new(outcome);
    let popup = dom::document().and_then(|doc| Popup::open(&doc, content, &fill, &items, on));
    if let Some(popup) = popup {
        with(|s| {
            s.open = Some(Open {
                slot,
                variant: variant_id.clone(),
                why,
                popup,
                converted: false,
            })
        });
        tracker.track("Popup Shown", &props(&c.id, variant_id.as_deref(), why));
    }
    schedule();
}

/// What the shopper did with the open popup.
fn outcome(o: Outcome) {
    let now = now();
    let Some((tracker, id, variant, why, slot, first)) = with(|s| {
        let open = s.open.as_mut()?;
        let first = !open.converted;
        if matches!(
            o,
            Outcome::Converted(..) | Outcome::Form(..) | Outcome::Nps(..)
        ) {
            open.converted = true;
        }
        let id = s.runner.campaign(open.slot)?.id.clone();
        Some((
            s.tracker.clone(),
            id,
            open.variant.clone(),
            open.why,
            open.slot,
            first,
        ))
    })
    .flatten() else {
        return;
    };
    let p = props(&id, variant.as_deref(), why);
    let closes = match &o {
        Outcome::Dismissed(how) => {
            let after_conversion = !first;
            if !after_conversion {
                set(&p, "how", *how);
                tracker.track("Popup Dismissed", &p);
                with(|s| s.runner.dismissed(slot, now));
            }
            true
        }
        Outcome::Converted(how, navigates) => {
            if first {
                set(&p, "how", *how);
                tracker.track("Popup Converted", &p);
                with(|s| s.runner.converted(slot));
            }
            *navigates || *how == "cta"
        }
        Outcome::Form(traits, spam) => {
            // A bot's sign-up (see popup.rs) is kept, flagged, without the traits: the collector
            // counts it in nothing and starts nothing for it.
            let signed = props(&id, variant.as_deref(), why);
            match spam {
                Some(s) => {
                    set(&signed, "spam", *s);
                    set(&p, "spam", *s);
                }
                None => tracker.identify(traits),
            }
            set(&signed, "method", "popup");
            tracker.track("Signed Up", &signed);
            if first {
                set(&p, "how", "form");
                tracker.track("Popup Converted", &p);
                with(|s| s.runner.converted(slot));
            }
            false
        }
        Outcome::Nps(score, comment) => {
            let answer = props(&id, variant.as_deref(), why);
            set(&answer, "score", *score);
            if let Some(c) = comment {
                set(&answer, "comment", c.as_str());
            }
            tracker.track("NPS Submitted", &answer);
            if first {
                set(&p, "how", "nps");
                tracker.track("Popup Converted", &p);
                with(|s| s.runner.converted(slot));
            }
            false
        }
    };
    if let Some(Some(caps)) = with(|s| s.runner.take_caps()) {
        store(K_CAPS, &caps);
    }
    if closes {
        if let Some(Some(o)) = with(|s| s.open.take()) {
            o.popup.close();
        }
    }
}

/// A template value: `traits.*` from the profile, `cart.total`, `cart.count`, `cart.currency`.
fn lookup(path: &str, profile: &JsValue, cart: &JsValue) -> Option<String> {
    match path.split_once('.')? {
        ("traits", key) => text(&get(profile, "traits"), key),
        ("cart", "total") => number(cart, "value").map(money),
        ("cart", "count") => Some(cart_units(cart).to_string()),
        ("cart", "currency") => text(cart, "currency"),
        _ => None,
    }
}

/// Two decimals by JavaScript's `toFixed` (Rust's float formatting would add kilobytes).
fn money(v: f64) -> String {
    js_sys::Number::from(v)
        .to_fixed(2)
        .map(String::from)
        .unwrap_or_default()
}

fn price(p: &JsValue) -> String {
    let amount = number(p, "price").map(money).unwrap_or_default();
    match text(p, "currency") {
        Some(c) if !amount.is_empty() => format!("{amount} {c}"),
        _ => amount,
    }
}

fn cart_items(cart: &JsValue) -> Vec<Item> {
    items(cart, "products")
        .into_iter()
        .map(|p| {
            let qty = number(&p, "quantity").unwrap_or(1.0);
            let name = text(&p, "name")
                .or_else(|| text(&p, "product_id"))
                .unwrap_or_default();
            Item {
                name: if qty > 1.0 {
                    // JavaScript writes the number: Rust's float formatting is kilobytes.
                    format!("{name} × {}", strict::number_text(qty))
                } else {
                    name
                },
                price: price(&p),
                image: text(&p, "image_url"),
            }
        })
        .collect()
}

fn viewed_items(profile: &JsValue) -> Vec<Item> {
    items(profile, "viewed")
        .into_iter()
        .map(|p| Item {
            name: text(&p, "name")
                .or_else(|| text(&p, "product_id"))
                .unwrap_or_default(),
            price: price(&p),
            image: text(&p, "image_url"),
        })
        .collect()
}

/// The DOM events the detector needs, each an owned listener that `shutdown` removes.
fn listen() {
    let (Some(w), Some(doc)) = (web_sys::window(), dom::document()) else {
        return;
    };
    let mouse = |e: &Event| e.dyn_ref::<MouseEvent>().cloned();
    let mut l = vec![
        Listener::new(&doc, "mousemove", false, move |e| {
            if let Some(m) = mouse(&e) {
                feed(Sample::Move {
                    x: m.client_x(),
                    y: m.client_y(),
                    buttons: m.buttons(),
                });
            }
        }),
        Listener::new(&doc, "mouseout", false, move |e| {
            if let Some(m) = mouse(&e).filter(|m| m.related_target().is_none()) {
                feed(Sample::Leave {
                    x: m.client_x(),
                    y: m.client_y(),
                    buttons: m.buttons(),
                });
            }
        }),
        Listener::new(&w, "scroll", false, |_| feed(scroll_sample())),
        Listener::new(&w, "resize", false, |_| feed(viewport())),
        Listener::new(&doc, "focusin", false, |e| {
            feed(Sample::Field(e.target().is_some_and(|t| is_field(&t))))
        }),
        Listener::new(&doc, "focusout", false, |_| feed(Sample::Field(false))),
        Listener::new(&doc, "keydown", false, |e| {
            let trusted = e.is_trusted();
            if e.dyn_ref::<KeyboardEvent>().is_some() {
                feed(Sample::Key);
                if trusted {
                    feed(Sample::Gesture);
                }
            }
        }),
        Listener::new(&doc, "pointerdown", false, |e| {
            if e.is_trusted() {
                feed(Sample::Gesture);
            }
        }),
        Listener::new(&doc, "visibilitychange", false, |_| {
            let hidden = dom::document().is_some_and(|d| d.hidden());
            feed(Sample::Hidden(hidden));
        }),
        Listener::new(&w, "popstate", false, |_| {
            let ours = web_sys::window()
                .and_then(|w| w.history().ok()?.state().ok())
                .is_some_and(|s| get(&s, "shoptrail").as_string().is_some());
            if !ours && with(|s| s.pushed).unwrap_or(false) {
                feed(Sample::Back);
            }
        }),
    ];
    // Cart changes, from the tracker's events: the cart-idle trigger and targeting follow them.
    let on_event = Closure::<dyn FnMut(JsValue)>::new(|ev: JsValue| {
        let name = text(&ev, "event").unwrap_or_default();
        if name.starts_with("Product ") || name == "Order Completed" || name == "Cart Viewed" {
            let cart = with(|s| s.tracker.cart()).unwrap_or_default();
            feed(Sample::Cart(cart_units(&cart)));
        }
    });
    with(|s| {
        s.tracker.on("event", on_event.as_ref().unchecked_ref());
        s.listeners.append(&mut l);
        s.on_event = Some(on_event);
    });
}
