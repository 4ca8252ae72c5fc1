//! Traffic and interface state inside network namespaces: ping, a TCP
//! transfer through `nc`, and `ip -j` reads. Every wait is bounded.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::{self, Finished};

/// How long a path may take to start forwarding after ADD returned.
pub const REACH_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs `args` inside namespace `ns`, bounded by `timeout`.
pub fn exec_in(ns: &str, args: &[&str], stdin: &[u8], timeout: Duration) -> Finished {
    process::run(
        Command::new("ip").args(["netns", "exec", ns]).args(args),
        stdin,
        timeout,
    )
}

fn ping_once(ns: &str, ip: &str) -> Finished {
    exec_in(
        ns,
        &["ping", "-n", "-c", "1", "-W", "1", ip],
        &[],
        Duration::from_secs(5),
    )
}

/// Pings `ip` from `ns` until one reply arrives or [`REACH_TIMEOUT`] passes.
pub fn ping(ns: &str, ip: &str) -> bool {
    let deadline = Instant::now() + REACH_TIMEOUT;
    loop {
        if ping_once(ns, ip).ok() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Panics unless `ns` reaches `ip` within [`REACH_TIMEOUT`].
pub fn assert_ping(ns: &str, ip: &str) {
    assert!(ping(ns, ip), "{ns} cannot ping {ip}");
}

/// The TTL of the first echo reply from `ip` (after it is reachable): 64
/// from a neighbour, one less per router on the way.
pub fn reply_ttl(ns: &str, ip: &str) -> u8 {
    assert_ping(ns, ip);
    let done = ping_once(ns, ip);
    let text = done.stdout_text();
    text.split_whitespace()
        .find_map(|word| word.strip_prefix("ttl=")?.parse().ok())
        .unwrap_or_else(|| panic!("no ttl in the ping output of {ns} -> {ip}: {text}"))
}

/// Panics if `ns` gets any reply from `ip` in three one-second tries.
pub fn assert_no_ping(ns: &str, ip: &str) {
    let done = exec_in(
        ns,
        &["ping", "-n", "-c", "3", "-i", "0.3", "-W", "1", ip],
        &[],
        Duration::from_secs(8),
    );
    assert!(
        !done.ok(),
        "{ns} reached {ip} but must not: {}",
        done.stdout_text()
    );
}

/// Deterministic pseudo-random payload of `len` bytes (xorshift), so a
/// corrupted or truncated transfer is detected byte for byte.
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Sends `data` over TCP from `client_ns` to an `nc` listener on
/// `server_ip:port` in `server_ns`; returns what the server received.
/// Bounded by about 30 s; the listener is killed when the client fails.
pub fn tcp_transfer(
    server_ns: &str,
    server_ip: &str,
    port: u16,
    client_ns: &str,
    data: &[u8],
) -> Result<Vec<u8>, String> {
    // openbsd nc listens on one family only: IPv4 unless told `-6`.
    let family = if server_ip.contains(':') { "-6" } else { "-4" };
    // `ip netns exec` execs nc itself, so killing the child kills nc.
    let mut server = Command::new("ip")
        .args([
            "netns",
            "exec",
            server_ns,
            "nc",
            family,
            "-l",
            "-n",
            &port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start nc listener: {e}"))?;
    let mut out = server.stdout.take().expect("stdout was piped");
    let reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let outcome = (|| {
        wait_listening(server_ns, port)?;
        let client = exec_in(
            client_ns,
            &["nc", "-n", "-N", "-w", "10", server_ip, &port.to_string()],
            data,
            Duration::from_secs(20),
        );
        if !client.ok() {
            return Err(format!(
                "nc client in {client_ns} failed ({:?}, timed out {}): {}",
                client.code, client.timed_out, client.stderr
            ));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match server.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(format!("nc listener in {server_ns}: {status}")),
                Ok(None) if Instant::now() >= deadline => {
                    return Err(format!("nc listener in {server_ns} never saw EOF"));
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("waiting for nc listener: {e}")),
            }
        }
    })();
    let _ = server.kill();
    let _ = server.wait();
    let received = reader.join().unwrap_or_default();
    outcome.map(|()| received)
}

/// An `nc` listener that accepts connection after connection (and throws
/// their bytes away) until dropped.
#[derive(Debug)]
pub struct Listener(std::process::Child);

impl Listener {
    /// Listens on `port` (IPv4) in `ns`; returns once it does.
    pub fn start(ns: &str, port: u16) -> Listener {
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "nc", "-4", "-l", "-k", "-n"])
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nc listener");
        let listener = Listener(child);
        wait_listening(ns, port).unwrap_or_else(|e| panic!("{e}"));
        listener
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether a new TCP connection from `ns` to `ip:port` is accepted within
/// `within` (`nc -z`, killed when the time is up: a lost SYN would
/// otherwise wait for TCP's one-second retransmission).
pub fn connects(ns: &str, ip: &str, port: u16, within: Duration) -> bool {
    exec_in(
        ns,
        &["nc", "-z", "-n", "-w", "2", ip, &port.to_string()],
        &[],
        within,
    )
    .ok()
}

/// What a client downloaded from a server, and who the server saw.
#[derive(Debug)]
pub struct Download {
    /// The bytes the client received.
    pub received: Vec<u8>,
    /// The source address the server saw the connection come from.
    pub seen_from: String,
}

/// `client_ns` connects to an `nc` listener on `server_ip:port` in
/// `server_ns`, which sends `data` and closes; returns what the client got
/// and the peer address the listener reported. Bounded by about 30 s.
pub fn tcp_download(
    server_ns: &str,
    server_ip: &str,
    port: u16,
    client_ns: &str,
    data: &[u8],
) -> Result<Download, String> {
    let mut server = Command::new("ip")
        .args([
            "netns", "exec", server_ns, "nc", "-4", "-l", "-n", "-v", "-N",
        ])
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start nc listener: {e}"))?;
    let mut stdin = server.stdin.take().expect("stdin was piped");
    let data = data.to_vec();
    let writer = thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut stdin, &data);
    });
    let mut err = server.stderr.take().expect("stderr was piped");
    let reader = thread::spawn(move || {
        let mut buf = String::new();
        let _ = err.read_to_string(&mut buf);
        buf
    });
    let outcome = wait_listening(server_ns, port).and_then(|()| {
        let client = exec_in(
            client_ns,
            &["nc", "-n", "-d", "-w", "10", server_ip, &port.to_string()],
            &[],
            Duration::from_secs(25),
        );
        if client.ok() {
            Ok(client.stdout)
        } else {
            Err(format!(
                "nc client in {client_ns} failed ({:?}, timed out {}): {}",
                client.code, client.timed_out, client.stderr
            ))
        }
    });
    let _ = server.kill();
    let _ = server.wait();
    let _ = writer.join();
    let log = reader.join().unwrap_or_default();
    let received = outcome?;
    // openbsd nc: "Connection received on 172.20.0.11 40312".
    let seen_from = log
        .lines()
        .find_map(|l| l.strip_prefix("Connection received on "))
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| format!("nc listener in {server_ns} reported no connection: {log}"))?
        .to_owned();
    Ok(Download {
        received,
        seen_from,
    })
}

fn wait_listening(ns: &str, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let filter = format!("sport = :{port}");
    while Instant::now() < deadline {
        let ss = exec_in(ns, &["ss", "-Hltn", &filter], &[], Duration::from_secs(5));
        if ss.ok() && !ss.stdout_text().trim().is_empty() {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(20));
    }
    Err(format!("nc never listened on port {port} in {ns}"))
}

/// Panics unless 1 MiB sent from `client_ns` arrives intact at `server_ip` in `server_ns`.
pub fn assert_tcp_transfer(server_ns: &str, server_ip: &str, client_ns: &str) {
    let data = payload(1 << 20, 0x5eed_u64 ^ server_ip.len() as u64);
    let got = tcp_transfer(server_ns, server_ip, 5201, client_ns, &data)
        .unwrap_or_else(|e| panic!("TCP {client_ns} -> {server_ip}: {e}"));
    assert_eq!(
        got.len(),
        data.len(),
        "TCP {client_ns} -> {server_ip}: length differs"
    );
    assert!(
        got == data,
        "TCP {client_ns} -> {server_ip}: payload corrupted"
    );
}

fn ip_json(ns: &str, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["-j", "-n", ns];
    all.extend_from_slice(args);
    let out = process::must("ip", &all);
    if out.trim().is_empty() {
        return Vec::new();
    }
    serde_json::from_str::<Value>(&out)
        .unwrap_or_else(|e| panic!("ip -j output is not JSON ({e}): {out}"))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Every link in `ns` (`ip -j -d link show`).
pub fn links(ns: &str) -> Vec<Value> {
    ip_json(ns, &["-d", "link", "show"])
}

/// Names of every link in `ns`.
pub fn link_names(ns: &str) -> Vec<String> {
    links(ns)
        .iter()
        .filter_map(|l| l["ifname"].as_str().map(str::to_owned))
        .collect()
}

/// The link `ifname` in `ns`, if it exists.
pub fn link(ns: &str, ifname: &str) -> Option<Value> {
    links(ns)
        .into_iter()
        .find(|l| l["ifname"].as_str() == Some(ifname))
}

/// `local/prefixlen` of every global address on `ifname` in `ns`.
pub fn addresses(ns: &str, ifname: &str) -> Vec<String> {
    ip_json(ns, &["addr", "show", "dev", ifname])
        .iter()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["scope"].as_str() == Some("global"))
        .filter_map(|a| {
            Some(format!(
                "{}/{}",
                a["local"].as_str()?,
                a["prefixlen"].as_u64()?
            ))
        })
        .collect()
}

/// Routes of `ns` for family `-4` or `-6`.
pub fn routes(ns: &str, family: &str) -> Vec<Value> {
    ip_json(ns, &[family, "route", "show"])
}

/// The `tx-checksumming` line of `ethtool -k` for `ifname` in `ns` (`on`/`off`).
pub fn tx_checksumming(ns: &str, ifname: &str) -> String {
    let done = exec_in(ns, &["ethtool", "-k", ifname], &[], Duration::from_secs(10));
    assert!(done.ok(), "ethtool -k {ifname} in {ns}: {}", done.stderr);
    done.stdout_text()
        .lines()
        .find_map(|l| l.strip_prefix("tx-checksumming:"))
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

/// Names of veths in `host_ns` whose peer lives in namespace `peer_ns`.
pub fn veths_into(host_ns: &str, peer_ns: &str) -> Vec<String> {
    let ids = ip_json(host_ns, &["netns", "list-id"]);
    let Some(nsid) = ids
        .iter()
        .find(|e| e["name"].as_str() == Some(peer_ns))
        .and_then(|e| e["nsid"].as_i64())
    else {
        return Vec::new();
    };
    links(host_ns)
        .iter()
        .filter(|l| l["linkinfo"]["info_kind"].as_str() == Some("veth"))
        .filter(|l| l["link_netnsid"].as_i64() == Some(nsid))
        .filter_map(|l| l["ifname"].as_str().map(str::to_owned))
        .collect()
}
