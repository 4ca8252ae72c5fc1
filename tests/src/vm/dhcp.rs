//! The guest's DHCP clients: busybox `udhcpc` for DHCPv4, ISC `dhclient -6`
//! for DHCPv6, both answered by OVN from the claimed port's DHCP options.

use std::thread;
use std::time::{Duration, Instant};

use super::{GUEST_IF, Guest, ip_in, must_in, on_path};
use crate::net;

/// udhcpc's event script: prints the lease as `lease.<name>=<value>` lines
/// and configures nothing (the harness applies the lease itself).
const UDHCPC_SCRIPT: &str = r#"#!/bin/sh
case "$1" in bound|renew) ;; *) exit 0 ;; esac
for v in ip mask router mtu dns serverid lease; do
    eval "echo lease.$v=\$$v"
done
"#;

/// What the DHCP server handed the guest (udhcpc's view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The address, e.g. `10.100.0.5`.
    pub ip: String,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Default gateway (option 3), if offered.
    pub router: Option<String>,
    /// Interface MTU (option 26), if offered.
    pub mtu: Option<u32>,
    /// DNS servers (option 6).
    pub dns: Vec<String>,
    /// The server identifier (option 54).
    pub server_id: Option<String>,
    /// Lease time in seconds (option 51).
    pub lease_time: Option<u64>,
}

impl Lease {
    /// `ip/prefix_len`.
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.ip, self.prefix_len)
    }

    /// Parses the `lease.<name>=<value>` lines of [`UDHCPC_SCRIPT`] (udhcpc
    /// `-q` stops at the first lease, so there is one; a repeated key keeps
    /// its last value).
    fn parse(output: &str) -> Option<Lease> {
        let value = |key: &str| {
            output
                .lines()
                .rev()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("lease.")?
                        .strip_prefix(key)?
                        .strip_prefix('=')
                })
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let first = |key: &str| value(key)?.split_whitespace().next().map(str::to_owned);
        Some(Lease {
            ip: value("ip")?.to_owned(),
            prefix_len: value("mask")?.parse().ok()?,
            router: first("router"),
            mtu: value("mtu").and_then(|v| v.parse().ok()),
            dns: value("dns")
                .map(|v| v.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            server_id: first("serverid"),
            lease_time: value("lease").and_then(|v| v.parse().ok()),
        })
    }
}

/// Prefix length [`Guest::dhcp6`] gives the leased address. DHCPv6 carries
/// none (a router advertisement would tell the on-link prefix); the IPv6
/// subnets of the tests are /64s.
pub const DHCP6_PREFIX_LEN: u8 = 64;

/// The address of the first `iaaddr` in a dhclient `-6` lease file.
fn leased_ip6(leases: &str) -> Option<String> {
    leases.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next()? == "iaaddr")
            .then(|| words.next())
            .flatten()
            .map(str::to_owned)
    })
}

impl Guest {
    /// Runs a DHCPv4 exchange (udhcpc: 5 discovers one second apart) and
    /// applies the lease to `eth0`: address, MTU, default route. Panics if
    /// no lease comes.
    pub fn dhcp(&mut self) -> Lease {
        // A second try covers a script that could not be executed because
        // another test thread forked while it was open for writing (ETXTBSY).
        let lease = self
            .try_dhcp()
            .or_else(|_| self.try_dhcp())
            .unwrap_or_else(|e| panic!("guest {}: no DHCP lease: {e}", self.ns()));
        let ns = self.ns().to_owned();
        ip_in(&ns, &["addr", "replace", &lease.cidr(), "dev", GUEST_IF]);
        if let Some(mtu) = lease.mtu {
            ip_in(&ns, &["link", "set", GUEST_IF, "mtu", &mtu.to_string()]);
        }
        if let Some(router) = &lease.router {
            ip_in(
                &ns,
                &[
                    "route", "replace", "default", "via", router, "dev", GUEST_IF,
                ],
            );
        }
        lease
    }

    /// One DHCPv4 exchange without touching the interface: the lease, or
    /// udhcpc's output when none came.
    pub fn try_dhcp(&self) -> Result<Lease, String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let script = std::env::temp_dir().join(format!("{}.udhcpc.sh", crate::names::unique("vm")));
        let script_path = script.display().to_string();
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o700)
            .open(&script)
            .and_then(|mut f| f.write_all(UDHCPC_SCRIPT.as_bytes()))
            .map_err(|e| format!("{script_path}: {e}"))?;
        let done = net::exec_in(
            self.ns(),
            &[
                "busybox",
                "udhcpc",
                "-i",
                GUEST_IF,
                "-f",
                "-q",
                "-n",
                "-t",
                "5",
                "-T",
                "1",
                "-O",
                "mtu",
                "-s",
                &script_path,
            ],
            &[],
            Duration::from_secs(20),
        );
        let _ = std::fs::remove_file(&script);
        let out = done.stdout_text();
        Lease::parse(&out).ok_or_else(|| format!("udhcpc: {out}{}", done.stderr))
    }

    /// Runs a DHCPv6 exchange (ISC `dhclient -6`, Debian package
    /// `isc-dhcp-client`: Solicit, Advertise, Request, Reply) and applies the
    /// leased address to `eth0` with prefix length [`DHCP6_PREFIX_LEN`],
    /// DAD off. Returns the address without prefix length; panics if no
    /// lease comes in 20 s. The exchange runs from the link-local address
    /// the kernel derives from the MAC (EUI-64), the only one OVN's port
    /// security lets through besides the port's addresses.
    pub fn dhcp6(&self) -> String {
        let ip = self
            .try_dhcp6()
            .unwrap_or_else(|e| panic!("guest {}: no DHCPv6 lease: {e}", self.ns()));
        let cidr = format!("{ip}/{DHCP6_PREFIX_LEN}");
        ip_in(
            self.ns(),
            &["addr", "replace", &cidr, "dev", GUEST_IF, "nodad"],
        );
        ip
    }

    /// One DHCPv6 exchange without touching the interface: the leased
    /// address, or dhclient's log when none came. dhclient runs in the
    /// foreground with `/bin/true` as its script (it configures nothing) and
    /// is killed once the lease file names an address; its files are removed.
    fn try_dhcp6(&self) -> Result<String, String> {
        assert!(
            on_path("dhclient"),
            "dhclient not found: DHCPv6 needs `apt-get install isc-dhcp-client`"
        );
        self.wait_link_local()?;
        let base = std::env::temp_dir().join(crate::names::unique("vm"));
        let file = |ext: &str| format!("{}.dhclient6.{ext}", base.display());
        let (conf, leases, pid) = (file("conf"), file("leases"), file("pid"));
        std::fs::write(&conf, "timeout 20;\n").map_err(|e| format!("{conf}: {e}"))?;
        let started = std::process::Command::new("ip")
            .args(["netns", "exec", self.ns(), "dhclient", "-6", "-d", "-v"])
            .args(["-cf", &conf, "-lf", &leases, "-pf", &pid])
            .args(["-sf", "/bin/true", GUEST_IF])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn();
        let leased = started.map_err(|e| format!("cannot start dhclient: {e}"));
        let result = leased.and_then(|mut client| {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut address = None;
            while address.is_none() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(50));
                address = std::fs::read_to_string(&leases)
                    .ok()
                    .and_then(|text| leased_ip6(&text));
                if matches!(client.try_wait(), Ok(Some(_))) {
                    break;
                }
            }
            // `ip netns exec` execs dhclient: this pid is the client's.
            let _ = client.kill();
            let log = client
                .wait_with_output()
                .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                .unwrap_or_default();
            address.ok_or_else(|| format!("dhclient -6: {log}"))
        });
        for path in [&conf, &leases, &pid] {
            let _ = std::fs::remove_file(path);
        }
        result
    }

    /// Waits (5 s at most) until `eth0` has a link-local address that is
    /// no longer tentative: dhclient binds to it, and fails while DAD runs.
    fn wait_link_local(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let out = must_in(
                self.ns(),
                &["ip", "-6", "addr", "show", "dev", GUEST_IF, "scope", "link"],
            );
            if out.contains("fe80::") && !out.contains("tentative") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("no usable link-local address on {GUEST_IF}: {out}"));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}
