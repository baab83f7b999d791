//! Forwarding to a flaky destination (a real TCP server that drops connections, answers 500,
//! goes away for ten seconds): every event arrives, in order, none twice; a destination that
//! fails for a day gets its head batch dead-lettered and the rest delivered. A marketing-only
//! destination gets the events of people who consent to marketing, and nothing of theirs after
//! a withdrawal.

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use shoptrail_collector::{Clock, Destination, ForwardFormat, ForwardKind};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use common::{request, TestServer};

const T0: i64 = 1_796_126_400_000;
const ADMIN: &str = "test-admin-token-0123456789";

/// What the destination does with one request.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// Closes the connection without answering (nothing kept).
    Drop,
    /// Answers this status (nothing kept).
    Status(u16),
}

#[derive(Clone, Default)]
struct Dest {
    /// The bodies it accepted, in arrival order.
    bodies: Arc<Mutex<Vec<Value>>>,
    /// Scripted answers for the next requests; then 200.
    plan: Arc<Mutex<VecDeque<Act>>>,
    /// Answers 503 while the clock is before this.
    down_until: Arc<Mutex<i64>>,
    /// Every answer given, 0 for a dropped connection.
    answers: Arc<Mutex<Vec<u16>>>,
}

impl Dest {
    /// Every event it accepted, from either body shape.
    fn events(&self) -> Vec<Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .flat_map(|b| match b {
                Value::Array(a) => a.clone(),
                other => other["batch"].as_array().cloned().unwrap_or_default(),
            })
            .collect()
    }
}

async fn serve(dest: Dest, clock: Clock) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (dest, clock) = (dest.clone(), clock.clone());
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    let mut first = true;
                    loop {
                        line.clear();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" && !first {
                            break;
                        }
                        first = false;
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; length];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let act = dest.plan.lock().unwrap().pop_front();
                    let down = clock.now_ms() < *dest.down_until.lock().unwrap();
                    let status = match (act, down) {
                        (Some(Act::Drop), _) => {
                            dest.answers.lock().unwrap().push(0);
                            return;
                        }
                        (Some(Act::Status(s)), _) => s,
                        (None, true) => 503,
                        (None, false) => {
                            dest.bodies
                                .lock()
                                .unwrap()
                                .push(serde_json::from_slice(&body).unwrap());
                            200
                        }
                    };
                    dest.answers.lock().unwrap().push(status);
                    let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
                    if stream.get_mut().write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

async fn setup(format: ForwardFormat) -> (TestServer, Dest, Clock) {
    let clock = Clock::manual(T0);
    let dest = Dest::default();
    let addr = serve(dest.clone(), clock.clone()).await;
    let c = clock.clone();
    let t = TestServer::start_with(move |o| {
        o.forward = vec![Destination::parse(&format!("http://{addr}/v1/batch"), format).unwrap()];
        o.clock = c;
        o.scheduler_interval = Duration::ZERO;
        o.admin_token = Some(ADMIN.into());
    })
    .await;
    (t, dest, clock)
}

async fn post(t: &TestServer, from: usize, n: usize) -> Vec<String> {
    let ids: Vec<String> = (from..from + n).map(|i| format!("m-{i:04}")).collect();
    let batch: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "type": "track", "messageId": id, "anonymousId": "a", "event": "E" }))
        .collect();
    let r = t.post_json("/v1/batch", &json!({ "batch": batch })).await;
    assert_eq!(r.status, 200, "{}", r.text());
    ids
}

async fn status(t: &TestServer) -> Value {
    let auth = format!("Bearer {ADMIN}");
    let r = request(
        t.addr,
        "GET",
        "/v1/forwarding",
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[tokio::test]
async fn every_event_arrives_in_order_once_through_drops_errors_and_an_outage() {
    let (t, dest, clock) = setup(ForwardFormat::Segment).await;
    dest.plan
        .lock()
        .unwrap()
        .extend([Act::Drop, Act::Status(500), Act::Drop, Act::Status(429)]);
    let mut sent = Vec::new();
    for k in 0..5 {
        sent.extend(post(&t, k * 50, 50).await);
    }
    let deliver_all = |want: usize| {
        let (t, dest, clock) = (&t, dest.clone(), clock.clone());
        async move {
            for _ in 0..600 {
                if dest.events().len() >= want {
                    return;
                }
                clock.advance(Duration::from_secs(1));
                t.server.run_forwarding().await;
            }
        }
    };
    deliver_all(sent.len()).await;
    assert!(
        dest.plan.lock().unwrap().is_empty(),
        "every scripted failure was met"
    );
    // Ten seconds down; more events arrive meanwhile.
    *dest.down_until.lock().unwrap() = clock.now_ms() + 10_000;
    sent.extend(post(&t, 250, 30).await);
    deliver_all(sent.len()).await;
    let got: Vec<String> = dest
        .events()
        .iter()
        .map(|e| e["messageId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, sent, "every event, in order, once");
    let answers = dest.answers.lock().unwrap().clone();
    for kind in [0, 500, 429, 503] {
        assert!(answers.contains(&kind), "{kind} in {answers:?}");
    }
    assert!(dest
        .bodies
        .lock()
        .unwrap()
        .iter()
        .all(|b| b["sentAt"].is_string()));
    let s = status(&t).await;
    let d = &s["destinations"][0];
    assert_eq!(
        (
            d["delivered"].as_i64(),
            d["pending"].as_i64(),
            d["dead"].as_i64()
        ),
        (Some(280), Some(0), Some(0))
    );
    assert_eq!(d["failingSince"], Value::Null);
    assert_eq!(d["format"], "segment");
}

#[tokio::test]
async fn a_batch_failing_for_a_day_is_dead_lettered_and_the_rest_goes_on() {
    let (t, dest, clock) = setup(ForwardFormat::Json).await;
    *dest.down_until.lock().unwrap() = T0 + 25 * 3_600_000;
    let first = post(&t, 0, 3).await;
    // A day of failures, tried every few minutes at most.
    for _ in 0..(24 * 12 + 2) {
        clock.advance(Duration::from_secs(300));
        t.server.run_forwarding().await;
    }
    let s = status(&t).await;
    assert_eq!(s["destinations"][0]["dead"], 3, "{s}");
    assert_eq!(s["destinations"][0]["pending"], 0);
    let dead: Vec<&str> = s["dead"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["messageId"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = first.iter().map(String::as_str).collect();
    want.sort();
    let mut dead_sorted = dead.clone();
    dead_sorted.sort();
    assert_eq!(dead_sorted, want);
    assert_eq!(s["dead"][0]["error"], "HTTP 503");

    // Back up: what comes next is delivered, as a plain array.
    clock.set(T0 + 26 * 3_600_000);
    let next = post(&t, 10, 2).await;
    t.server.run_forwarding().await;
    let got: Vec<String> = dest
        .events()
        .iter()
        .map(|e| e["messageId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, next);
    assert!(dest.bodies.lock().unwrap()[0].is_array());
}

#[tokio::test]
async fn the_status_needs_the_admin_token_and_hides_credentials() {
    let clock = Clock::manual(T0);
    let t = TestServer::start_with(move |o| {
        o.forward = vec![Destination::parse(
            "https://wk_secret@127.0.0.1:9/v1/batch",
            ForwardFormat::Segment,
        )
        .unwrap()];
        o.clock = clock;
        o.scheduler_interval = Duration::ZERO;
        o.admin_token = Some(ADMIN.into());
    })
    .await;
    let anonymous = request(t.addr, "GET", "/v1/forwarding", &[], None).await;
    assert_eq!(anonymous.status, 401);
    let s = status(&t).await;
    assert_eq!(
        s["destinations"][0]["url"],
        "https://***@127.0.0.1:9/v1/batch"
    );
    assert!(!s.to_string().contains("wk_secret"));
}

/// A regular destination and a marketing-only one, each a real HTTP server.
async fn setup_marketing() -> (TestServer, Dest, Dest) {
    let clock = Clock::manual(T0);
    let (all, marketing) = (Dest::default(), Dest::default());
    let all_addr = serve(all.clone(), clock.clone()).await;
    let marketing_addr = serve(marketing.clone(), clock.clone()).await;
    let t = TestServer::start_with(move |o| {
        let url = |addr: SocketAddr| format!("http://{addr}/v1/batch");
        let mut ads = Destination::parse(&url(marketing_addr), ForwardFormat::Segment).unwrap();
        ads.kind = ForwardKind::Marketing;
        o.forward = vec![
            Destination::parse(&url(all_addr), ForwardFormat::Segment).unwrap(),
            ads,
        ];
        o.clock = clock;
        o.scheduler_interval = Duration::ZERO;
        o.admin_token = Some(ADMIN.into());
    })
    .await;
    (t, all, marketing)
}

/// A track event of `anon` and `user`; `marketing` is its consent choice (none: a server's
/// event, without `context.consent`).
fn shopper(
    id: &str,
    (anon, user): (Option<&str>, Option<&str>),
    event: &str,
    marketing: Option<bool>,
) -> Value {
    let mut e = json!({ "type": "track", "messageId": id, "event": event });
    if let Some(a) = anon {
        e["anonymousId"] = json!(a);
    }
    if let Some(u) = user {
        e["userId"] = json!(u);
    }
    if let Some(m) = marketing {
        e["context"] = json!({ "consent": { "categoryPreferences": {
            "analytics": true, "marketing": m } } });
    }
    e
}

async fn post_all(t: &TestServer, events: Vec<Value>) {
    let r = t.post_json("/v1/batch", &json!({ "batch": events })).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

fn ids(dest: &Dest) -> Vec<String> {
    dest.events()
        .iter()
        .map(|e| e["messageId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_marketing_destination_gets_only_the_events_of_people_who_consent() {
    let (t, all, marketing) = setup_marketing().await;
    let ann = (Some("ann-laptop"), None);
    post_all(
        &t,
        vec![
            shopper("a-1", ann, "Product Viewed", Some(true)),
            shopper("b-1", (Some("bob"), None), "Product Viewed", Some(false)),
            shopper("c-1", (Some("cy"), None), "Product Viewed", None),
            // Ann logs in: her laptop is her user id.
            shopper(
                "a-2",
                (Some("ann-laptop"), Some("u-ann")),
                "Signed In",
                Some(true),
            ),
        ],
    )
    .await;
    // Events from the shop's server, without a consent context: the person's latest choice
    // decides, found through the identity graph (her phone is linked by the identify).
    let identify_phone = json!({ "type": "identify", "messageId": "a-3",
                                 "anonymousId": "ann-phone", "userId": "u-ann" });
    post_all(
        &t,
        vec![
            identify_phone,
            shopper("a-4", (None, Some("u-ann")), "Order Completed", None),
            shopper("a-5", (Some("ann-phone"), None), "Product Viewed", None),
            shopper("b-2", (Some("bob"), None), "Order Completed", None),
            shopper("c-2", (Some("cy"), None), "Order Completed", None),
        ],
    )
    .await;
    t.server.run_forwarding().await;
    assert_eq!(
        ids(&all),
        ["a-1", "b-1", "c-1", "a-2", "a-3", "a-4", "a-5", "b-2", "c-2"]
    );
    assert_eq!(ids(&marketing), ["a-1", "a-2", "a-3", "a-4", "a-5"]);

    let s = status(&t).await;
    let kinds: Vec<&str> = s["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["all", "marketing"]);
    assert_eq!(s["destinations"][1]["delivered"], 5, "{s}");
}

#[tokio::test]
async fn after_a_withdrawal_the_person_goes_to_the_regular_destination_only() {
    let (t, all, marketing) = setup_marketing().await;
    let ann = (Some("ann-laptop"), Some("u-ann"));
    post_all(&t, vec![shopper("w-1", ann, "Product Viewed", Some(true))]).await;
    t.server.run_forwarding().await;
    assert_eq!(ids(&marketing), ["w-1"]);

    // Two more while she consents, not sent yet; then she withdraws.
    post_all(
        &t,
        vec![
            shopper("w-2", ann, "Product Added", Some(true)),
            shopper("w-3", ann, "Cart Viewed", Some(true)),
            shopper("d-1", (Some("dee"), None), "Product Viewed", Some(true)),
        ],
    )
    .await;
    assert_eq!(status(&t).await["destinations"][1]["pending"], 3);
    post_all(
        &t,
        vec![shopper(
            "w-4",
            ann,
            "Segment Consent Preference Updated",
            Some(false),
        )],
    )
    .await;
    // Her waiting events left the marketing outbox with the withdrawal; Dee's stay.
    assert_eq!(status(&t).await["destinations"][1]["pending"], 1);

    // Later events of hers, with and without a consent context, from her other devices too;
    // and a shopper whose withdrawal carries no preferences at all, in one batch.
    let phone = json!({ "type": "identify", "messageId": "w-5", "anonymousId": "ann-phone",
                        "userId": "u-ann", "context": { "consent": { "categoryPreferences": {
                        "marketing": false } } } });
    let eve = (Some("eve"), None);
    post_all(
        &t,
        vec![
            phone,
            shopper("w-6", (None, Some("u-ann")), "Order Completed", None),
            shopper("w-7", (Some("ann-phone"), None), "Product Viewed", None),
            shopper("e-1", eve, "Product Viewed", Some(true)),
            shopper("e-2", eve, "Segment Consent Preference Updated", None),
            shopper("e-3", eve, "Order Completed", None),
        ],
    )
    .await;
    t.server.run_forwarding().await;
    assert_eq!(
        ids(&all),
        ["w-1", "w-2", "w-3", "d-1", "w-4", "w-5", "w-6", "w-7", "e-1", "e-2", "e-3"]
    );
    // Eve's consenting event was still waiting when her withdrawal (in the same batch) came.
    assert_eq!(ids(&marketing), ["w-1", "d-1"]);
    let s = status(&t).await;
    assert_eq!(s["destinations"][1]["pending"], 0, "{s}");
    assert_eq!(s["destinations"][1]["dead"], 0, "{s}");
}
