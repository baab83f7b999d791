//! Request rates per client address: a token bucket for each address that writes (POSTs),
//! refilled at `rate` requests a second up to a burst of `rate * BURST_SECONDS`; a request
//! over it gets 429 with `Retry-After` (the seconds until a token is back). Reads are not
//! limited. The SDK sends a request a second at most in normal use, so a limit only meets
//! floods.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
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

    /// Takes a token for `ip` at `now`; `Err(seconds)` to wait when there is none.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let burst = self.rate * BURST_SECONDS;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_CLIENTS {
            let rate = self.rate;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(ip).or_insert((burst, now));
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

/// The middleware: POSTs over the client's rate get 429 and `Retry-After`.
pub(crate) async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (Some(limiter), true) = (state.limiter(), req.method() == Method::POST) else {
        return next.run(req).await;
    };
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
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
}
