//! The tracker and the engage module together in the browser, as a page gets them: `init`
//! with campaigns loads the module when the browser is idle, an exit shows the popup
//! (`popup:shown`, `Popup Shown` stored by the collector) and misfires do not — the pointer
//! leaving through the top where the pointer hovers, a fast scroll up where it does not — an
//! invalid campaign is reported with its path, and `shutdown` leaves the page as it was. Both
//! rules run on every browser: the one its pointer calls for first, then the other with
//! `matchMedia` answering the opposite and the module started again.
//!
//! A "nothing happened" is asserted once the module has had its say, never after a guessed
//! sleep: a scroll is judged when the test's own `scroll` listener (added after the module's)
//! hears it; a pointer exit is judged on the event and shown by a timer set then for `grace`
//! (0 here), so it has run once the test's own zero-delay timer, set after it, has (timers of
//! equal delay run in the order they were set).
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::engage::{hand_over_engage, json};
use common::*;
use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{AddEventListenerOptions, MouseEvent, MouseEventInit};

wasm_bindgen_test_configure!(run_in_browser);

fn mouse(kind: &str, x: i32, y: i32, related: Option<&web_sys::Element>) {
    let init = MouseEventInit::new();
    init.set_bubbles(true);
    init.set_client_x(x);
    init.set_client_y(y);
    if let Some(r) = related {
        init.set_related_target(Some(r));
    }
    let e = MouseEvent::new_with_mouse_event_init_dict(kind, &init).unwrap();
    let body = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .body()
        .unwrap();
    body.dispatch_event(&e).unwrap();
}

/// The pointer moves up and leaves through the top.
fn exit_top(x: i32) {
    for y in [400, 300, 200, 100, 40, 12] {
        mouse("mousemove", x, y, None);
    }
    mouse("mouseout", x, -4, None);
}

fn popup_hosts() -> u32 {
    let doc = web_sys::window().unwrap().document().unwrap();
    doc.query_selector_all("[data-shoptrail-popup]")
        .unwrap()
        .length()
}

/// Scrolls to `y` and resolves once the window's `scroll` event for it has been dispatched
/// (the module's listener, added first, has run). A scroll that does not move the page (it is
/// there already, or a popup holds it) sends no event and resolves at once.
async fn scroll_to(y: f64) {
    let window = web_sys::window().unwrap();
    let before = window.scroll_y().unwrap();
    let heard = Promise::new(&mut |resolve: Function, _| {
        let once = AddEventListenerOptions::new();
        once.set_once(true);
        window
            .add_event_listener_with_callback_and_add_event_listener_options(
                "scroll", &resolve, &once,
            )
            .unwrap();
    });
    window.scroll_to_with_x_and_y(0.0, y);
    // `scrollY` changes at once; the event follows with the next frame.
    if window.scroll_y().unwrap() != before {
        JsFuture::from(heard).await.unwrap();
    }
}

/// Moves the page's clock (`Date.now`, which the module reads for every sample and timer) `ms`
/// on at once: time on the page is what the rules measure, so the test sets it instead of
/// sleeping through it.
fn advance(ms: u32) {
    let code = format!(
        "if (window.__skew === undefined) {{ const now = Date.now; window.__skew = 0;\
         Date.now = function () {{ return now.call(Date) + window.__skew; }}; }}\
         window.__skew += {ms};"
    );
    Function::new_no_args(&code).call0(&JsValue::NULL).unwrap();
}

/// Resolves once the zero-delay timers set so far have run (see the module doc).
async fn timers_run() {
    sleep(0).await;
}

/// Makes `matchMedia` answer `matches` for every query (`None`: the browser's own again).
fn force_media(matches: Option<bool>) {
    let code = match matches {
        Some(m) => format!(
            "window.__mm = window.__mm || window.matchMedia;\
             window.matchMedia = function (q) {{ return {{ matches: {m}, media: q,\
             addListener: function () {{}}, removeListener: function () {{}},\
             addEventListener: function () {{}}, removeEventListener: function () {{}} }}; }};"
        ),
        None => "if (window.__mm) window.matchMedia = window.__mm;".into(),
    };
    Function::new_no_args(&code).call0(&JsValue::NULL).unwrap();
}

/// The pointer rule: misfires (a mouseout into another element, onto the scrollbar, with a
/// field focused) show nothing; leaving through the top shows the popup. Before each, the
/// clock moves past the quiet time after the last scroll (a late scroll event of the page
/// counts too), in the same task as the events: so an exit would be taken, and the misfires
/// are what shows nothing.
async fn pointer_exit() {
    let window = web_sys::window().unwrap();
    let doc = window.document().unwrap();
    let body = doc.body().unwrap();
    advance(600);
    mouse("mousemove", 300, 300, None);
    mouse("mouseout", 300, 10, Some(&body));
    timers_run().await;
    assert_eq!(popup_hosts(), 0, "no popup leaving into an element");
    let width = doc.document_element().unwrap().client_width();
    let inner = window.inner_width().unwrap().as_f64().unwrap() as i32;
    if inner > width {
        advance(600);
        mouse("mousemove", width - 2, 300, None);
        mouse("mouseout", width + 2, 300, None);
        timers_run().await;
        assert_eq!(popup_hosts(), 0, "no popup on the scrollbar");
    }
    let input: web_sys::HtmlElement = doc.create_element("input").unwrap().dyn_into().unwrap();
    body.append_child(&input).unwrap();
    input.focus().unwrap();
    advance(600);
    exit_top(300);
    timers_run().await;
    assert_eq!(popup_hosts(), 0, "no popup while a field has the focus");
    input.blur().unwrap();
    input.remove();
    advance(600);
    exit_top(320);
    until("the popup after leaving through the top", 2000, || {
        popup_hosts() == 1
    })
    .await;
}

/// The touch rule: scrolled down, back up slowly (nothing), then fast (the popup).
async fn touch_exit() {
    scroll_to(1500.0).await;
    for y in [1400.0, 1300.0, 1200.0] {
        // 100 px every 200 ms: slow.
        advance(200);
        scroll_to(y).await;
    }
    assert_eq!(popup_hosts(), 0, "no popup on a slow scroll up");
    scroll_to(800.0).await;
    until("the popup after a fast scroll up", 2000, || {
        popup_hosts() == 1
    })
    .await;
}

#[wasm_bindgen_test]
async fn campaigns_load_the_engage_module_and_an_exit_shows_the_popup() {
    let errors = Recorder::new();
    let shown = Recorder::new();
    hand_over_engage();
    let campaigns = json(
        r#"[{"id":"exit-offer","trigger":{"type":"exit","minTime":0,"grace":0},
             "content":{"headline":"Wait!","coupon":"SAVE10"}},
            {"id":"broken","trigger":{"type":"exit","sensitivity":500},"content":{"headline":"x"}},
            {"id":"typed","trigger":{"type":"time","seconds":"soon"},"content":{"headline":"x"}},
            {"id":"float","trigger":{"type":"exit","sensitivity":1.5},"content":{"headline":"x"}}]"#,
    );
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        ("flushInterval", 50.into()),
        ("campaigns", campaigns),
        ("onError", errors.function()),
    ]));
    api::on("popup:shown".into(), shown.function());
    // The module loads when the browser is idle; its first act reports the invalid campaigns.
    until("the module's reports", 2500, || {
        errors.seen.borrow().len() == 3
    })
    .await;
    assert_eq!(
        errors.codes(),
        ["invalid_campaign", "invalid_campaign", "invalid_campaign"]
    );
    let m = errors.messages();
    assert_eq!(m[0], "campaigns[1].trigger.sensitivity must be 10-100");
    assert_eq!(
        m[1],
        "campaigns[2].trigger.seconds invalid type: string \"soon\", expected u32"
    );
    // Numbers in messages are written by JavaScript, as serde would write them.
    assert_eq!(
        m[2],
        "campaigns[3].trigger.sensitivity invalid type: floating point `1.5`, expected i32"
    );

    let window = web_sys::window().unwrap();
    let hover = window
        .match_media("(hover: hover) and (pointer: fine)")
        .unwrap()
        .is_some_and(|m| m.matches());
    let doc = window.document().unwrap();
    let tall = doc.create_element("div").unwrap();
    tall.set_attribute("style", "height:5000px").unwrap();
    doc.body().unwrap().append_child(&tall).unwrap();
    if hover {
        pointer_exit().await;
    } else {
        touch_exit().await;
    }
    until("popup:shown", 1000, || shown.seen.borrow().len() == 1).await;
    let seen = shown.seen.borrow().clone();
    assert_eq!(get_str(&seen[0], "campaign_id"), "exit-offer");
    let trigger = if hover { "exit_top" } else { "scroll_up" };
    assert_eq!(get_str(&seen[0], "trigger"), trigger);

    // At most one popup per page view, whichever rule fires next.
    exit_top(330);
    scroll_to(2000.0).await;
    scroll_to(1000.0).await;
    timers_run().await;
    assert_eq!(popup_hosts(), 1);
    assert_eq!(shown.seen.borrow().len(), 1);

    assert!(flush().await);
    let aid = api::anonymous_id().unwrap();
    let stored = events(&format!("anonymousId={aid}&event=Popup%20Shown")).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(get_str(&stored[0], "properties.campaign_id"), "exit-offer");

    // shutdown removes the popup and every listener.
    shoptrail_engage::browser::shutdown();
    assert_eq!(popup_hosts(), 0);
    mouse("mousemove", 300, 300, None);
    exit_top(300);
    assert_eq!(popup_hosts(), 0, "no listener left");

    // The other rule, with matchMedia answering the other way and the module started again
    // (a new campaign: the first one's cap holds for the session).
    force_media(Some(!hover));
    let again = json(
        r#"[{"id":"exit-two","trigger":{"type":"exit","minTime":0,"grace":0},
             "content":{"headline":"Still here?"}}]"#,
    );
    let report = errors.function().dyn_into::<Function>().unwrap();
    shoptrail_engage::browser::start(shoptrail::boot(), again.dyn_into().unwrap(), report);
    force_media(None);
    if hover {
        touch_exit().await;
    } else {
        pointer_exit().await;
    }
    until("popup:shown again", 1000, || shown.seen.borrow().len() == 2).await;
    let seen = shown.seen.borrow().clone();
    assert_eq!(get_str(&seen[1], "campaign_id"), "exit-two");
    let trigger = if hover { "scroll_up" } else { "exit_top" };
    assert_eq!(get_str(&seen[1], "trigger"), trigger);
    assert_eq!(errors.seen.borrow().len(), 3, "nothing more reported");
    shoptrail_engage::browser::shutdown();
    assert_eq!(popup_hosts(), 0);
}
