//! Thin DOM helpers: elements with text (never HTML), owned event listeners that remove
//! themselves when dropped, and the page's facts.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, Event, EventTarget};

/// The window's document.
pub fn document() -> Option<Document> {
    web_sys::window()?.document()
}

/// Unix ms.
pub fn now() -> u64 {
    js_sys::Date::now() as u64
}

#[wasm_bindgen]
extern "C" {
    /// A document, for `createElement` without web-sys's error handling: the tag names this
    /// module writes are valid, and only an invalid name makes it throw.
    type Doc;
    #[wasm_bindgen(method, js_name = createElement)]
    fn create(this: &Doc, tag: &str) -> Element;
}

/// A new element of `tag` (one of this module's own tag names) with `class` (empty: none).
pub fn el(doc: &Document, tag: &str, class: &str) -> Element {
    let e = doc.unchecked_ref::<Doc>().create(tag);
    if !class.is_empty() {
        e.set_class_name(class);
    }
    e
}

/// Appends a new element with `text` as its text content: text, never markup.
pub fn text_el(doc: &Document, parent: &Element, tag: &str, class: &str, text: &str) -> Element {
    let e = el(doc, tag, class);
    e.set_text_content(Some(text));
    let _ = parent.append_child(&e);
    e
}

/// Sets attributes, ignoring failures (an invalid name).
pub fn attrs(e: &Element, list: &[(&str, &str)]) {
    for (k, v) in list {
        let _ = e.set_attribute(k, v);
    }
}

/// An event listener that is removed when dropped.
#[must_use]
pub struct Listener {
    target: EventTarget,
    name: &'static str,
    capture: bool,
    f: Closure<dyn FnMut(Event)>,
}

impl core::fmt::Debug for Listener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name)
    }
}

impl Listener {
    /// Listens to `name` on `target` (in the capture phase when `capture`). Not marked
    /// passive: that only matters to touch and wheel events, which the module does not hear,
    /// and the listeners for keydown, submit and click call `preventDefault`.
    pub fn new(
        target: &EventTarget,
        name: &'static str,
        capture: bool,
        f: impl FnMut(Event) + 'static,
    ) -> Listener {
        let f = Closure::<dyn FnMut(Event)>::new(f);
        let _ = target.add_event_listener_with_callback_and_bool(
            name,
            f.as_ref().unchecked_ref(),
            capture,
        );
        Listener {
            target: target.clone(),
            name,
            capture,
            f,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback_and_bool(
            self.name,
            self.f.as_ref().unchecked_ref(),
            self.capture,
        );
    }
}

/// Whether `target` is a form field (input, select, textarea, contenteditable).
pub fn is_field(target: &JsValue) -> bool {
    let Some(e) = target.dyn_ref::<Element>() else {
        return false;
    };
    let tag = e.tag_name().to_ascii_lowercase();
    matches!(tag.as_str(), "input" | "select" | "textarea")
        || e.get_attribute("contenteditable")
            .is_some_and(|v| v != "false")
}
