//! The tracker and the engage module together in the browser, as a page gets them: `init`
//! with campaigns loads the module when the browser is idle, an exit shows the popup
//! (`popup:shown`, `Popup Shown` stored by the collector) and misfires do not — the pointer
//! leaving through the top where the pointer hovers, a fast scroll up where it does not — an
//! invalid campaign is reported with its path, and `shutdown` leaves the page as it was.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::engage::{hand_over_engage, json};
use common::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{MouseEvent, MouseEventInit};

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

#[wasm_bindgen_test]
async fn campaigns_load_the_engage_module_and_an_exit_shows_the_popup() {
    let errors = Recorder::new();
    let shown = Recorder::new();
    hand_over_engage();
    let campaigns = json(
        r#"[{"id":"exit-offer","trigger":{"type":"exit","minTime":0,"grace":0},
             "content":{"headline":"Wait!","coupon":"SAVE10"}},
            {"id":"broken","trigger":{"type":"exit","sensitivity":500},"content":{"headline":"x"}},
            {"id":"typed","trigger":{"type":"time","seconds":"soon"},"content":{"headline":"x"}}]"#,
    );
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        ("flushInterval", 50.into()),
        ("campaigns", campaigns),
        ("onError", errors.function()),
    ]));
    api::on("popup:shown".into(), shown.function());
    // The module loads when the browser is idle.
    for _ in 0..50 {
        if errors.seen.borrow().len() == 2 {
            break;
        }
        sleep(50).await;
    }
    assert_eq!(errors.codes(), ["invalid_campaign", "invalid_campaign"]);
    let m = errors.messages();
    assert_eq!(m[0], "campaigns[1].trigger.sensitivity must be 10-100");
    assert!(
        m[1].starts_with("campaigns[2].trigger.seconds invalid type: string"),
        "{}",
        m[1]
    );

    let window = web_sys::window().unwrap();
    let hover = window
        .match_media("(hover: hover) and (pointer: fine)")
        .unwrap()
        .is_some_and(|m| m.matches());
    let doc = window.document().unwrap();
    let body = doc.body().unwrap();
    let tall = doc.create_element("div").unwrap();
    tall.set_attribute("style", "height:5000px").unwrap();
    body.append_child(&tall).unwrap();
    if hover {
        // Misfires: a mouseout into another element, the scrollbar, a focused field.
        mouse("mousemove", 300, 300, None);
        mouse("mouseout", 300, 10, Some(&body));
        let width = doc.document_element().unwrap().client_width();
        let inner = window.inner_width().unwrap().as_f64().unwrap() as i32;
        if inner > width {
            mouse("mousemove", width - 2, 300, None);
            mouse("mouseout", width + 2, 300, None);
        }
        let input: web_sys::HtmlElement = doc.create_element("input").unwrap().dyn_into().unwrap();
        body.append_child(&input).unwrap();
        input.focus().unwrap();
        exit_top(300);
        sleep(100).await;
        assert_eq!(popup_hosts(), 0, "no popup on a misfire");
        input.blur().unwrap();
        input.remove();
        exit_top(320);
    } else {
        // This browser's pointer does not hover (headless Chromium under chromedriver): the
        // touch rules apply. Scrolled down, back up slowly (nothing), then fast (the popup).
        window.scroll_to_with_x_and_y(0.0, 1500.0);
        sleep(150).await;
        for y in [1400.0, 1300.0, 1200.0] {
            window.scroll_to_with_x_and_y(0.0, y);
            sleep(200).await;
        }
        assert_eq!(popup_hosts(), 0, "no popup on a slow scroll up");
        window.scroll_to_with_x_and_y(0.0, 800.0);
    }
    for _ in 0..40 {
        if popup_hosts() == 1 {
            break;
        }
        sleep(25).await;
    }
    assert_eq!(popup_hosts(), 1, "the popup is on the page");
    sleep(50).await;
    let seen = shown.seen.borrow().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(get_str(&seen[0], "campaign_id"), "exit-offer");
    let trigger = if hover { "exit_top" } else { "scroll_up" };
    assert_eq!(get_str(&seen[0], "trigger"), trigger);

    // At most one popup per page view.
    exit_top(330);
    window.scroll_to_with_x_and_y(0.0, 2000.0);
    sleep(150).await;
    window.scroll_to_with_x_and_y(0.0, 1000.0);
    sleep(100).await;
    assert_eq!(popup_hosts(), 1);

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
    sleep(100).await;
    assert_eq!(popup_hosts(), 0);
}
