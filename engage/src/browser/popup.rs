//! The popup: a modal dialog in a closed shadow root, styled by a constructable stylesheet (so
//! it works under `style-src 'self'`, the shop's CSS cannot reach it and it never reaches the
//! shop's), fixed over the page (no layout shift), a bottom sheet on narrow screens. It holds
//! the content, the opt-in form and the NPS question (0 to 10 as one radio group, a comment);
//! `popup.css` is its stylesheet.
//!
//! Accessible: `role="dialog"`, `aria-modal`, named by its headline; focus moves in and is
//! trapped; Escape, the close button and the overlay dismiss; focus returns where it was.
//! Every text, the merchant's or the shopper's, is set as text content, never as HTML.
//!
//! Elements made here are of the type their tag makes (`unchecked_into`, no `instanceof`
//! import), and appending one made here to another cannot fail: neither is checked.

use super::dom::{attrs, el, text_el, Listener};
use crate::engage_core::campaign::{Content, Form, Need, Nps, Theme, NPS_COMMENT_MAX};
use crate::engage_core::form;
use js_sys::{Array, Object};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{
    CssStyleSheet, Document, Element, Event, HtmlElement, HtmlInputElement, HtmlTextAreaElement,
    KeyboardEvent, ShadowRoot, ShadowRootInit, ShadowRootMode,
};

const CSS: &str = include_str!("popup.css");

/// What the shopper did with the popup.
#[derive(Debug)]
pub enum Outcome {
    /// Closed it: `close`, `escape` or `overlay`.
    Dismissed(&'static str),
    /// Converted: `cta` (then `true` when the link navigates) or `copy`.
    Converted(&'static str, bool),
    /// Submitted the opt-in form: the contact traits.
    /// The traits, and why a bot's sign-up is one (`honeypot`, `too_fast`).
    Form(Object, Option<&'static str>),
    /// Answered the NPS question: the score (0–10) and the comment, if one was written.
    Nps(u8, Option<String>),
}

/// A product line the popup lists.
#[derive(Debug, Clone, Default)]
pub struct Item {
    /// Product name.
    pub name: String,
    /// Price, as shown.
    pub price: String,
    /// Image URL (checked).
    pub image: Option<String>,
}

/// An open popup. Dropping it does not close it: call [`Popup::close`].
pub struct Popup {
    host: Element,
    previous: Option<HtmlElement>,
    _listeners: Vec<Listener>,
}

impl core::fmt::Debug for Popup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Popup")
    }
}

/// Whether a URL from product data may be used (http(s) or relative).
fn safe_url(u: &str) -> bool {
    let lower = u.trim_start().to_ascii_lowercase();
    match lower.split_once(':') {
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => {
            scheme == "http" || scheme == "https"
        }
        _ => !u.trim().is_empty(),
    }
}

fn theme(host: &HtmlElement, t: &Theme) {
    let style = host.style();
    let set = |name: &str, v: &Option<String>| {
        if let Some(v) = v {
            // A custom property: an invalid value is ignored and cannot escape its property.
            let _ = style.set_property(name, v);
        }
    };
    set("--st-color", &t.color);
    set("--st-background", &t.background);
    set("--st-accent", &t.accent);
    set("--st-accent-text", &t.accent_text);
    set("--st-font", &t.font);
    if let Some(r) = t.radius {
        let _ = style.set_property("--st-radius", &format!("{r}px"));
    }
}

fn focusables(root: &ShadowRoot) -> Vec<HtmlElement> {
    // Not the honeypot (`.hp`): nobody is to reach it.
    let Ok(list) = root.query_selector_all("button,a[href],input:not(.hp),select,textarea") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<HtmlElement>().ok())
        .filter(|e| !e.has_attribute("disabled"))
        .collect()
}

impl Popup {
    /// Renders `content` (its texts already filled in by `fill`) with `items`, and reports what
    /// the shopper does to `on`. `None` when the page has no body or the browser lacks shadow
    /// roots.
    pub fn open(
        doc: &Document,
        content: &Content,
        fill: &dyn Fn(&str) -> String,
        items: &[Item],
        on: Rc<dyn Fn(Outcome)>,
    ) -> Option<Popup> {
        let body = doc.body()?;
        let host = el(doc, "div", "");
        attrs(&host, &[("data-shoptrail-popup", "")]);
        let init = ShadowRootInit::new(ShadowRootMode::Closed);
        let root = host.attach_shadow(&init).ok()?;
        style(doc, &root);
        if let Some(t) = &content.theme {
            theme(host.unchecked_ref(), t);
        }
        let overlay = el(doc, "div", "overlay");
        let _ = root.append_child(&overlay);
        let dialog = el(doc, "div", "dialog");
        attrs(
            &dialog,
            &[
                ("role", "dialog"),
                ("aria-modal", "true"),
                ("aria-labelledby", "st-h"),
                ("tabindex", "-1"),
                ("dir", "auto"),
            ],
        );
        let _ = root.append_child(&dialog);
        let close_label = content.close.as_deref().map(fill);
        let close = text_el(doc, &dialog, "button", "close", "×");
        attrs(
            &close,
            &[
                ("type", "button"),
                ("aria-label", close_label.as_deref().unwrap_or("Close")),
            ],
        );
        if let Some(img) = content.image.as_ref().filter(|i| safe_url(&i.src)) {
            let e = el(doc, "img", "hero");
            attrs(&e, &[("src", &img.src), ("alt", &fill(&img.alt))]);
            let _ = dialog.append_child(&e);
        }
        let h = text_el(doc, &dialog, "h2", "", &fill(&content.headline));
        attrs(&h, &[("id", "st-h"), ("dir", "auto")]);
        if let Some(b) = &content.body {
            let p = text_el(doc, &dialog, "p", "", &fill(b));
            attrs(&p, &[("id", "st-b"), ("dir", "auto")]);
            attrs(&dialog, &[("aria-describedby", "st-b")]);
        }
        if content.items.is_some() && !items.is_empty() {
            let ul = el(doc, "ul", "");
            for it in items.iter().take(4) {
                let li = el(doc, "li", "");
                if let Some(src) = it.image.as_deref().filter(|s| safe_url(s)) {
                    let img = el(doc, "img", "");
                    attrs(&img, &[("src", src), ("alt", "")]);
                    let _ = li.append_child(&img);
                }
                text_el(doc, &li, "span", "name", &it.name);
                text_el(doc, &li, "span", "price", &it.price);
                let _ = ul.append_child(&li);
            }
            let _ = dialog.append_child(&ul);
        }
        let mut listeners = Vec::new();
        if let Some(code) = &content.coupon {
            let row = el(doc, "div", "coupon");
            text_el(doc, &row, "code", "", code);
            let copy = text_el(doc, &row, "button", "btn", "Copy");
            attrs(&copy, &[("type", "button")]);
            let _ = dialog.append_child(&row);
            let (on, code, btn) = (on.clone(), code.clone(), copy.clone());
            listeners.push(Listener::new(&copy, "click", false, move |_| {
                if let Some(w) = web_sys::window() {
                    let _ = w.navigator().clipboard().write_text(&code);
                }
                btn.set_text_content(Some("Copied"));
                on(Outcome::Converted("copy", false));
            }));
        }
        if let Some(f) = &content.form {
            form_fields(doc, &dialog, f, fill, &on, &mut listeners)?;
        }
        if let Some(n) = &content.nps {
            nps_fields(doc, &dialog, n, fill, &on, &mut listeners)?;
        }
        if let Some(cta) = &content.cta {
            let a = match cta.url.as_deref().filter(|u| safe_url(u)) {
                Some(url) => {
                    let a = text_el(doc, &dialog, "a", "cta", &fill(&cta.label));
                    attrs(&a, &[("href", url)]);
                    a
                }
                None => {
                    let b = text_el(doc, &dialog, "button", "btn cta", &fill(&cta.label));
                    attrs(&b, &[("type", "button")]);
                    b
                }
            };
            let navigates = cta.url.is_some();
            let on = on.clone();
            listeners.push(Listener::new(&a, "click", false, move |_| {
                on(Outcome::Converted("cta", navigates));
            }));
        }
        {
            let on1 = on.clone();
            listeners.push(Listener::new(&close, "click", false, move |_| {
                on1(Outcome::Dismissed("close"))
            }));
            let on2 = on.clone();
            listeners.push(Listener::new(&overlay, "click", false, move |_| {
                on2(Outcome::Dismissed("overlay"))
            }));
            let root2 = root.clone();
            listeners.push(Listener::new(&root, "keydown", false, move |e: Event| {
                let Some(k) = e.dyn_ref::<KeyboardEvent>() else {
                    return;
                };
                match k.key().as_str() {
                    "Escape" => {
                        e.prevent_default();
                        on(Outcome::Dismissed("escape"));
                    }
                    "Tab" => trap(&root2, k),
                    _ => {}
                }
            }));
        }
        let previous = doc
            .active_element()
            .and_then(|e| e.dyn_into::<HtmlElement>().ok());
        let _ = body.append_child(&host);
        // Focus the first field, else the call to action, else the dialog itself.
        let list = focusables(&root);
        let first = list
            .iter()
            .find(|e| matches!(e.tag_name().as_str(), "INPUT" | "SELECT"))
            .or_else(|| list.iter().find(|e| e.class_name().contains("cta")));
        match first {
            Some(e) => {
                let _ = e.focus();
            }
            None => {
                let _ = dialog.unchecked_ref::<HtmlElement>().focus();
            }
        }
        Some(Popup {
            host,
            previous,
            _listeners: listeners,
        })
    }

    /// Removes the popup and its listeners, and gives focus back where it was.
    pub fn close(self) {
        self.host.remove();
        if let Some(p) = &self.previous {
            if p.is_connected() {
                let _ = p.focus();
            }
        }
    }
}

/// The stylesheet: constructable where supported (no `<style>` element, so a strict CSP that
/// allows no inline styles does not block it), a `<style>` element otherwise.
fn style(doc: &Document, root: &ShadowRoot) {
    if let Ok(sheet) = CssStyleSheet::new() {
        if sheet.replace_sync(CSS).is_ok() {
            root.set_adopted_style_sheets(&Array::of1(&sheet));
            return;
        }
    }
    {
        let s = el(doc, "style", "");
        s.set_text_content(Some(CSS));
        let _ = root.append_child(&s);
    }
}

/// Keeps Tab and Shift+Tab inside the dialog.
fn trap(root: &ShadowRoot, k: &KeyboardEvent) {
    let list = focusables(root);
    let (Some(first), Some(last)) = (list.first(), list.last()) else {
        return;
    };
    let active = root.active_element();
    // The NPS scores are one radio group, so one tab stop: any of them stands for the others.
    let radio = |e: &Element| e.get_attribute("type").as_deref() == Some("radio");
    let at = |e: &HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == e.unchecked_ref::<Element>() || (radio(a) && radio(e)))
    };
    let inside = list.iter().any(at);
    if k.shift_key() && (at(first) || !inside) {
        k.prevent_default();
        let _ = last.focus();
    } else if !k.shift_key() && (at(last) || !inside) {
        k.prevent_default();
        let _ = first.focus();
    }
}

/// Adds a labelled input with its error line; returns the input.
fn field(
    doc: &Document,
    form: &Element,
    label: &str,
    kind: &str,
    name: &str,
    need: Need,
    autocomplete: &str,
) -> Option<HtmlInputElement> {
    let l = el(doc, "label", "");
    l.set_text_content(Some(label));
    let input = el(doc, "input", "");
    let err_id = format!("st-err-{name}");
    attrs(
        &input,
        &[
            ("type", kind),
            ("name", name),
            ("autocomplete", autocomplete),
            ("aria-describedby", &err_id),
            ("dir", "auto"),
        ],
    );
    if need == Need::Required {
        attrs(&input, &[("aria-required", "true")]);
    }
    let _ = l.append_child(&input);
    let err = text_el(doc, &l, "p", "err", "");
    attrs(&err, &[("id", &err_id), ("aria-live", "polite")]);
    let _ = form.append_child(&l);
    Some(input.unchecked_into())
}

/// Replaces a submitted form with the thank-you line, announced to screen readers and
/// focused.
fn done(doc: &Document, form: &Element, text: &str) {
    {
        let done = el(doc, "p", "done");
        done.set_text_content(Some(text));
        attrs(&done, &[("role", "status"), ("tabindex", "-1")]);
        let _ = form.replace_with_with_node_1(&done);
        let _ = done.unchecked_ref::<HtmlElement>().focus();
    }
}

/// The opt-in form: checked in the browser, with each message next to its field.
fn form_fields(
    doc: &Document,
    dialog: &Element,
    f: &Form,
    fill: &dyn Fn(&str) -> String,
    on: &Rc<dyn Fn(Outcome)>,
    listeners: &mut Vec<Listener>,
) -> Option<()> {
    let form = el(doc, "form", "");
    attrs(&form, &[("novalidate", "")]);
    let email = (f.email != Need::Off)
        .then(|| field(doc, &form, "Email", "email", "email", f.email, "email"))
        .flatten();
    let phone = (f.phone != Need::Off)
        .then(|| field(doc, &form, "Phone", "tel", "phone", f.phone, "tel"))
        .flatten();
    let sms = if f.sms {
        let l = el(doc, "label", "check");
        let c = el(doc, "input", "");
        attrs(&c, &[("type", "checkbox"), ("name", "sms")]);
        let _ = l.append_child(&c);
        let text = f.sms_text.as_deref().map(fill);
        text_el(
            doc,
            &l,
            "span",
            "",
            text.as_deref()
                .unwrap_or("Send me text messages about offers. Reply STOP to opt out."),
        );
        let _ = form.append_child(&l);
        Some(c.unchecked_into::<HtmlInputElement>())
    } else {
        None
    };
    let frequency = if f.frequency {
        let l = el(doc, "label", "");
        l.set_text_content(Some("How often?"));
        let s = el(doc, "select", "");
        attrs(&s, &[("name", "frequency")]);
        for (v, t) in [("weekly", "Weekly"), ("monthly", "Monthly")] {
            let o = text_el(doc, &s, "option", "", t);
            attrs(&o, &[("value", v)]);
        }
        let _ = l.append_child(&s);
        let _ = form.append_child(&l);
        Some(s.unchecked_into::<web_sys::HtmlSelectElement>())
    } else {
        None
    };
    let city = (f.city != Need::Off)
        .then(|| field(doc, &form, "City", "text", "city", f.city, "address-level2"))
        .flatten();
    // A field nobody sees or reaches (off-screen, out of the tab order and the accessibility
    // tree) that form-filling bots fill; and the time the form appeared.
    let trap = el(doc, "input", "hp").unchecked_into::<HtmlInputElement>();
    attrs(
        &trap,
        &[
            ("name", "url"),
            ("tabindex", "-1"),
            ("autocomplete", "off"),
            ("aria-hidden", "true"),
        ],
    );
    let _ = form.append_child(&trap);
    let soonest = js_sys::Date::now() + f64::from(f.min_seconds) * 1000.0;
    let submit_label = f.submit.as_deref().map(fill);
    let submit = text_el(
        doc,
        &form,
        "button",
        "btn",
        submit_label.as_deref().unwrap_or("Subscribe"),
    );
    attrs(&submit, &[("type", "submit")]);
    let _ = dialog.append_child(&form);
    let success = f
        .success
        .as_deref()
        .map(fill)
        .unwrap_or_else(|| "Thank you!".into());
    let (need_email, need_phone, need_city) = (f.email, f.phone, f.city);
    let on = on.clone();
    let form2 = form.clone();
    let doc2 = doc.clone();
    listeners.push(Listener::new(&form, "submit", false, move |e: Event| {
        e.prevent_default();
        let traits = Object::new();
        let mut first_bad: Option<HtmlInputElement> = None;
        let mut check = |input: &Option<HtmlInputElement>,
                         need: Need,
                         key: &str,
                         rule: fn(&str) -> Result<String, &'static str>| {
            let Some(i) = input else { return };
            let value = i.value();
            let msg = if value.trim().is_empty() {
                (need == Need::Required).then_some("This field is required")
            } else {
                match rule(&value) {
                    Ok(v) => {
                        super::tracker::set(&traits, key, v);
                        None
                    }
                    Err(m) => Some(m),
                }
            };
            if let Some(err) = i.next_element_sibling() {
                err.set_text_content(Some(msg.unwrap_or("")));
            }
            attrs(
                i,
                &[("aria-invalid", if msg.is_some() { "true" } else { "false" })],
            );
            if msg.is_some() && first_bad.is_none() {
                first_bad = Some(i.clone());
            }
        };
        check(&email, need_email, "email", form::email);
        check(&phone, need_phone, "phone", form::phone);
        check(&city, need_city, "city", form::city);
        if let Some(bad) = first_bad {
            let _ = bad.focus();
            return;
        }
        if let Some(c) = &sms {
            super::tracker::set(&traits, "sms_consent", c.checked());
        }
        if let Some(s) = &frequency {
            super::tracker::set(&traits, "email_frequency", s.value());
        }
        super::tracker::set(&traits, "subscribed", true);
        done(&doc2, &form2, &success);
        let spam = if !trap.value().is_empty() {
            Some("honeypot")
        } else if js_sys::Date::now() < soonest {
            Some("too_fast")
        } else {
            None
        };
        on(Outcome::Form(traits, spam));
    }));
    Some(())
}

/// The scores, as their radio buttons' values and texts.
const SCORES: [&str; 11] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];

/// The NPS question: eleven radio buttons 0 to 10 (one group, named by the headline; arrow
/// keys move and choose), the texts at both ends, an optional comment box, and a submit button
/// enabled once a score is chosen.
fn nps_fields(
    doc: &Document,
    dialog: &Element,
    n: &Nps,
    fill: &dyn Fn(&str) -> String,
    on: &Rc<dyn Fn(Outcome)>,
    listeners: &mut Vec<Listener>,
) -> Option<()> {
    let form = el(doc, "form", "");
    attrs(&form, &[("novalidate", "")]);
    let group = el(doc, "div", "scores");
    attrs(
        &group,
        &[("role", "radiogroup"), ("aria-labelledby", "st-h")],
    );
    let mut radios = Vec::with_capacity(SCORES.len());
    for (i, score) in SCORES.iter().enumerate() {
        let l = el(doc, "label", "");
        let r = el(doc, "input", "");
        attrs(
            &r,
            &[("type", "radio"), ("name", "score"), ("value", score)],
        );
        // The texts at the ends describe the first and the last choice.
        match i {
            0 => attrs(&r, &[("aria-describedby", "st-lo")]),
            10 => attrs(&r, &[("aria-describedby", "st-hi")]),
            _ => {}
        }
        let _ = l.append_child(&r);
        text_el(doc, &l, "span", "", score);
        let _ = group.append_child(&l);
        radios.push(r.unchecked_into::<HtmlInputElement>());
    }
    let _ = form.append_child(&group);
    // Read out with the first and last choice, so hidden from the reading order here.
    let ends = el(doc, "div", "ends");
    attrs(&ends, &[("aria-hidden", "true")]);
    for (id, text, default) in [
        ("st-lo", &n.low, "Not likely"),
        ("st-hi", &n.high, "Very likely"),
    ] {
        let t = text.as_deref().map(fill);
        let s = text_el(doc, &ends, "span", "", t.as_deref().unwrap_or(default));
        attrs(&s, &[("id", id), ("dir", "auto")]);
    }
    let _ = form.append_child(&ends);
    let comment = if n.comment {
        let l = el(doc, "label", "");
        let t = n.comment_label.as_deref().map(fill);
        l.set_text_content(Some(
            t.as_deref()
                .unwrap_or("What is the main reason for your score?"),
        ));
        let area = el(doc, "textarea", "");
        attrs(
            &area,
            &[
                ("name", "comment"),
                ("rows", "3"),
                ("maxlength", &NPS_COMMENT_MAX.to_string()),
                ("dir", "auto"),
            ],
        );
        let _ = l.append_child(&area);
        let _ = form.append_child(&l);
        Some(area.unchecked_into::<HtmlTextAreaElement>())
    } else {
        None
    };
    let label = n.submit.as_deref().map(fill);
    let submit = text_el(
        doc,
        &form,
        "button",
        "btn",
        label.as_deref().unwrap_or("Send"),
    );
    // Disabled until a score is chosen (Enter in the group then submits nothing either).
    attrs(&submit, &[("type", "submit"), ("disabled", "")]);
    let _ = dialog.append_child(&form);
    listeners.push(Listener::new(&group, "change", false, move |_| {
        let _ = submit.remove_attribute("disabled");
    }));
    let success = n
        .success
        .as_deref()
        .map(fill)
        .unwrap_or_else(|| "Thank you!".into());
    let (on, form2, doc2) = (on.clone(), form.clone(), doc.clone());
    listeners.push(Listener::new(&form, "submit", false, move |e: Event| {
        e.prevent_default();
        let Some(score) = radios.iter().position(HtmlInputElement::checked) else {
            return;
        };
        // Trimmed and cut to the limit (`maxlength` holds typing, not a pasted script's value);
        // an empty comment is none.
        let comment = comment.as_ref().and_then(|c| {
            let v = c.value();
            let v: String = v.trim().chars().take(NPS_COMMENT_MAX).collect();
            (!v.is_empty()).then_some(v)
        });
        done(&doc2, &form2, &success);
        on(Outcome::Nps(score as u8, comment));
    }));
    Some(())
}
