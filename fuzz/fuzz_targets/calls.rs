//! The public API as the host hands it over: any method of api.json and any argument text, on a live
//! engine with storage in memory. No input panics (in the wasm a panic would end the SDK for
//! the page), and the engine keeps answering.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoptrail::tracker_core::boundary::Method;
use shoptrail::tracker_core::config;
use shoptrail::tracker_core::engine::{Engine, Fact, Host};
use shoptrail::tracker_core::store::{Backend, Memory};

#[derive(Debug, Default)]
struct Page(Memory);

impl Backend for Page {
    fn get(&self, k: &str) -> Option<String> {
        self.0.get(k)
    }
    fn set(&mut self, k: &str, v: &str) -> bool {
        self.0.set(k, v)
    }
    fn remove(&mut self, k: &str) {
        self.0.remove(k)
    }
    fn keys(&self, p: &str) -> Vec<String> {
        self.0.keys(p)
    }
    fn cookie(&self, n: &str) -> Option<String> {
        self.0.cookie(n)
    }
    fn set_cookie(&mut self, l: &str) {
        self.0.set_cookie(l)
    }
}

impl Host for Page {
    fn fact(&self, f: Fact) -> String {
        match f {
            Fact::Href => "https://shop.example/p?utm_source=x&st_lt=abc".into(),
            Fact::Hostname => "shop.example".into(),
            Fact::Protocol => "https:".into(),
            _ => String::new(),
        }
    }
    fn random(&self) -> [u8; 16] {
        [7; 16]
    }
}

fuzz_target!(|input: (u8, &str, &str)| {
    let (m, args, second) = input;
    let cfg =
        config::parse_json(r#"{"endpoint":"https://c.example/v1/batch","hashPii":true}"#).unwrap();
    let mut e = Engine::new(cfg, Page::default(), 1);
    e.handle_start(1);
    // Every method api.json lists, then the internal calls that carry page text.
    match m as usize % (Method::ALL.len() + 3) {
        i if i < Method::ALL.len() => {
            e.call(Method::ALL[i].0, args, 2);
        }
        i if i == Method::ALL.len() => e.handle_scan(args, 2),
        i if i == Method::ALL.len() + 1 => e.handle_markup(args, 2),
        _ => {
            e.decorate_link(args, 2);
        }
    }
    e.call(Method::CartAdd, second, 3);
    while e.poll_action().is_some() {}
    // A random call may have withdrawn consent: the shopper grants it again.
    e.call(Method::ConsentGrant, "[]", 4);
    e.call(Method::Track, r#"["Still Working",{}]"#, 4);
    assert!(e.queued() > 0);
});
