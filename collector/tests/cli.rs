//! Tests of the `shoptrail-collector` binary itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_shoptrail-collector");

#[test]
fn prints_listening_line_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("cli.db");
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let prefix = "shoptrail-collector listening on http://127.0.0.1:";
    assert!(line.starts_with(prefix), "{line:?}");
    let port: u16 = line[prefix.len()..].trim().parse().expect("port");
    assert_ne!(port, 0);

    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok"), "{response}");
    assert!(db.exists());

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server did not stop after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn bad_flag_exits_2_with_a_message() {
    let out = Command::new(BIN).arg("--prot").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--prot"), "{err}");
    assert!(out.stdout.is_empty());

    let out = Command::new(BIN)
        .args(["--port", "http"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_prints_usage() {
    let out = Command::new(BIN).arg("--help").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--db",
        "SHOPTRAIL_DB",
        "--port",
        "--bind",
        "--static",
        "--allow-origin",
        "--max-body",
        "--admin-token",
        "SHOPTRAIL_ADMIN_TOKEN",
        "--write-keys",
        "--rate-limit",
        "--journeys",
        "SHOPTRAIL_WEBHOOK_SECRET",
        "--forward",
        "--forward-format",
        "--help",
        "--version",
        "ENDPOINTS (",
    ] {
        assert!(text.contains(flag), "{flag} missing from help");
    }
    // Every limit is a number in --help, the inflated body's too.
    assert!(text.contains("16 times"), "{text}");
    assert!(out.stderr.is_empty());
}

#[test]
fn version_prints_the_package_version() {
    let out = Command::new(BIN).arg("--version").output().expect("run");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("shoptrail-collector {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn a_bad_journeys_file_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("journeys.toml");
    std::fs::write(
        &file,
        "[webhook]\nurl = \"https://hooks.example\"\nsecret = \"0123456789abcdef\"\n\
         [[journey]]\nid = \"cart\"\ntrigger = \"abandoned_cart\"\n\
         [[journey.step]]\nname = \"reminder\"\nafter = \"an hour\"\n",
    )
    .expect("write");
    let out = Command::new(BIN)
        .arg("--journeys")
        .arg(&file)
        .env_remove("SHOPTRAIL_WEBHOOK_SECRET")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("journey[0].step[0].after: 'an hour' is not a duration"),
        "{err}"
    );
    assert!(err.contains("journeys.toml"), "{err}");

    let out = Command::new(BIN)
        .args(["--journeys", "/nonexistent/journeys.toml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read journeys file"), "{err}");
}

#[test]
fn the_demo_journeys_file_is_accepted() {
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/journeys.toml");
    // The file is read once the options parse; the missing directory fails the start after.
    let out = Command::new(BIN)
        .args([
            "--journeys",
            demo,
            "--port",
            "0",
            "--static",
            "/nonexistent-dir",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("static directory /nonexistent-dir does not exist"),
        "{err}"
    );
    assert!(!err.contains("journeys"), "{err}");
}

#[test]
fn a_bad_forward_url_or_format_exits_2() {
    let out = Command::new(BIN)
        .args(["--forward", "ftp://files.example/in"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--forward: 'ftp://files.example/in' is not an http:// or https:// URL"),
        "{err}"
    );
    let out = Command::new(BIN)
        .args(["--forward", "https://x.example", "--forward-format", "xml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("xml"));
}

#[test]
fn a_database_that_is_neither_a_file_nor_postgres_exits_2_and_an_unreachable_server_1() {
    let out = Command::new(BIN)
        .args(["--port", "0", "--db", "mysql://shop@db/events"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--db") && err.contains("postgres://"), "{err}");

    // Nothing listens on port 1: a clear error without the password, and no retry forever.
    let out = Command::new(BIN)
        .args([
            "--port",
            "0",
            "--db",
            "postgres://shop:s3cret@127.0.0.1:1/events",
        ])
        .env_remove("SHOPTRAIL_DB")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open database postgres://shop:***@127.0.0.1:1/events"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");

    // SHOPTRAIL_DB is read when --db is not given.
    let out = Command::new(BIN)
        .args(["--port", "0"])
        .env(
            "SHOPTRAIL_DB",
            "postgresql://shop:s3cret@127.0.0.1:1/events",
        )
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("postgresql://shop:***@127.0.0.1:1/events"),
        "{err}"
    );
}

#[test]
fn an_unknown_sslmode_exits_2_naming_the_accepted_ones() {
    for (flag, env) in [
        (
            Some("postgres://shop:s3cret@db.example/events?sslmode=verify_full"),
            None,
        ),
        (
            None,
            Some("postgresql://shop:s3cret@db.example/events?connect_timeout=5&sslmode=on"),
        ),
    ] {
        let mut cmd = Command::new(BIN);
        cmd.args(["--port", "0"]).env_remove("SHOPTRAIL_DB");
        if let Some(url) = flag {
            cmd.args(["--db", url]);
        }
        if let Some(url) = env {
            cmd.env("SHOPTRAIL_DB", url);
        }
        let out = cmd.output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{flag:?} {env:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--db (or SHOPTRAIL_DB): unknown sslmode"),
            "{err}"
        );
        assert!(
            err.contains("use disable, prefer, require, verify-ca or verify-full"),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
        assert!(out.stdout.is_empty());
    }
    // A bad %-escape in the query is the flag's fault too; a known mode goes on to connect.
    let out = Command::new(BIN)
        .args([
            "--port",
            "0",
            "--db",
            "postgres://shop@127.0.0.1:1/events?sslrootcert=%zz",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN)
        .args([
            "--port",
            "0",
            "--db",
            "postgres://shop@127.0.0.1:1/events?sslmode=disable",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open database"), "{err}");
}
