//! Request rates per client: a token bucket for each client that calls the API (every POST,
//! and GETs under `/v1/`; the static files and the live page's own files are not counted),
//! refilled at `rate` requests a second up to a burst of `rate * BURST_SECONDS`; a request
//! over it gets 429 with `Retry-After` (the seconds until a token is back). The SDK sends a
//! request a second at most in normal use, so a limit only meets floods.
//!
//! A client is its IPv4 address, or its IPv6 /64 (one subscriber's whole network: an address
//! a second within it is no way around the limit). At most `MAX_CLIENTS` buckets are kept:
//! full ones (quiet clients) go first, then the longest unused. Each instance counts its own
//! requests.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::proxy::Client;
use crate::state::AppState;

/// Seconds of requests a client may send at once after a quiet time.
pub const BURST_SECONDS: f64 = 4.0;
/// Buckets kept before full ones (quiet clients) are forgotten.
const MAX_CLIENTS: usize = 100_000;

/// The buckets of every client address.
#[derive(Debug)]
pub struct Limiter {
    rate: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Limiter {
    /// `rate` requests a second per address.
    pub fn new(rate: u32) -> Limiter {
        Limiter {
            rate: f64::from(rate),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for the client at `ip` at `now`; `Err(seconds)` to wait when there is
    /// none.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let burst = self.rate * BURST_SECONDS;
        let key = client(ip);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&key) {
            let rate = self.rate;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
            if buckets.len() >= MAX_CLIENTS {
                // Every client is busy: forget the half unused longest.
                let mut times: Vec<Instant> = buckets.values().map(|(_, at)| *at).collect();
                let (_, middle, _) = times.select_nth_unstable(MAX_CLIENTS / 2);
                let cut = *middle;
                buckets.retain(|_, (_, at)| *at > cut);
            }
        }
        let (tokens, at) = buckets.entry(key).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

/// The bucket an address counts against: an IPv4 address, or an IPv6 /64 (an IPv4 address
/// mapped into IPv6 counts as itself).
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
        v4 => v4,
    }
}

/// The middleware: API calls over the client's rate get 429 and `Retry-After`.
pub(crate) async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let counted = req.method() == Method::POST
        || (req.method() == Method::GET && req.uri().path().starts_with("/v1/"));
    let (Some(limiter), true) = (state.limiter(), counted) else {
        return next.run(req).await;
    };
    let ip = req.extensions().get::<Client>().map(|c| c.0);
    if let Some(ip) = ip {
        if let Err(wait) = limiter.take(ip, Instant::now()) {
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many requests from {ip}: retry in {wait} s"),
                None,
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return r;
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_rate_per_address() {
        let l = Limiter::new(2);
        let t = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..8 {
            assert_eq!(l.take(a, t), Ok(()));
        }
        assert_eq!(l.take(a, t), Err(1));
        // Another address has its own bucket.
        assert_eq!(l.take(b, t), Ok(()));
        // Half a second later one token is back.
        assert_eq!(l.take(a, t + Duration::from_millis(500)), Ok(()));
        assert_eq!(l.take(a, t + Duration::from_millis(500)), Err(1));
    }

    #[test]
    fn ipv6_clients_are_their_64() {
        let l = Limiter::new(1);
        let t = Instant::now();
        // Four addresses of one /64 share its burst of four.
        for i in 1..=4 {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            assert_eq!(l.take(ip, t), Ok(()));
        }
        let fifth: IpAddr = "2001:db8:1:2:ffff::5".parse().unwrap();
        assert_eq!(l.take(fifth, t), Err(1));
        let neighbour: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(l.take(neighbour, t), Ok(()));
        let mapped: IpAddr = "::ffff:10.0.0.9".parse().unwrap();
        assert_eq!(client(mapped), "10.0.0.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_buckets_stay_bounded_when_every_client_is_busy() {
        let l = Limiter::new(1);
        let t = Instant::now();
        for i in 0..(MAX_CLIENTS as u32 + 10) {
            let ip = IpAddr::V4(i.into());
            let _ = l.take(ip, t + Duration::from_micros(u64::from(i)));
        }
        let kept = l.buckets.lock().unwrap().len();
        assert!(kept <= MAX_CLIENTS, "{kept}");
    }
}
