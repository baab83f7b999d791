//! The store over TLS, against a PostgreSQL server with `ssl = on`, a self-signed certificate
//! for `localhost` and TCP over TLS only (`cargo xtask test` starts one, see
//! `Cluster::start_tls` in xtask): `SHOPTRAIL_TEST_POSTGRES_TLS` is its URL (on 127.0.0.1)
//! and `SHOPTRAIL_TEST_POSTGRES_TLS_CERT` its certificate. Without them the tests say they
//! are skipped and pass.

mod common;

use std::str::FromStr;
use std::sync::Arc;

use common::{test_options, TestServer};
use serde_json::json;
use shoptrail_collector::start;

/// The TLS server: its URL and certificate file.
struct Tls {
    url: String,
    cert: String,
}

/// The TLS server, or `None` after saying the test is skipped.
fn tls_server(test: &str) -> Option<Tls> {
    let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    match (
        var("SHOPTRAIL_TEST_POSTGRES_TLS"),
        var("SHOPTRAIL_TEST_POSTGRES_TLS_CERT"),
    ) {
        (Some(url), Some(cert)) => Some(Tls { url, cert }),
        _ => {
            println!(
                "{test}: skipped, SHOPTRAIL_TEST_POSTGRES_TLS and \
                 SHOPTRAIL_TEST_POSTGRES_TLS_CERT are not set (cargo xtask test sets them)"
            );
            None
        }
    }
}

impl Tls {
    /// The server's URL on `host` with the database `db` and the query `query`.
    fn url(&self, host: &str, db: &str, query: &str) -> String {
        let base = self.url.replace("127.0.0.1", host);
        let server = match base.rfind('/') {
            Some(i) if i > base.find("://").map_or(0, |s| s + 2) => &base[..i],
            _ => base.as_str(),
        };
        format!("{server}/{db}?{query}")
    }

    /// A connection for the test itself, over TLS and checking the certificate.
    async fn admin(&self) -> tokio_postgres::Client {
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(&self.cert).expect("the server's certificate");
        for cert in rustls_pemfile(&pem) {
            roots.add(cert).expect("a usable certificate");
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut pg = tokio_postgres::Config::from_str(&self.url.replace("127.0.0.1", "localhost"))
            .expect("the server's URL");
        pg.ssl_mode(tokio_postgres::config::SslMode::Require);
        let (client, conn) = pg
            .connect(tokio_postgres_rustls::MakeRustlsConnect::new(config))
            .await
            .expect("the TLS test server answers over TLS");
        tokio::spawn(conn);
        client
    }

    /// A new, empty database on the server.
    async fn fresh_db(&self) -> String {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("tls{}_{n}", std::process::id());
        self.admin()
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a test database");
        name
    }

    /// How many connections to `db` there are, and how many of them are encrypted, as the
    /// server sees them.
    async fn connections(&self, db: &str) -> (i64, i64) {
        let row = self
            .admin()
            .await
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE s.ssl) \
                 FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
                 WHERE a.datname = $1",
                &[&db],
            )
            .await
            .expect("pg_stat_ssl");
        (row.get(0), row.get(1))
    }
}

/// The certificates in a PEM text.
fn rustls_pemfile(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .expect("PEM certificates")
}

/// Starts a collector on `url`, stores a batch through it, reads it back, and checks that the
/// server sees its connections to `db` as encrypted.
async fn round_trip(tls: &Tls, db: &str, url: String) {
    let server = start(test_options(&url))
        .await
        .unwrap_or_else(|e| panic!("the collector starts on {url}: {e}"));
    let t = TestServer {
        addr: server.local_addr(),
        server,
        dir: tempfile::tempdir().expect("temporary directory"),
        db: url.clone(),
    };
    let batch = json!({
        "batch": [
            { "type": "track", "messageId": "tls-1", "anonymousId": "anon-tls",
              "event": "Product Viewed", "properties": { "sku": "A-1" } },
            { "type": "identify", "messageId": "tls-2", "anonymousId": "anon-tls",
              "userId": "user-tls", "traits": { "email": "tls@example.com" } },
        ],
        "writeKey": "demo"
    });
    let reply = t.post_json("/v1/batch", &batch).await;
    assert_eq!(reply.status, 200, "{url}: {}", reply.text());
    let events = t.events("anonymousId=anon-tls").await;
    let ids: Vec<&str> = events
        .iter()
        .filter_map(|e| e["messageId"].as_str())
        .collect();
    assert_eq!(ids, ["tls-1", "tls-2"], "{url}");
    assert_eq!(events[1]["traits"]["email"], "tls@example.com", "{url}");
    let (all, encrypted) = tls.connections(db).await;
    assert!(all > 0, "{url}: the collector keeps no connection to {db}");
    assert_eq!(encrypted, all, "{url}: connections in clear");
}

/// The error a collector on `url` fails to start with.
async fn start_error(url: &str) -> String {
    match start(test_options(url)).await {
        Ok(_) => panic!("the collector started on {url}"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_stores_and_reads_over_tls() {
    let Some(tls) = tls_server("require_stores_and_reads_over_tls") else {
        return;
    };
    let db = tls.fresh_db().await;
    round_trip(&tls, &db, tls.url("127.0.0.1", &db, "sslmode=require")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_servers_root_stores_and_reads() {
    let Some(tls) = tls_server("verify_full_with_the_servers_root_stores_and_reads") else {
        return;
    };
    let db = tls.fresh_db().await;
    let query = format!("sslmode=verify-full&sslrootcert={}", tls.cert);
    round_trip(&tls, &db, tls.url("localhost", &db, &query)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_ca_checks_the_root_but_not_the_name() {
    let Some(tls) = tls_server("verify_ca_checks_the_root_but_not_the_name") else {
        return;
    };
    let db = tls.fresh_db().await;
    // The certificate names localhost, not 127.0.0.1: verify-full would refuse it.
    let query = format!("sslmode=verify-ca&sslrootcert={}", tls.cert);
    round_trip(&tls, &db, tls.url("127.0.0.1", &db, &query)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_default_uses_tls_when_offered() {
    let Some(tls) = tls_server("loopback_default_uses_tls_when_offered") else {
        return;
    };
    let db = tls.fresh_db().await;
    // No sslmode: prefer on loopback, and this server offers TLS.
    let url = tls.url("127.0.0.1", &db, "application_name=shoptrail-test");
    round_trip(&tls, &db, url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_refuses_a_wrong_root_or_host_name() {
    let Some(tls) = tls_server("verify_full_refuses_a_wrong_root_or_host_name") else {
        return;
    };
    let db = tls.fresh_db().await;
    // Mozilla's roots do not include a self-signed certificate.
    let e = start_error(&tls.url("localhost", &db, "sslmode=verify-full")).await;
    assert!(e.contains("invalid peer certificate: UnknownIssuer"), "{e}");
    assert!(e.contains("sslmode verify-full"), "{e}");
    let e = start_error(&tls.url("localhost", &db, "sslmode=verify-ca&sslrootcert=system")).await;
    assert!(e.contains("invalid peer certificate: UnknownIssuer"), "{e}");
    // The right root, but the certificate is for localhost.
    let query = format!("sslmode=verify-full&sslrootcert={}", tls.cert);
    let e = start_error(&tls.url("127.0.0.1", &db, &query)).await;
    assert!(e.contains("invalid peer certificate"), "{e}");
    assert!(e.contains("localhost"), "{e}");
    let (all, _) = tls.connections(&db).await;
    assert_eq!(all, 0, "a refused collector left connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_is_refused_by_a_tls_only_server() {
    let Some(tls) = tls_server("disable_is_refused_by_a_tls_only_server") else {
        return;
    };
    let db = tls.fresh_db().await;
    let e = start_error(&tls.url("127.0.0.1", &db, "sslmode=disable")).await;
    assert!(e.contains("no encryption"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_sslmode_is_a_startup_error() {
    // No server needed: the URL is refused before any connection.
    let e = start_error("postgres://shop:s3cret@db.invalid/x?sslmode=verify_full").await;
    assert!(e.contains("unknown sslmode 'verify_full'"), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
}
