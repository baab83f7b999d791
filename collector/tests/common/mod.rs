//! Test helpers: an in-process server on a temporary database and a
//! minimal HTTP/1.1 client over a raw TCP stream.
//!
//! The database is a fresh SQLite file, or, when `SHOPTRAIL_TEST_POSTGRES` names a
//! PostgreSQL server (`cargo xtask test` starts one), a fresh database on that server: the
//! same suite runs on both engines.

#![allow(dead_code)]

pub mod binary;
pub mod catalog;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use shoptrail_collector::{start, Options, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Upper bound for any single network step in the tests.
pub const STEP: Duration = Duration::from_secs(10);

/// A collector running in-process on port 0 with its own temporary
/// directory (holding the database unless another path is given).
pub struct TestServer {
    pub server: Server,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    /// The `--db` value: a file in `dir`, or a `postgres://` URL.
    pub db: String,
}

impl TestServer {
    /// Starts a server on a fresh temporary database.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server on a fresh temporary database after letting
    /// `configure` adjust the options.
    pub async fn start_with(configure: impl FnOnce(&mut Options)) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut options = test_options(&fresh_db(dir.path()).await);
        configure(&mut options);
        let db = options.db.clone();
        let server = start(options).await.expect("server starts");
        let addr = server.local_addr();
        TestServer {
            server,
            addr,
            dir,
            db,
        }
    }

    /// A number the database answers `query` with (`SELECT COUNT(*) ...`), on either engine.
    pub async fn scalar(&self, query: &str) -> i64 {
        scalar(&self.db, query).await
    }

    /// `GET path` as the operator (with the admin token of [`test_options`]).
    pub async fn get(&self, path: &str) -> Reply {
        request(
            self.addr,
            "GET",
            path,
            &[("Authorization", ADMIN_BEARER)],
            None,
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        let text = body.to_string();
        request(
            self.addr,
            "POST",
            path,
            &[("Content-Type", "text/plain")],
            Some(text.as_bytes()),
        )
        .await
    }

    /// All stored events (up to 10000), via `GET /v1/events`.
    pub async fn events(&self, query: &str) -> Vec<Value> {
        let reply = self.get(&format!("/v1/events?{query}")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        match reply.json().get("events") {
            Some(Value::Array(events)) => events.clone(),
            other => panic!("no events array: {other:?}"),
        }
    }
}

/// The PostgreSQL server the suite runs on, if any (`SHOPTRAIL_TEST_POSTGRES`).
pub fn postgres() -> Option<String> {
    std::env::var("SHOPTRAIL_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A new, empty database: `events.db` in `dir`, or a database of its own on the PostgreSQL
/// server of [`postgres`].
pub async fn fresh_db(dir: &Path) -> String {
    let Some(server) = postgres() else {
        return dir.join("events.db").display().to_string();
    };
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!("t{}_{n}_{nanos}", std::process::id());
    let create = format!("CREATE DATABASE {name}");
    with_postgres(&server, |c| async move {
        c.batch_execute(&create)
            .await
            .expect("create a test database")
    })
    .await;
    // The server's URL with the new database's name as its path.
    let base = match server.rfind('/') {
        Some(i) if i > server.find("://").map_or(0, |s| s + 2) => &server[..i],
        _ => server.as_str(),
    };
    format!("{base}/{name}")
}

/// Runs `f` with a connection to the PostgreSQL database `url`, closed after it.
async fn with_postgres<T, F>(
    url: &str,
    f: impl FnOnce(std::sync::Arc<tokio_postgres::Client>) -> F,
) -> T
where
    F: std::future::Future<Output = T>,
{
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("the test PostgreSQL server answers");
    let task = tokio::spawn(conn);
    let client = std::sync::Arc::new(client);
    let out = f(std::sync::Arc::clone(&client)).await;
    drop(client);
    let _ = task.await;
    out
}

/// A number `db` answers `query` with, on either engine.
pub async fn scalar(db: &str, query: &str) -> i64 {
    if db.starts_with("postgres") {
        let query = query.to_owned();
        with_postgres(db, |c| async move {
            c.query_one(&query, &[])
                .await
                .expect(&query)
                .get::<_, i64>(0)
        })
        .await
    } else {
        let conn = rusqlite::Connection::open(db).expect("open");
        conn.query_row(query, [], |r| r.get(0)).expect(query)
    }
}

/// Runs a statement on `db` directly (to set up what the API cannot), on either engine.
pub async fn execute(db: &str, statement: &str) {
    if db.starts_with("postgres") {
        let statement = statement.to_owned();
        with_postgres(db, |c| async move {
            c.batch_execute(&statement).await.expect(&statement)
        })
        .await
    } else {
        let conn = rusqlite::Connection::open(db).expect("open");
        conn.execute_batch(statement).expect(statement);
    }
}

/// The admin token of test servers.
pub const ADMIN: &str = "test-admin-token-0123456789";
/// [`ADMIN`] as an `Authorization` header value.
pub const ADMIN_BEARER: &str = "Bearer test-admin-token-0123456789";

/// Options for a test server: port 0 on loopback with the database `db` and the admin token
/// [`ADMIN`].
pub fn test_options(db: &str) -> Options {
    Options {
        db: db.to_owned(),
        port: 0,
        admin_token: Some(ADMIN.to_owned()),
        ..Options::default()
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.text()))
    }
}

/// Sends one request with `Connection: close` and reads the whole response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    // A `Host` among `headers` replaces the address.
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if let Some(body) = body {
        if !chunked {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
    }
    head.push_str("\r\n");
    let mut payload = head.into_bytes();
    if let Some(body) = body {
        if chunked {
            payload.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
            payload.extend_from_slice(body);
            payload.extend_from_slice(b"\r\n0\r\n\r\n");
        } else {
            payload.extend_from_slice(body);
        }
    }
    let raw = exchange(addr, payload).await;
    parse_response(&raw)
}

/// Writes `payload` while reading the response, so that a server that
/// answers before reading everything does not deadlock the test.
async fn exchange(addr: SocketAddr, payload: Vec<u8>) -> Vec<u8> {
    let stream = tokio::time::timeout(STEP, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let write = tokio::spawn(async move {
        // The server may close early (for example after a 413).
        let _ = writer.write_all(&payload).await;
        let _ = writer.flush().await;
        writer
    });
    let mut raw = Vec::new();
    let read = tokio::time::timeout(STEP, reader.read_to_end(&mut raw))
        .await
        .expect("response in time");
    if let Err(e) = read {
        assert!(!raw.is_empty(), "reading the response failed: {e}");
    }
    let _ = write.await;
    raw
}

/// Splits a raw response into status, headers and (de-chunked) body.
pub fn parse_response(raw: &[u8]) -> Reply {
    let split = find(raw, b"\r\n\r\n").unwrap_or_else(|| {
        panic!("incomplete response: {}", String::from_utf8_lossy(raw));
    });
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {status_line}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let rest = &raw[split + 4..];
    let is_chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if is_chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = find(data, b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_hex, 16) else {
            break;
        };
        data = &data[line_end + 2..];
        if size == 0 || data.len() < size {
            out.extend_from_slice(&data[..size.min(data.len())]);
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
    out
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A valid track event.
pub fn track(message_id: &str, anonymous_id: &str, event: &str) -> Value {
    serde_json::json!({
        "type": "track",
        "messageId": message_id,
        "anonymousId": anonymous_id,
        "event": event,
        "properties": { "sku": "SKU-1", "price": 19.5 },
        "timestamp": "2026-11-22T10:00:00.000Z"
    })
}
