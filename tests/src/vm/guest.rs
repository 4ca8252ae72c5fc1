//! The VM: a namespace with the claim's MAC, moved between launchers.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::{GUEST_IF, LauncherBridge, ip_in, must_in, require_busybox, tx_offload_off};
use crate::net;
use crate::pod::Netns;

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
    fn send_rarp(&self) {
        must_in(self.ns(), &["perl", "-e", RARP_PERL, GUEST_IF, &self.mac]);
    }

    /// Sends one gratuitous ARP request for `ip` (what a guest OS sends when
    /// its link comes back); it does not activate an OVN port.
    fn send_garp(&self, ip: &str) {
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
