//! The VM: a namespace with the claim's MAC, moved between launchers.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{GUEST_IF, LauncherBridge, ip_in, ip_now, must_in, require_busybox, tx_offload_off};
use crate::net;
use crate::pod::Netns;

/// QEMU's announcement after a migration (`announce_self`, QEMU >= 4.0
/// defaults: announce-rounds=5, announce-initial=50 ms, announce-step=100 ms,
/// announce-max=550 ms): a RARP as soon as the VM resumes, then four more,
/// 50, 150, 250 and 350 ms apart (at 0, 50, 200, 450 and 800 ms).
pub const QEMU_ANNOUNCE_INTERVALS: [Duration; 4] = [
    Duration::from_millis(50),
    Duration::from_millis(150),
    Duration::from_millis(250),
    Duration::from_millis(350),
];

/// The guest's announcement, run as `perl -e ANNOUNCE_PERL <if> <mac> <ip|->
/// <ms>..`: a RARP "reverse request" for the guest's MAC (the frame QEMU's
/// `announce_self` sends: broadcast, ethertype 0x8035, sender and target
/// hardware address the guest's, protocol addresses 0), then a gratuitous
/// ARP request for `ip` unless it is `-` (what a virtio guest sends on
/// QEMU's request), then one more RARP after each pause of `ms`
/// milliseconds. It opens its socket first, prints `armed`, and waits for a
/// line on stdin before sending, so that it can be started before the tap
/// moves and sends as soon as it is told. Prints a line (`rarp` or `garp`,
/// and the time, when perl has Time::HiRes) after each frame is sent. Perl
/// because `perl-base` is on every Debian system and can open an
/// AF_PACKET socket.
const ANNOUNCE_PERL: &str = r#"
my ($if, $mac, $ip, @pauses) = @ARGV;
$| = 1;
my $hires = eval { require Time::HiRes; 1 };
sub stamp { $hires ? sprintf(" %.6f", Time::HiRes::time()) : "" }
my $m = pack("H12", join("", split(/:/, $mac)));
open(my $f, "<", "/sys/class/net/$if/ifindex") or die "no interface $if: $!\n";
my $idx = <$f>; chomp $idx;
socket(my $s, 17, 3, 0) or die "AF_PACKET socket: $!\n";
print "armed\n";
<STDIN>;
sub out {
    my ($type, $body) = @_;
    my $frame = "\xff" x 6 . $m . pack("n", $type) . $body;
    $frame .= "\0" x (60 - length $frame);
    send($s, $frame, 0, pack("SnISCCa8", 17, $type, $idx, 1, 0, 6, "\xff" x 6))
        or die "send: $!\n";
}
sub rarp {
    out(0x8035, pack("nnCCn", 1, 0x0800, 6, 4, 3) . $m . "\0" x 4 . $m . "\0" x 4);
    print "rarp", stamp(), "\n";
}
rarp();
if ($ip ne "-") {
    my $a = pack("C4", split(/\./, $ip));
    out(0x0806, pack("nnCCn", 1, 0x0800, 6, 4, 1) . $m . $a . "\0" x 6 . $a);
    print "garp", stamp(), "\n";
}
for my $ms (@pauses) {
    select(undef, undef, undef, $ms / 1000);
    rarp();
}
"#;

/// A VM's NIC keeps its link through a migration; `eth0` here loses its
/// carrier while the tap moves (a veth goes down with its peer), and the
/// kernel would flush the guest's ARP and neighbour caches with it. The
/// guest's first frame after the move would then wait for an ARP request,
/// and one sent before the target port is activated is dropped, its retry
/// a second later: a stall of more than a second that no VM sees. Keeps the
/// caches, where the kernel has the switch (Linux >= 5.18).
fn keep_neighbours_without_carrier(ns: &str) {
    let knobs = [
        ("ipv4", "arp_evict_nocarrier"),
        ("ipv6", "ndisc_evict_nocarrier"),
    ];
    for (family, knob) in knobs {
        if std::path::Path::new(&format!("/proc/sys/net/{family}/conf/all/{knob}")).exists() {
            must_in(
                ns,
                &[
                    "sysctl",
                    "-qw",
                    &format!("net.{family}.conf.{GUEST_IF}.{knob}=0"),
                ],
            );
        }
    }
}

/// Process-wide counter for tap names.
static TAPS: AtomicU32 = AtomicU32::new(0);

/// One frame of an announcement: `rarp` or `garp`, and when it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    /// `rarp` or `garp`.
    pub frame: String,
    /// When the sender reported it sent (wall clock, to compare with logs).
    pub at: SystemTime,
}

/// An announcement armed or being sent (the later RARPs of QEMU's
/// schedule): the perl process and the thread timestamping its lines.
#[derive(Debug)]
struct Announcer {
    child: Child,
    sent: Arc<Mutex<Vec<Announced>>>,
    reader: Option<JoinHandle<()>>,
    lines: mpsc::Receiver<()>,
    /// Lines to wait for once triggered: `rarp`, and `garp` with an IPv4.
    first: usize,
    triggered: bool,
}

impl Announcer {
    /// Starts the sender in `ns` and waits until it is armed.
    fn arm(ns: &str, mac: &str, ip: Option<String>, intervals: &[Duration]) -> Announcer {
        let ip = ip.unwrap_or_else(|| "-".to_owned());
        let pauses: Vec<String> = intervals
            .iter()
            .map(|d| format!("{:.3}", d.as_secs_f64() * 1000.0))
            .collect();
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "perl", "-e", ANNOUNCE_PERL])
            .args([GUEST_IF, mac, ip.as_str()])
            .args(&pauses)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the announcement in {ns}: {e}"));
        let out = child.stdout.take().expect("stdout was piped");
        let sent = Arc::new(Mutex::new(Vec::new()));
        let (tx, lines) = mpsc::channel();
        let reader = {
            let sent = sent.clone();
            thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    let mut words = line.split_whitespace();
                    let frame = words.next().unwrap_or_default().to_owned();
                    // The sender's own time when it has one: this thread
                    // may run a few milliseconds later.
                    let at = words
                        .next()
                        .and_then(|t| t.parse::<f64>().ok())
                        .and_then(|t| Duration::try_from_secs_f64(t).ok())
                        .map_or_else(SystemTime::now, |t| UNIX_EPOCH + t);
                    if frame != "armed" {
                        sent.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(Announced { frame, at });
                    }
                    let _ = tx.send(());
                }
            })
        };
        let mut announcer = Announcer {
            child,
            sent,
            reader: Some(reader),
            lines,
            first: if ip == "-" { 1 } else { 2 },
            triggered: false,
        };
        announcer.expect_lines(1, ns);
        announcer
    }

    /// Sends the first frames and waits until they are out.
    fn trigger(&mut self, ns: &str) {
        if self.triggered {
            return;
        }
        self.triggered = true;
        let go = self
            .child
            .stdin
            .as_mut()
            .map(|stdin| stdin.write_all(b"go\n").and_then(|()| stdin.flush()));
        if !matches!(go, Some(Ok(()))) {
            self.fail(ns);
        }
        self.expect_lines(self.first, ns);
    }

    fn expect_lines(&mut self, count: usize, ns: &str) {
        for _ in 0..count {
            if self.lines.recv_timeout(Duration::from_secs(20)).is_err() {
                self.fail(ns);
            }
        }
    }

    fn fail(&mut self, ns: &str) -> ! {
        let _ = self.child.kill();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        panic!("the guest's announcement in {ns} failed: {err}");
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// A guest: a namespace whose `eth0` has the VM's MAC, and whose veth peer
/// (the tap) sits in a launcher's bridge. Dropping it deletes the namespace,
/// which takes the tap with it, wherever it is.
#[derive(Debug)]
pub struct Guest {
    /// The guest's announcement in progress, if any; declared first so that
    /// it is stopped before the namespace goes.
    announcer: Option<Announcer>,
    /// The guest's namespace.
    pub netns: Netns,
    /// The VM's MAC (the claim's), on `eth0`.
    pub mac: String,
    /// Name of the tap, the veth peer of `eth0` in the launcher.
    pub tap: String,
    launcher: String,
    mtu: Option<u64>,
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
            announcer: None,
            netns: Netns::new(),
            mac: mac.to_owned(),
            tap,
            launcher: launcher.netns.clone(),
            mtu: Some(launcher.mtu),
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
        keep_neighbours_without_carrier(&ns);
        launcher.plug(&guest.tap);
        ip_in(&ns, &["link", "set", GUEST_IF, "up"]);
        guest
    }

    /// The guest namespace's name.
    pub fn ns(&self) -> &str {
        &self.netns.name
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
    /// connections; only its port toward br-int changes. The move takes two
    /// `ip` commands, a few milliseconds: the tap keeps its TX offload
    /// setting across namespaces, and is enslaved and brought up (with
    /// `to`'s MTU if that differs) in one go. The guest's announcement (see
    /// [`Guest::announce`]) is made ready first, so that it goes out as
    /// soon as it is asked for.
    pub fn move_to(&mut self, to: &LauncherBridge) {
        self.move_with_downtime(to, Duration::ZERO);
    }

    /// [`Guest::move_to`] with the tap out of any bridge for `downtime`
    /// first, like a VM paused for its migration's final copy: from the
    /// source's stop to the target's resume, nothing reaches the guest.
    pub fn move_with_downtime(&mut self, to: &LauncherBridge, downtime: Duration) {
        if self.announcer.as_ref().is_none_or(|a| a.triggered) {
            self.prepare_announce(&QEMU_ANNOUNCE_INTERVALS);
        }
        ip_now(
            &self.launcher,
            &["link", "set", &self.tap, "netns", &to.netns],
        );
        self.launcher = to.netns.clone();
        thread::sleep(downtime);
        if self.mtu == Some(to.mtu) {
            to.enslave(&self.tap, None);
        } else {
            to.enslave(&self.tap, Some(to.mtu));
            self.mtu = Some(to.mtu);
        }
    }

    /// Announces the guest at its (new) location as QEMU does when a
    /// migrated VM resumes: a RARP, a gratuitous ARP for its IPv4 address if
    /// it has one, and four more RARPs over the next 800 ms (see
    /// [`QEMU_ANNOUNCE_INTERVALS`]). Returns once the first RARP and the
    /// gratuitous ARP are out; the later RARPs go out in the background.
    /// OVN activates a port with `activation-strategy=rarp` on the chassis
    /// that receives a RARP; send it after [`Guest::move_to`], once the
    /// target port is bound (`ovn-installed`): a RARP that arrives earlier
    /// is lost.
    pub fn announce(&mut self) {
        match self.announcer.as_mut() {
            Some(armed) if !armed.triggered => {
                let ns = self.netns.name.clone();
                armed.trigger(&ns);
            }
            _ => self.announce_with(&QEMU_ANNOUNCE_INTERVALS),
        }
    }

    /// [`Guest::announce`] with the RARPs after the first `intervals` apart
    /// (none: a single RARP), started now.
    pub fn announce_with(&mut self, intervals: &[Duration]) {
        self.prepare_announce(intervals);
        self.announce();
    }

    /// Makes the next [`Guest::announce`] (or the next move's) send its
    /// RARPs `intervals` apart: its sender is started now, and waits.
    pub fn prepare_announce(&mut self, intervals: &[Duration]) {
        self.announcer = None;
        self.announcer = Some(Announcer::arm(self.ns(), &self.mac, self.ipv4(), intervals));
    }

    /// The frames of the last announcement sent so far, in order.
    pub fn announced(&self) -> Vec<Announced> {
        self.announcer.as_ref().map_or_else(Vec::new, |a| {
            a.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
        })
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
