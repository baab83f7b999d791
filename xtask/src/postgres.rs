//! A throwaway PostgreSQL cluster: a fresh data directory under the temp dir, a free port on
//! 127.0.0.1, trust authentication and no durability (fsync, synchronous commit and full-page
//! writes off), for the tests, `cargo xtask load --postgres` and `cargo xtask postgres`.
//! [`Cluster::start_tls`] starts one with `ssl = on`, a self-signed certificate for
//! `localhost` made at start, and TCP connections allowed only over TLS.

use crate::tools::{cmd, is_root, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Appended to the cluster's postgresql.conf: tests need speed and many connections (a pool per
/// test database), not durability.
const SETTINGS: &str = "
# shoptrail xtask: a throwaway cluster
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
";

/// Stops the cluster and removes its directory once its stdin closes: when the Cluster is
/// dropped, and also when xtask is killed (Ctrl-C during `cargo xtask test`), which skips Drop.
/// `$1` is the directory, the rest the pg_ctl command. When pg_ctl cannot stop the server the
/// directory is kept, since a server still runs in it.
const WATCHER: &str = r#"trap '' INT HUP TERM
read -r _
dir=$1; shift
if [ -f "$dir/data/postmaster.pid" ]; then
  "$@" stop -D "$dir/data" -m fast >/dev/null 2>&1 ||
  "$@" stop -D "$dir/data" -m immediate >/dev/null 2>&1 || {
    echo "xtask: could not stop PostgreSQL; its data is kept in $dir (see $dir/server.log)" >&2
    exit 1
  }
fi
rm -rf "$dir""#;

/// The TLS cluster's pg_hba.conf: trust, but over TCP only with TLS (`hostssl`), so a client
/// with `sslmode=disable` is refused.
const TLS_HBA: &str = "\
# shoptrail xtask: a throwaway cluster reached over TLS only
local   all all              trust
hostssl all all 127.0.0.1/32 trust
hostssl all all ::1/128      trust
";

/// A running PostgreSQL cluster, stopped and deleted when dropped.
pub struct Cluster {
    /// `/usr/lib/postgresql/<major>/bin`.
    bin: PathBuf,
    /// Holds `data/` (the cluster), `server.log` and the Unix socket.
    dir: PathBuf,
    url: String,
    /// The server's certificate (a copy outside the data directory), when it runs TLS.
    tls_cert: Option<PathBuf>,
    /// Stops the cluster and removes `dir` when its stdin closes (see [`WATCHER`]).
    watcher: Child,
}

/// The bin directory of the newest PostgreSQL server installed (Debian's
/// `/usr/lib/postgresql/<major>/bin` with initdb and pg_ctl; the client package alone has
/// neither).
pub fn bin_dir() -> Option<PathBuf> {
    let dirs = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    dirs.filter_map(|e| e.ok())
        .filter_map(|e| {
            let version: Vec<u32> = e
                .file_name()
                .to_str()?
                .split('.')
                .map(|n| n.parse().ok())
                .collect::<Option<_>>()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

/// A port nobody listens on now, found by binding 127.0.0.1:0.
fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

/// A new empty directory under the temp dir.
fn fresh_dir() -> Result<PathBuf> {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "shoptrail-pg-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// The command line that runs `program` from `bin` as the cluster's owner: initdb refuses
/// root, so as root it runs as the `postgres` user.
fn owner_argv(program: &Path) -> Vec<String> {
    let program = program.display().to_string();
    if is_root() {
        ["runuser", "-u", "postgres", "--", &program]
            .map(String::from)
            .to_vec()
    } else {
        vec![program]
    }
}

/// `c` run to the end with its output captured: Ok, or an error with what it printed.
fn quiet(c: &mut Command, what: &str) -> Result {
    let o = c.output().map_err(|e| format!("{what}: cannot run: {e}"))?;
    if o.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}):\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    ))
}

/// The last lines of the server's log, for an error message.
fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

impl Cluster {
    /// initdb in a fresh temp dir, then starts the server on a free port and waits until it
    /// accepts connections.
    pub fn start() -> Result<Cluster> {
        Self::start_with(false)
    }

    /// As [`Cluster::start`], with `ssl = on`: a self-signed certificate for `localhost`
    /// (see [`Cluster::tls_cert`]) and TCP connections over TLS only.
    pub fn start_tls() -> Result<Cluster> {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Result<Cluster> {
        let bin = bin_dir().ok_or(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
             apt-get install postgresql, or run `cargo xtask setup` as root",
        )?;
        let dir = fresh_dir()?;
        let watcher = cmd("sh")
            .args(["-c", WATCHER, "sh"])
            .arg(&dir)
            .args(owner_argv(&bin.join("pg_ctl")))
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn();
        let watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(format!("cannot run sh: {e}"));
            }
        };
        // From here on, dropping `cluster` (on any error too) cleans up.
        let mut cluster = Cluster {
            bin,
            dir,
            url: String::new(),
            tls_cert: None,
            watcher,
        };
        cluster.init()?;
        if tls {
            cluster.init_tls()?;
        }
        cluster.run_server()?;
        Ok(cluster)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's certificate (PEM, self-signed, for `localhost`), to pass as
    /// `sslrootcert`, when the cluster was started by [`Cluster::start_tls`].
    pub fn tls_cert(&self) -> Option<&Path> {
        self.tls_cert.as_deref()
    }

    /// The data directory's parent (it holds `data/`, `server.log` and the socket).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The PostgreSQL major version, from its bin directory (`/usr/lib/postgresql/15/bin`).
    pub fn version(&self) -> String {
        self.bin
            .parent()
            .and_then(|v| v.file_name())
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Stops the cluster and removes its directory, like Drop, but says whether that worked.
    pub fn stop(mut self) -> Result {
        drop(self.watcher.stdin.take());
        match self.watcher.wait() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("stopping PostgreSQL failed ({status})")),
            Err(e) => Err(format!("stopping PostgreSQL: {e}")),
        }
    }

    /// `program` from the cluster's bin directory, run as the cluster's owner.
    fn owner(&self, program: &str) -> Command {
        self.owner_path(&self.bin.join(program))
    }

    /// The program at `path`, run as the cluster's owner in the cluster's directory.
    fn owner_path(&self, path: &Path) -> Command {
        let argv = owner_argv(path);
        let mut c = cmd(&argv[0]);
        c.args(&argv[1..]).current_dir(&self.dir);
        c
    }

    /// initdb (trust authentication, superuser `postgres`), then the test settings.
    fn init(&self) -> Result {
        if is_root() {
            quiet(
                cmd("chown").arg("postgres:").arg(&self.dir),
                "chown postgres (is the postgres user missing? apt-get install postgresql)",
            )?;
        }
        let data = self.dir.join("data");
        let what = if is_root() {
            "initdb as the postgres user (it must reach the temp dir: TMPDIR)"
        } else {
            "initdb"
        };
        quiet(
            self.owner("initdb")
                .arg("-D")
                .arg(&data)
                .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale"])
                .arg("--no-sync"),
            what,
        )?;
        let conf = data.join("postgresql.conf");
        let socket = format!(
            "unix_socket_directories = '{}'\n",
            self.dir.display().to_string().replace('\'', "''")
        );
        let mut text =
            std::fs::read_to_string(&conf).map_err(|e| format!("{}: {e}", conf.display()))?;
        text.push_str(SETTINGS);
        text.push_str(&socket);
        std::fs::write(&conf, text).map_err(|e| format!("{}: {e}", conf.display()))
    }

    /// A key and a self-signed certificate for `localhost` (valid for a week) in the data
    /// directory, made by the owner (the key mode 0600, as the server demands), `ssl = on`,
    /// TCP over TLS only, and a copy of the certificate beside the data directory for clients.
    fn init_tls(&mut self) -> Result {
        let data = self.dir.join("data");
        quiet(
            self.owner_path(Path::new("/usr/bin/openssl"))
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "7",
                ])
                .args(["-subj", "/CN=localhost"])
                .args(["-addext", "subjectAltName=DNS:localhost"])
                .args(["-addext", "basicConstraints=critical,CA:FALSE"])
                .args(["-addext", "extendedKeyUsage=serverAuth"])
                .arg("-keyout")
                .arg(data.join("server.key"))
                .arg("-out")
                .arg(data.join("server.crt")),
            "openssl req (a self-signed certificate; apt-get install openssl)",
        )?;
        let key = data.join("server.key");
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|e| format!("{}: {e}", key.display()))?;
        let cert = self.dir.join("server.crt");
        std::fs::copy(data.join("server.crt"), &cert)
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        let conf = data.join("postgresql.conf");
        let mut text =
            std::fs::read_to_string(&conf).map_err(|e| format!("{}: {e}", conf.display()))?;
        text.push_str("ssl = on\n");
        std::fs::write(&conf, text).map_err(|e| format!("{}: {e}", conf.display()))?;
        let hba = data.join("pg_hba.conf");
        std::fs::write(&hba, TLS_HBA).map_err(|e| format!("{}: {e}", hba.display()))?;
        self.tls_cert = Some(cert);
        Ok(())
    }

    /// pg_ctl start on a free port (three tries: another process may take the port first),
    /// then waits until the server accepts connections.
    fn run_server(&mut self) -> Result {
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let started = quiet(
                self.owner("pg_ctl")
                    .arg("-D")
                    .arg(self.dir.join("data"))
                    .args(["-o", &format!("-p {port}"), "-w", "-t", "60", "-l"])
                    .arg(self.dir.join("server.log"))
                    .arg("start"),
                "pg_ctl start",
            );
            match started {
                Ok(()) => {
                    self.url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
                    return self.wait_ready(port);
                }
                Err(e) => last = e,
            }
        }
        Err(format!(
            "PostgreSQL did not start: {last}\nserver.log:\n{}",
            log_tail(&self.dir)
        ))
    }

    /// Polls pg_isready until the server accepts connections on 127.0.0.1:`port` (10 s).
    fn wait_ready(&self, port: u16) -> Result {
        let port = port.to_string();
        for _ in 0..100 {
            let ready = cmd(&self.bin.join("pg_isready").display().to_string())
                .args(["-q", "-h", "127.0.0.1", "-p", &port, "-U", "postgres"])
                .args(["-d", "postgres", "-t", "1"])
                .current_dir(&self.dir)
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err(format!(
            "PostgreSQL does not accept connections on 127.0.0.1:{port}\nserver.log:\n{}",
            log_tail(&self.dir)
        ))
    }
}

impl Drop for Cluster {
    /// `pg_ctl stop -m fast` and removes the directory (done by the watcher, once its stdin
    /// closes).
    fn drop(&mut self) {
        drop(self.watcher.stdin.take());
        let _ = self.watcher.wait();
    }
}

/// `cargo xtask postgres`: a throwaway cluster until Enter is pressed, stdin closes or Ctrl-C.
/// The URL goes to stdout, the rest to stderr.
/// `--tls` starts it with [`Cluster::start_tls`].
pub fn serve(args: &[String]) -> Result {
    let tls = match args {
        [] => false,
        [a] if a == "--tls" => true,
        [a, ..] => {
            return Err(format!(
                "unknown postgres option {a}: it takes --tls or none"
            ))
        }
    };
    let cluster = if tls {
        Cluster::start_tls()?
    } else {
        Cluster::start()?
    };
    let url = cluster.url();
    eprintln!(
        "\nPostgreSQL {} (throwaway: no fsync, trust authentication{}), data in {}:",
        cluster.version(),
        if tls { ", TLS only" } else { "" },
        cluster.dir().display()
    );
    println!("{url}");
    if let Some(cert) = cluster.tls_cert() {
        eprintln!(
            "\nIts certificate (self-signed, for localhost): {}\nVerified:\n  {}?sslmode=verify-full&sslrootcert={}",
            cert.display(),
            url.replace("127.0.0.1", "localhost"),
            cert.display()
        );
    }
    eprintln!(
        "\nFor example:\n  cargo run -p shoptrail-collector -- --db {url}\n  psql {url}\n\n\
         (Enter, end of input or Ctrl-C stops it and deletes its data)"
    );
    let _ = std::io::stdin().read_line(&mut String::new());
    cluster.stop()?;
    eprintln!("PostgreSQL stopped, data deleted");
    Ok(())
}
