//! Virtual machines for live-migration tests, wired the way KubeVirt's
//! bridge binding wires them, without a hypervisor:
//!
//! ```text
//!  guest netns            launcher pod netns                 chassis netns
//!  eth0 (claim MAC) ==veth== tap --+ br0 +-- <CNI ifname> ==veth== port on br-int
//! ```
//!
//! A [`LauncherBridge`] turns the interface the plugin attached to a launcher
//! pod into a port of a linux bridge `br0` (its addresses removed and its MAC
//! changed, since the guest owns both now). A [`Guest`] is a namespace whose
//! `eth0` has the claim's MAC and takes its address by DHCP (busybox
//! `udhcpc`, Debian package `busybox-static`); its veth peer, the "tap",
//! is a port of a launcher's bridge. Live migration moves the tap into the
//! target launcher's bridge ([`Guest::move_to`]) and has the guest announce
//! itself ([`Guest::announce`]) with a RARP, what QEMU sends after a
//! migration and the only frame OVN's `activation-strategy=rarp` unblocks a
//! port on, then a gratuitous ARP.
//!
//! [`Binding`] reads the southbound Port_Binding, to see on which chassis a
//! port is bound and whether a migration target was activated.

use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::net;
use crate::pod::Netns;
use crate::process;
use crate::sandbox::sandbox;

/// Name of the launcher's bridge.
pub const BRIDGE: &str = "br0";
/// Name of the guest's interface.
pub const GUEST_IF: &str = "eth0";

/// One RARP "reverse request" from `$ARGV[0]` for MAC `$ARGV[1]`, the frame
/// QEMU's `announce_self` sends: broadcast, ethertype 0x8035, sender and
/// target hardware address the guest's, protocol addresses 0. Perl because
/// `perl-base` is on every Debian system and can open an AF_PACKET socket.
const RARP_PERL: &str = r#"
my ($if, $mac) = @ARGV;
my $m = pack("H12", join("", split(/:/, $mac)));
open(my $f, "<", "/sys/class/net/$if/ifindex") or die "no interface $if: $!\n";
my $idx = <$f>; chomp $idx;
socket(my $s, 17, 3, 0) or die "AF_PACKET socket: $!\n";
my $frame = "\xff" x 6 . $m . pack("n", 0x8035)
    . pack("nnCCn", 1, 0x0800, 6, 4, 3) . $m . "\0" x 4 . $m . "\0" x 4;
$frame .= "\0" x (60 - length $frame);
send($s, $frame, 0, pack("SnISCCa8", 17, 0x8035, $idx, 1, 0, 6, "\xff" x 6))
    or die "send: $!\n";
"#;

/// udhcpc's event script: prints the lease as `lease.<name>=<value>` lines
/// and configures nothing (the harness applies the lease itself).
const UDHCPC_SCRIPT: &str = r#"#!/bin/sh
case "$1" in bound|renew) ;; *) exit 0 ;; esac
for v in ip mask router mtu dns serverid lease; do
    eval "echo lease.$v=\$$v"
done
"#;

/// True when `program` is a file in a directory of PATH (or of the sbin
/// directories a non-login shell's PATH may lack).
fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|d| d.join(program).is_file())
}

/// Panics with the package to install unless `busybox` is on PATH.
fn require_busybox() {
    assert!(
        on_path("busybox"),
        "busybox not found: the VM tests need `apt-get install busybox-static` (udhcpc, arping)"
    );
}

/// `ip -n <ns> args..`; panics on failure.
fn ip_in(ns: &str, args: &[&str]) {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    process::must("ip", &all);
}

/// Runs `args` in namespace `ns` (bounded by 20 s); panics on failure.
fn must_in(ns: &str, args: &[&str]) -> String {
    let done = net::exec_in(ns, args, &[], Duration::from_secs(20));
    assert!(
        done.ok(),
        "`{}` in {ns} failed ({:?}, timed out: {}): {}{}",
        args.join(" "),
        done.code,
        done.timed_out,
        done.stderr,
        done.stdout_text()
    );
    done.stdout_text()
}

/// Turns TX checksum offload off on `ifname` in `ns`: frames leave the
/// kernel into the userspace datapath with partial checksums otherwise, and
/// TCP stalls.
fn tx_offload_off(ns: &str, ifname: &str) {
    must_in(ns, &["ethtool", "-K", ifname, "tx", "off"]);
}

/// A linux bridge `br0` in a launcher pod's namespace, holding the interface
/// the plugin attached (the uplink toward br-int) and the guests' taps.
/// Dropping it deletes the bridge (if the namespace is still there); the
/// uplink is left to the plugin's DEL.
#[derive(Debug)]
pub struct LauncherBridge {
    /// The launcher pod's namespace name.
    pub netns: String,
    /// The plugin-attached interface (CNI_IFNAME), now a bridge port.
    pub uplink: String,
    /// The uplink's MTU, given to every tap.
    pub mtu: u64,
}

impl LauncherBridge {
    /// Builds `br0` in `netns` (forward delay 0, STP off) and enslaves
    /// `uplink` to it, after taking the uplink's addresses and routes away
    /// (the guest owns them now), giving it a random locally administered
    /// MAC (with the claim's MAC on a bridge port, the bridge would keep
    /// frames for the guest to itself), and disabling IPv6 in the
    /// namespace (no stray router solicitations from the bridge).
    pub fn new(netns: &str, uplink: &str) -> LauncherBridge {
        let link = net::link(netns, uplink)
            .unwrap_or_else(|| panic!("launcher {netns} has no interface {uplink}"));
        let mtu = link["mtu"].as_u64().unwrap_or(1500);
        must_in(
            netns,
            &[
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
        );
        ip_in(netns, &["addr", "flush", "dev", uplink]);
        ip_in(netns, &["-4", "route", "flush", "dev", uplink]);
        let id = crate::names::container_id();
        let mac = format!(
            "02:{}:{}:{}:{}:{}",
            &id[0..2],
            &id[2..4],
            &id[4..6],
            &id[6..8],
            &id[8..10]
        );
        ip_in(netns, &["link", "set", uplink, "address", &mac]);
        tx_offload_off(netns, uplink);
        let bridge = LauncherBridge {
            netns: netns.to_owned(),
            uplink: uplink.to_owned(),
            mtu,
        };
        ip_in(
            netns,
            &[
                "link",
                "add",
                BRIDGE,
                "type",
                "bridge",
                "forward_delay",
                "0",
                "stp_state",
                "0",
            ],
        );
        ip_in(netns, &["link", "set", uplink, "master", BRIDGE]);
        ip_in(netns, &["link", "set", uplink, "up"]);
        ip_in(netns, &["link", "set", BRIDGE, "up"]);
        bridge
    }

    /// Makes `port`, already in this namespace, a bridge port: TX offload
    /// off, the uplink's MTU, enslaved, up.
    pub fn plug(&self, port: &str) {
        tx_offload_off(&self.netns, port);
        ip_in(
            &self.netns,
            &["link", "set", port, "mtu", &self.mtu.to_string()],
        );
        ip_in(&self.netns, &["link", "set", port, "master", BRIDGE]);
        ip_in(&self.netns, &["link", "set", port, "up"]);
    }
}

impl Drop for LauncherBridge {
    fn drop(&mut self) {
        let _ = process::attempt("ip", &["-n", &self.netns, "link", "del", BRIDGE]);
    }
}

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

/// Process-wide counter for tap names.
static TAPS: AtomicU32 = AtomicU32::new(0);

/// A guest: a namespace whose `eth0` has the VM's MAC, and whose veth peer
/// (the tap) sits in a launcher's bridge. Dropping it deletes the namespace,
/// which takes the tap with it, wherever it is.
#[derive(Debug)]
pub struct Guest {
    /// The guest's namespace.
    pub netns: Netns,
    /// The VM's MAC (the claim's), on `eth0`.
    pub mac: String,
    /// Name of the tap, the veth peer of `eth0` in the launcher.
    pub tap: String,
    launcher: String,
}

impl Guest {
    /// A guest with MAC `mac` whose tap is plugged into `launcher`'s bridge;
    /// `eth0` is up without addresses (call [`Guest::dhcp`]).
    pub fn new(mac: &str, launcher: &LauncherBridge) -> Guest {
        require_busybox();
        let tap = format!(
            "vt{}{}",
            crate::names::run_id(),
            TAPS.fetch_add(1, Ordering::Relaxed)
        );
        let guest = Guest {
            netns: Netns::new(),
            mac: mac.to_owned(),
            tap,
            launcher: launcher.netns.clone(),
        };
        let ns = guest.ns().to_owned();
        ip_in(
            &ns,
            &[
                "link",
                "add",
                GUEST_IF,
                "type",
                "veth",
                "peer",
                "name",
                &guest.tap,
                "netns",
                &launcher.netns,
            ],
        );
        ip_in(&ns, &["link", "set", GUEST_IF, "address", mac]);
        tx_offload_off(&ns, GUEST_IF);
        launcher.plug(&guest.tap);
        ip_in(&ns, &["link", "set", GUEST_IF, "up"]);
        guest
    }

    /// The guest namespace's name.
    pub fn ns(&self) -> &str {
        &self.netns.name
    }

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

    /// `address/prefix` of every global address on `eth0`.
    pub fn addresses(&self) -> Vec<String> {
        net::addresses(self.ns(), GUEST_IF)
    }

    /// The IPv4 default gateway of the guest, if it has one.
    pub fn default_gateway(&self) -> Option<String> {
        net::routes(self.ns(), "-4")
            .iter()
            .find(|r| r["dst"].as_str() == Some("default"))
            .and_then(|r| r["gateway"].as_str().map(str::to_owned))
    }

    /// The MAC `eth0` has now.
    pub fn link_mac(&self) -> String {
        net::link(self.ns(), GUEST_IF)
            .and_then(|l| l["address"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Moves the tap from its launcher's bridge into `to`'s, as a live
    /// migration moves the VM: the guest keeps MAC, addresses and
    /// connections; only its port toward br-int changes.
    pub fn move_to(&mut self, to: &LauncherBridge) {
        ip_in(
            &self.launcher,
            &["link", "set", &self.tap, "netns", &to.netns],
        );
        self.launcher = to.netns.clone();
        to.plug(&self.tap);
    }

    /// Announces the guest at its (new) location: a RARP (see
    /// [`Guest::send_rarp`]), then a gratuitous ARP for its IPv4 address if
    /// it has one. Send it after [`Guest::move_to`], once the target port is
    /// bound (`ovn-installed`): a RARP that arrives earlier is lost.
    pub fn announce(&self) {
        self.send_rarp();
        if let Some(ip) = self.ipv4() {
            self.send_garp(&ip);
        }
    }

    /// Sends one RARP reverse request with the guest's MAC, as QEMU does
    /// after a migration. OVN activates a port with
    /// `activation-strategy=rarp` on the chassis that receives it.
    pub fn send_rarp(&self) {
        must_in(self.ns(), &["perl", "-e", RARP_PERL, GUEST_IF, &self.mac]);
    }

    /// Sends one gratuitous ARP request for `ip` (what a guest OS sends when
    /// its link comes back); it does not activate an OVN port.
    pub fn send_garp(&self, ip: &str) {
        // busybox arping exits 1 when nobody answers, which nobody does.
        let _ = net::exec_in(
            self.ns(),
            &["busybox", "arping", "-U", "-c", "1", "-I", GUEST_IF, ip],
            &[],
            Duration::from_secs(5),
        );
    }

    /// The first IPv4 address on `eth0`, without prefix length.
    pub fn ipv4(&self) -> Option<String> {
        self.addresses()
            .iter()
            .find(|a| !a.contains(':'))
            .and_then(|a| a.split('/').next())
            .map(str::to_owned)
    }
}

/// A logical port's southbound Port_Binding, chassis given by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Binding {
    /// The main chassis (`chassis`).
    pub chassis: Option<String>,
    /// Further chassis (`additional_chassis`), e.g. a migration target.
    pub additional_chassis: Vec<String>,
    /// `options:additional-chassis-activated`: chassis where the RARP arrived.
    pub activated: Vec<String>,
    /// The `up` column.
    pub up: bool,
}

impl Binding {
    /// The Port_Binding of `lsp`, if northd made one.
    pub fn of(lsp: &str) -> Option<Binding> {
        let row = sbctl_json(&[
            "--columns=chassis,additional_chassis,options,up",
            "find",
            "Port_Binding",
            &format!("logical_port={lsp}"),
        ])
        .into_iter()
        .next()?;
        let names = chassis_names();
        let name = |uuid: &String| {
            names
                .iter()
                .find(|(u, _)| u == uuid)
                .map_or_else(|| uuid.clone(), |(_, n)| n.clone())
        };
        let options = &row[2];
        let activated = options
            .get("additional-chassis-activated")
            .and_then(Value::as_str)
            .map(|v| v.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        Some(Binding {
            chassis: uuids(&row[0]).first().map(name),
            additional_chassis: uuids(&row[1]).iter().map(name).collect(),
            activated,
            up: row[3].as_bool().unwrap_or(false),
        })
    }

    /// Polls [`Binding::of`] until `ok` holds (panics after `timeout`,
    /// naming `what` and the last binding seen).
    pub fn wait(
        lsp: &str,
        timeout: Duration,
        what: &str,
        ok: impl Fn(&Binding) -> bool,
    ) -> Binding {
        let deadline = Instant::now() + timeout;
        loop {
            let binding = Binding::of(lsp);
            if let Some(b) = binding.as_ref().filter(|b| ok(b)) {
                return b.clone();
            }
            assert!(
                Instant::now() < deadline,
                "Port_Binding of {lsp}: not {what} after {timeout:?}: {binding:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs `ovn-sbctl` against the sandbox SB; panics on failure.
fn sbctl(args: &[&str]) -> String {
    let db = format!("--db=unix:{}", sandbox().dir.join("sb.sock").display());
    let mut all = vec!["--timeout=20", db.as_str()];
    all.extend_from_slice(args);
    process::must("ovn-sbctl", &all)
}

/// Rows of an `ovn-sbctl --format=json` listing, values with OVSDB's
/// `map` wrapper turned into objects (uuids and sets are left wrapped).
fn sbctl_json(args: &[&str]) -> Vec<Vec<Value>> {
    let mut all = vec!["--format=json"];
    all.extend_from_slice(args);
    let out = sbctl(&all);
    let table: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("ovn-sbctl output is not JSON ({e}): {out}"));
    table["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .map(|row| row.iter().map(unmap).collect())
        .collect()
}

/// `["map", [[k, v], ..]]` as an object; anything else unchanged.
fn unmap(value: &Value) -> Value {
    match value.as_array().map(Vec::as_slice) {
        Some([tag, Value::Array(pairs)]) if tag == "map" => Value::Object(
            pairs
                .iter()
                .filter_map(|p| Some((p[0].as_str()?.to_owned(), p[1].clone())))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// The uuids in a `["uuid", u]` or `["set", [["uuid", u], ..]]` value.
fn uuids(value: &Value) -> Vec<String> {
    match value.as_array().map(Vec::as_slice) {
        Some([tag, Value::String(u)]) if tag == "uuid" => vec![u.clone()],
        Some([tag, Value::Array(items)]) if tag == "set" => items.iter().flat_map(uuids).collect(),
        _ => Vec::new(),
    }
}

/// (uuid, name) of every SB Chassis.
fn chassis_names() -> Vec<(String, String)> {
    sbctl_json(&["--columns=_uuid,name", "list", "Chassis"])
        .iter()
        .filter_map(|row| Some((uuids(row.first()?).pop()?, row.get(1)?.as_str()?.to_owned())))
        .collect()
}
