//! Who the client is when a proxy stands in front (`--trust-proxy`).
//!
//! A request from a trusted proxy's address is taken from the client its `X-Forwarded-For`
//! names (the nearest address that is not itself a trusted proxy), and its
//! `X-Forwarded-Host` and `X-Forwarded-Proto` are believed. From anyone else, those headers
//! (and `Forwarded`) are removed before any handler sees them: a client cannot pick the
//! address it is rate-limited by, or the host and scheme the id cookie is written for.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The address a request is counted against (rate limits): the peer, or the client a
/// trusted proxy names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Client(pub(crate) IpAddr);

/// An address or a network (`10.0.0.0/8`, `fd00::/8`) whose requests come from a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trusted {
    net: IpAddr,
    bits: u8,
}

impl Trusted {
    /// Parses `ADDR` or `ADDR/BITS`.
    pub fn parse(text: &str) -> Result<Trusted, String> {
        let bad = || format!("'{text}' is not an address or a network such as 10.0.0.0/8");
        let (addr, bits) = match text.split_once('/') {
            Some((a, b)) => (a, Some(b.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let net: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        if bits > max {
            return Err(bad());
        }
        Ok(Trusted { net, bits })
    }

    /// Whether `ip` is in this network.
    fn holds(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

const FORWARDED: [&str; 4] = [
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "forwarded",
];

/// The middleware, outermost: records the [`Client`] and removes forwarding headers nobody
/// trusted sent.
pub(crate) async fn client(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let trusted = |ip: IpAddr| state.trusted_proxies.iter().any(|t| t.holds(ip));
    let client = match peer {
        Some(p) if trusted(p) => {
            // The nearest hop that is not a proxy of ours; the peer if the header says none.
            let chain: Vec<IpAddr> = req
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse().ok())
                .collect();
            chain.into_iter().rev().find(|a| !trusted(*a)).unwrap_or(p)
        }
        Some(p) => {
            for name in FORWARDED {
                req.headers_mut().remove(name);
            }
            p
        }
        None => IpAddr::from([0, 0, 0, 0]),
    };
    req.extensions_mut().insert(Client(client));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::Trusted;

    #[test]
    fn addresses_and_networks() {
        let net = Trusted::parse("10.1.0.0/16").unwrap();
        assert!(net.holds("10.1.200.3".parse().unwrap()));
        assert!(!net.holds("10.2.0.1".parse().unwrap()));
        assert!(net.holds("::ffff:10.1.0.9".parse().unwrap()));
        let one = Trusted::parse("127.0.0.1").unwrap();
        assert!(one.holds("127.0.0.1".parse().unwrap()));
        assert!(!one.holds("127.0.0.2".parse().unwrap()));
        let v6 = Trusted::parse("[fd00::]/8").unwrap();
        assert!(v6.holds("fd12::1".parse().unwrap()));
        assert!(!v6.holds("fe80::1".parse().unwrap()));
        assert!(Trusted::parse("0.0.0.0/0")
            .unwrap()
            .holds("8.8.8.8".parse().unwrap()));
        for bad in ["", "proxy.internal", "10.0.0.0/33", "::/129", "10.0.0.1/x"] {
            assert!(Trusted::parse(bad).is_err(), "{bad}");
        }
    }
}
