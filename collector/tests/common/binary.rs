//! The real `shoptrail-collector` binary, started and asked over blocking HTTP/1.1: for the
//! tests of its flags and of hostile clients.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::{parse_response, Reply};

pub const BIN: &str = env!("CARGO_BIN_EXE_shoptrail-collector");

/// Upper bound for the server to start, a request to be answered, or something to arrive.
pub const WAIT: Duration = Duration::from_secs(20);

/// The environment variables the binary reads, cleared so the caller's do not leak in.
pub const ENV: [&str; 4] = [
    "SHOPTRAIL_DB",
    "SHOPTRAIL_ADMIN_TOKEN",
    "SHOPTRAIL_WEBHOOK_SECRET",
    "SHOPTRAIL_SHOPIFY_SECRET",
];

/// The admin token [`start`] gives a collector when the test names none.
pub const ADMIN: &str = "cli-admin-token-0123456789";

/// A collector process, killed and reaped on drop.
pub struct Running {
    pub child: Child,
    /// `Authorization` for its admin routes, when it has an admin token.
    pub bearer: Option<String>,
    /// The address of its "listening on" line.
    pub addr: SocketAddr,
    pub stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

/// Starts the binary with `args` (and `--db` in a temporary directory unless `args` or `env`
/// name one; `--port 0` unless `args` name a port; `--admin-token` [`ADMIN`] unless `args` or
/// `env` give an admin token) and waits for its "listening on" line.
pub fn start(args: &[&str], env: &[(&str, &str)]) -> Running {
    let named = args.iter().any(|a| a.starts_with("--admin-token"))
        || env.iter().any(|(k, _)| *k == "SHOPTRAIL_ADMIN_TOKEN");
    if named {
        return launch(args, env, None);
    }
    let mut with = vec!["--admin-token", ADMIN];
    with.extend_from_slice(args);
    launch(&with, env, Some(ADMIN))
}

/// Starts the binary with exactly `args` and `env` (besides `--db` and `--port`, as [`start`]
/// does); `admin` is the token its admin routes take, if the test is to use them.
pub fn launch(args: &[&str], env: &[(&str, &str)], admin: Option<&str>) -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(BIN);
    for name in ENV {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied());
    if !args.contains(&"--port") {
        cmd.args(["--port", "0"]);
    }
    if !args.contains(&"--db") && !env.iter().any(|(k, _)| *k == "SHOPTRAIL_DB") {
        cmd.arg("--db").arg(dir.path().join("events.db"));
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the collector");

    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err_pipe = child.stderr.take().expect("stderr");
    let sink = Arc::clone(&stderr);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = err_pipe.read(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(&text);
        }
    });
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(WAIT).unwrap_or_default();
    let addr = line
        .trim()
        .strip_prefix("shoptrail-collector listening on http://")
        .and_then(|a| a.parse().ok());
    let Some(addr) = addr else {
        let _ = child.kill();
        let _ = child.wait();
        let err = stderr.lock().unwrap_or_else(|e| e.into_inner()).clone();
        panic!("no listening line for {args:?}: {line:?}; stderr: {err}");
    };
    Running {
        child,
        bearer: admin.map(|t| format!("Bearer {t}")),
        addr,
        stderr,
        _dir: dir,
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// `GET path` with `headers`, and the admin token when the test gave none.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut all = headers.to_vec();
        if let Some(b) = &self.bearer {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            {
                all.push(("Authorization", b));
            }
        }
        http(self.addr, "GET", path, &all, None)
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        http(self.addr, "POST", path, headers, Some(body))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.post(path, &[], body.to_string().as_bytes())
    }

    /// The stored events' messageIds, in arrival order.
    pub fn message_ids(&self) -> Vec<String> {
        let reply = self.get("/v1/events", &[]);
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["messageId"].as_str().unwrap_or("?").to_owned())
            .collect()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// One blocking HTTP/1.1 request with `Connection: close`; the whole response.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let mut stream = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    stream.set_write_timeout(Some(WAIT)).expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut payload = head.into_bytes();
    payload.extend_from_slice(body.unwrap_or_default());
    // The server may answer (413) and close before it has read everything.
    let _ = stream.write_all(&payload);
    let mut raw = Vec::new();
    if let Err(e) = stream.read_to_end(&mut raw) {
        assert!(!raw.is_empty(), "reading the response failed: {e}");
    }
    parse_response(&raw)
}

/// Runs the binary to its exit with `args` and `env` (nothing else from the caller's
/// environment); its exit code and standard error.
pub fn exit_of(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(BIN);
    for name in ENV {
        cmd.env_remove(name);
    }
    let out = cmd
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
