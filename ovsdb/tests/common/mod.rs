//! A real ovsdb-server per test, in its own temp dir, killed by pid (and
//! the dir removed) when the guard drops, also when the test panics; and,
//! in [`fake`], a scripted stand-in for what a real one never does.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod fake;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Name of the database in the fixture schema.
pub const DB: &str = "Test";

/// A running ovsdb-server serving the fixture schema.
pub struct Server {
    child: Child,
    // Removed after the server is killed: fields drop after Drop::drop.
    dir: TempDir,
    /// `unix:<socket>` remote.
    pub unix: String,
    /// `tcp:127.0.0.1:<port>` remote.
    pub tcp: String,
    /// `ssl:127.0.0.1:<port>` remote of [`Server::start_tls`], see [`Server::ssl`].
    ssl: Option<String>,
}

/// The PEM files ovsdb-server's `pssl:` remote uses: its key and
/// certificate, and the CA its clients' certificates must chain to.
pub struct ServerTls<'a> {
    /// The server's key and certificate.
    pub identity: &'a Cert,
    /// CA certificate clients are checked against.
    pub ca_cert: &'a Path,
}

/// A key and its certificate, PEM files.
pub struct Cert {
    /// Private key.
    pub key: PathBuf,
    /// Certificate.
    pub cert: PathBuf,
}

/// CAs and certificates made with the `openssl` CLI in a temp dir (removed
/// on drop); panics (the test fails) if openssl is missing.
pub struct Pki {
    dir: TempDir,
}

impl Pki {
    /// An empty PKI dir.
    pub fn new() -> Pki {
        Pki {
            dir: TempDir::new("pki"),
        }
    }

    /// Its dir.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A self-signed CA named `name` (EC P-256, X.509 v3, CA:TRUE).
    pub fn ca(&self, name: &str) -> Cert {
        let cert = self.cert_paths(name);
        run(Command::new("openssl")
            .args(["req", "-x509", "-new", "-nodes", "-days", "30"])
            .args(EC_P256)
            .arg("-keyout")
            .arg(&cert.key)
            .arg("-out")
            .arg(&cert.cert)
            .arg("-subj")
            .arg(format!("/CN={name}"))
            .args(["-addext", "basicConstraints=critical,CA:TRUE"]));
        cert
    }

    /// A leaf certificate (X.509 v3, CA:FALSE) for subject `CN=cn`, without
    /// subjectAltName, signed by `ca`; its files are named after `name`.
    pub fn issue(&self, ca: &Cert, name: &str, cn: &str) -> Cert {
        let cert = self.cert_paths(name);
        let csr = self.path().join(format!("{name}.csr"));
        let ext = self.path().join("leaf.ext");
        std::fs::write(&ext, "basicConstraints=CA:FALSE\n").unwrap();
        run(Command::new("openssl")
            .args(["req", "-new", "-nodes"])
            .args(EC_P256)
            .arg("-keyout")
            .arg(&cert.key)
            .arg("-out")
            .arg(&csr)
            .arg("-subj")
            .arg(format!("/CN={cn}")));
        run(Command::new("openssl")
            .args(["x509", "-req", "-days", "30", "-CAcreateserial"])
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(&ca.cert)
            .arg("-CAkey")
            .arg(&ca.key)
            .arg("-CAserial")
            .arg(self.path().join(format!("{name}.srl")))
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&cert.cert));
        cert
    }

    fn cert_paths(&self, name: &str) -> Cert {
        Cert {
            key: self.path().join(format!("{name}-key.pem")),
            cert: self.path().join(format!("{name}-cert.pem")),
        }
    }
}

/// `openssl req` arguments for a fresh EC P-256 key (fast to generate).
const EC_P256: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

/// A temp dir removed on drop, also when the test panics.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty dir unique to this process and call.
    pub fn new(tag: &str) -> TempDir {
        TempDir(temp_dir(tag))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ovsdb-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `N` distinct free ports (the listeners are held until all are picked).
fn free_ports<const N: usize>() -> [u16; N] {
    // The ports are released before ovsdb-server binds them; a clash is
    // possible in theory but the kernel hands out ephemeral ports round-robin.
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().unwrap().port())
}

/// Runs a tool (ovsdb-tool, openssl) and fails the test if it fails or is
/// missing.
fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| {
        let tool = cmd.get_program().to_string_lossy().into_owned();
        panic!("cannot run {cmd:?} (is {tool} installed?): {e}")
    });
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Server {
    /// Starts ovsdb-server on a fresh database; panics (the test fails) if
    /// it cannot: a missing ovsdb-server must never look like a pass.
    pub fn start() -> Server {
        Server::start_with(None, create_test_db)
    }

    /// [`Server::start`], also listening on `pssl:` (see [`Server::ssl`])
    /// with `tls`.
    pub fn start_tls(tls: &ServerTls) -> Server {
        Server::start_with(Some(tls), create_test_db)
    }

    /// Starts a server whose database is a clustered member that joins a
    /// cluster nobody serves: it answers, but is never connected.
    pub fn start_cut_off_cluster_member() -> Server {
        Server::start_with(None, |dir, db| {
            run(Command::new("ovsdb-tool")
                .arg("join-cluster")
                .arg(db)
                .arg(DB)
                .arg(format!("unix:{}", dir.join("self.raft").display()))
                .arg(format!("unix:{}", dir.join("nobody.raft").display())));
        })
    }

    fn start_with(tls: Option<&ServerTls>, create_db: impl FnOnce(&Path, &Path)) -> Server {
        // A guard from the start, so a failed setup leaves nothing behind.
        let dir = TempDir::new("server");
        let db = dir.path().join("test.db");
        create_db(dir.path(), &db);
        let sock = dir.path().join("db.sock");
        let [port, ssl_port] = free_ports();
        let mut cmd = Command::new("ovsdb-server");
        let mut ssl = None;
        if let Some(tls) = tls {
            cmd.arg(format!("--private-key={}", tls.identity.key.display()))
                .arg(format!("--certificate={}", tls.identity.cert.display()))
                .arg(format!("--ca-cert={}", tls.ca_cert.display()))
                .arg(format!("--remote=pssl:{ssl_port}:127.0.0.1"));
            ssl = Some(format!("ssl:127.0.0.1:{ssl_port}"));
        }
        let child = cmd
            .arg(&db)
            .arg(format!("--remote=punix:{}", sock.display()))
            .arg(format!("--remote=ptcp:{port}:127.0.0.1"))
            .arg(format!("--unixctl={}", dir.path().join("ctl").display()))
            .arg(format!("--pidfile={}", dir.path().join("pid").display()))
            .arg(format!("--log-file={}", dir.path().join("log").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start ovsdb-server (is Open vSwitch installed?): {e}")
            });
        let mut server = Server {
            child,
            dir,
            unix: format!("unix:{}", sock.display()),
            tcp: format!("tcp:127.0.0.1:{port}"),
            ssl,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sock.exists() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("ovsdb-server exited with {status}: {}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "ovsdb-server socket never appeared"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// The `ssl:` remote of a server started with [`Server::start_tls`].
    pub fn ssl(&self) -> &str {
        self.ssl.as_deref().expect("server started without TLS")
    }

    /// The temp dir of this server.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Kills the server now (SIGKILL by pid) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn create_test_db(_dir: &Path, db: &Path) {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test.ovsschema");
    run(Command::new("ovsdb-tool")
        .arg("create")
        .arg(db)
        .arg(&schema));
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
