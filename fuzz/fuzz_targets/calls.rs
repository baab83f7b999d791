//! The public API as the host hands it over: a method name and any argument text, on a live
//! engine with storage in memory. No input panics (in the wasm a panic would end the SDK for
//! the page), and the engine keeps answering.
#![no_main]

use libfuzzer_sys::fuzz_target;
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

const METHODS: [&str; 24] = [
    "track",
    "page",
    "identify",
    "alias",
    "reset",
    "flush",
    "cart.add",
    "cart.remove",
    "cart.update",
    "cart.clear",
    "cart.view",
    "cart.get",
    "checkout.start",
    "checkout.step",
    "order.complete",
    "coupon.apply",
    "product.view",
    "productList.viewed",
    "consent.grant",
    "consent.revoke",
    "profile",
    "~markup",
    "~link",
    "~scan",
];

fuzz_target!(|input: (u8, &str, &str)| {
    let (m, args, second) = input;
    let cfg =
        config::parse_json(r#"{"endpoint":"https://c.example/v1/batch","hashPii":true}"#).unwrap();
    let mut e = Engine::new(cfg, Page::default(), 1);
    e.handle_start(1);
    let method = METHODS[m as usize % METHODS.len()];
    if method == "~scan" {
        e.handle_scan(args, 2);
    } else {
        e.call(method, args, 2);
    }
    e.call("cart.add", second, 3);
    while e.poll_action().is_some() {}
    // A random call may have withdrawn consent: the shopper grants it again.
    e.call("consent.grant", "[]", 4);
    e.call("track", r#"["Still Working",{}]"#, 4);
    assert!(e.queued() > 0);
});
