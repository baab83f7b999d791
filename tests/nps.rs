//! The NPS question in the browser, as the engage module renders it: eleven radio buttons 0 to
//! 10 in one group named by the headline, the texts at both ends describing 0 and 10, a comment
//! box of 1,000 characters, and a submit button that waits for a score; the answer gives
//! `NPS Submitted` (score, comment) and `Popup Converted` (`how: "nps"`) once, and replaces the
//! question with the thank-you line. Invalid NPS content is reported with its path, and so is
//! a key the schema does not know (a reader that asks only for declared fields would skip it).
//!
//! The popup lives in a closed shadow root; this page keeps the roots it makes (by wrapping
//! `attachShadow` before the module starts), so the suite can act as a shopper's clicks do.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::engage::{hand_over_engage, json};
use common::*;
use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlTextAreaElement, ShadowRoot};

wasm_bindgen_test_configure!(run_in_browser);

/// Keeps every shadow root made from now on in `window.__roots`, closed ones included.
fn keep_shadow_roots() {
    Function::new_no_args(
        "window.__roots = []; const attach = Element.prototype.attachShadow;
         Element.prototype.attachShadow = function (init) {
           const root = attach.call(this, init); window.__roots.push(root); return root; };",
    )
    .call0(&JsValue::NULL)
    .unwrap();
}

/// The newest popup's shadow root, once it is on the page.
async fn popup_root(count: u32) -> ShadowRoot {
    for _ in 0..80 {
        let roots = js_sys::Array::from(&get(&web_sys::window().unwrap().into(), "__roots"));
        if roots.length() >= count {
            return roots.get(count - 1).dyn_into().unwrap();
        }
        sleep(25).await;
    }
    panic!("no popup");
}

fn all(root: &ShadowRoot, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().dyn_into().unwrap())
        .collect()
}

fn one<T: JsCast>(root: &ShadowRoot, selector: &str) -> T {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("{selector}"))
        .dyn_into()
        .unwrap()
}

/// Waits until the collector holds `n` events named `event` for this shopper.
async fn stored(event: &str, n: usize) -> Vec<JsValue> {
    let aid = api::anonymous_id().unwrap();
    let query = format!("anonymousId={aid}&event={}", event.replace(' ', "%20"));
    for _ in 0..40 {
        let e = events(&query).await;
        if e.len() >= n {
            return e;
        }
        sleep(50).await;
    }
    events(&query).await
}

#[wasm_bindgen_test]
async fn the_nps_question_answers_with_a_score_and_a_comment() {
    let errors = Recorder::new();
    let converted = Recorder::new();
    keep_shadow_roots();
    hand_over_engage();
    let campaigns = json(
        r#"[{"id":"nps","trigger":{"type":"time","seconds":0},
             "content":{"headline":"How likely are you to recommend us?",
               "nps":{"comment":true,"commentLabel":"Why?","low":"<b>Never</b>","high":"Surely",
                      "submit":"Send it","success":"Thanks a lot"}}},
            {"id":"both","trigger":{"type":"exit"},"content":{"headline":"x","coupon":"X","nps":{}}},
            {"id":"label","trigger":{"type":"exit"},"content":{"headline":"x","nps":{"commentLabel":"?"}}},
            {"id":"empty","trigger":{"type":"exit"},"content":{"headline":"x","nps":{"low":" "}}},
            {"id":"typo","trigger":{"type":"exit"},"content":{"headline":"x","nps":{"comentLabel":"?"}}},
            {"id":"list","trigger":{"type":"exit"},"content":{"headline":"x","nps":[]}},
            {"id":"copun","trigger":{"type":"exit"},"variants":[{"id":"a","content":{"headline":"x","copun":"X"}}]}]"#,
    );
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        ("flushInterval", 50.into()),
        ("campaigns", campaigns),
        ("onError", errors.function()),
    ]));
    api::on("popup:converted".into(), converted.function());
    let root = popup_root(1).await;
    let m = errors.messages();
    assert_eq!(m.len(), 6, "{m:?}");
    assert_eq!(
        m[0],
        "campaigns[1].content.coupon cannot be combined with nps"
    );
    assert_eq!(
        m[1],
        "campaigns[2].content.nps.commentLabel needs comment: true"
    );
    assert_eq!(m[2], "campaigns[3].content.nps.low must not be empty");
    // A key the schema does not know is named with its path, not skipped.
    assert!(
        m[3].starts_with("campaigns[4].content.nps.comentLabel unknown field `comentLabel`"),
        "{}",
        m[3]
    );
    assert!(
        m[4].starts_with("campaigns[5].content.nps invalid type: sequence, expected struct Nps"),
        "{}",
        m[4]
    );
    assert!(
        m[5].starts_with("campaigns[6].variants[0].content.copun unknown field `copun`"),
        "{}",
        m[5]
    );

    // One radio group, named by the headline, 0 to 10; the ends describe 0 and 10, as text.
    let group: Element = one(&root, "[role=radiogroup]");
    assert_eq!(group.get_attribute("aria-labelledby").unwrap(), "st-h");
    let radios: Vec<HtmlInputElement> = all(&root, "input[type=radio]")
        .into_iter()
        .map(|e| e.dyn_into().unwrap())
        .collect();
    let values: Vec<String> = radios.iter().map(|r| r.value()).collect();
    assert_eq!(
        values,
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]
    );
    assert!(radios.iter().all(|r| r.name() == "score" && !r.checked()));
    let low: Element = one(&root, "#st-lo");
    assert_eq!(low.text_content().unwrap(), "<b>Never</b>");
    assert_eq!(low.child_element_count(), 0, "text, not markup");
    assert_eq!(
        radios[0].get_attribute("aria-describedby").unwrap(),
        "st-lo"
    );
    assert_eq!(
        radios[10].get_attribute("aria-describedby").unwrap(),
        "st-hi"
    );
    let area: HtmlTextAreaElement = one(&root, "textarea");
    assert_eq!(area.max_length(), 1000);
    let label = area.parent_element().unwrap().text_content().unwrap();
    assert_eq!(label, "Why?");
    // Focus starts on the first choice.
    let active = root.active_element().unwrap();
    assert_eq!(&active, radios[0].unchecked_ref::<Element>());

    // No score: the button is disabled, and a submit that comes anyway does nothing.
    let send: HtmlElement = one(&root, "button[type=submit]");
    assert_eq!(send.text_content().unwrap(), "Send it");
    assert!(send.has_attribute("disabled"));
    let form: web_sys::HtmlFormElement = one(&root, "form");
    form.request_submit().unwrap();
    // Whether it converted shows below: after flush() every listener call has been made, and
    // only the scored answer's is there.
    assert!(root.query_selector("form").unwrap().is_some());

    // 9, a comment with markup and blanks around it, Send.
    radios[9].click();
    assert!(radios[9].checked());
    assert!(
        !send.has_attribute("disabled"),
        "enabled once a score is chosen"
    );
    area.set_value("  <img src=x onerror=window.pwned=1> fast  ");
    send.click();
    let done: Element = one(&root, "p.done");
    assert_eq!(done.text_content().unwrap(), "Thanks a lot");
    assert_eq!(done.get_attribute("role").unwrap(), "status");
    assert!(root.query_selector("form").unwrap().is_none());
    assert_eq!(all(&root, "img").len(), 0);
    // Listeners hear of an event once the tracker has taken the call, after this task;
    // flush() hands over every call waiting before it settles.
    assert!(flush().await);
    let seen = converted.seen.borrow().clone();
    assert_eq!(
        seen.len(),
        1,
        "one conversion: the scored answer, not the empty submit"
    );
    assert_eq!(get_str(&seen[0], "how"), "nps");

    let answers = stored("NPS Submitted", 1).await;
    assert_eq!(answers.len(), 1);
    let p = get(&answers[0], "properties");
    assert_eq!(get(&p, "score").as_f64(), Some(9.0));
    assert_eq!(
        get_str(&p, "comment"),
        "<img src=x onerror=window.pwned=1> fast"
    );
    assert_eq!(get_str(&p, "campaign_id"), "nps");
    assert_eq!(get_str(&p, "trigger"), "time_on_page");
    let conversions = stored("Popup Converted", 1).await;
    assert_eq!(conversions.len(), 1);
    assert_eq!(get_str(&conversions[0], "properties.how"), "nps");
    assert!(get(&web_sys::window().unwrap().into(), "pwned").is_undefined());

    // A comment longer than 1,000 characters (set by a script, past `maxlength`) is cut; the
    // module started afresh for another campaign.
    shoptrail_engage::browser::shutdown();
    let again = json(
        r#"[{"id":"nps-long","trigger":{"type":"time","seconds":0},
             "content":{"headline":"Recommend us?","nps":{"comment":true}}}]"#,
    );
    shoptrail_engage::browser::start(
        shoptrail::boot(),
        again.unchecked_into(),
        errors.function().unchecked_into(),
    );
    let root = popup_root(2).await;
    let radios = all(&root, "input[type=radio]");
    radios[0].unchecked_ref::<HtmlElement>().click();
    let area: HtmlTextAreaElement = one(&root, "textarea");
    area.set_value(&"é".repeat(1_200));
    one::<HtmlElement>(&root, "button[type=submit]").click();
    assert!(flush().await);
    let answers = stored("NPS Submitted", 2).await;
    let long = answers
        .iter()
        .find(|e| get_str(e, "properties.campaign_id") == "nps-long")
        .expect("the second answer");
    assert_eq!(get(long, "properties.score").as_f64(), Some(0.0));
    assert_eq!(get_str(long, "properties.comment"), "é".repeat(1_000));
    shoptrail_engage::browser::shutdown();
}
