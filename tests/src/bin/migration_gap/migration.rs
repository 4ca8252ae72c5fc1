//! One run: the scene set up, the stream started, the target added, the
//! VM migrated, and what every observer saw gathered into a [`Run`].

use std::path::Path;
use std::thread;
use std::time::Duration;

use e2e::Pod;
use e2e::net;
use e2e::vm::{Binding, GUEST_IF, Guest, QEMU_ANNOUNCE_INTERVALS};

use crate::capture::Capture;
use crate::clock::{self, InstantToWall, Wall, now};
use crate::options::{Mode, Options};
use crate::ovn_events::{ControllerTrace, SbMonitor};
use crate::probe::{self, Probe, Sample};
use crate::run::{Run, Timeline};
use crate::scene::{BIND_TIMEOUT, Scene, Target};
use crate::traffic::Traffic;

/// One migration with `mode`'s stream; panics (and its guards clean up)
/// when a step fails.
pub fn run_once(opts: &Options, mode: Mode, index: usize) -> Run {
    let started = now();
    let mut scene = Scene::set_up(opts, index);
    let sb = SbMonitor::start();
    let sender_probe = Probe::start(scene.peer.ns(), &scene.peer.spec.ifname, None);
    let to_wall = InstantToWall::new();
    let (traffic, guest_probe) = Traffic::start(
        mode,
        opts.iperf_seconds,
        scene.guest.ns(),
        &scene.claim_ip,
        scene.peer.ns(),
    );
    let target = scene.add_target(opts);
    if !opts.old_harness {
        // Its sender starts now and waits, so that the RARP goes out as
        // soon as the tap has moved.
        scene.guest.prepare_announce(if opts.qemu_announce {
            &QEMU_ANNOUNCE_INTERVALS
        } else {
            &[]
        });
    }
    // A monitor not yet listening would miss the activation.
    while !sb.ready() {
        thread::sleep(Duration::from_millis(10));
    }
    let tcp_before = tcp_info(scene.peer.ns(), &scene.claim_ip);
    let trace = opts.trace.then(|| ControllerTrace::start(2));
    let captures = opts
        .tcpdump
        .as_ref()
        .map(|dir| start_captures(dir, mode, index, &scene, &target));

    let mut t = migrate(opts, &mut scene, &target);

    // Stop everything and gather what it saw.
    let mut run = Run::new(mode, index, started);
    traffic.finish(opts.iperf_seconds, &to_wall, &mut run);
    drop(captures);
    t.controller = trace.map(|trace| trace.stop(&scene.claim_mac));
    t.sb = Some(sb.events(&scene.lsp));
    t.announced = announced(&scene.guest);
    t.tcp_before = tcp_before;
    add_samples(&mut t, &run, guest_probe.stop(), sender_probe.stop());
    run.finish(t);
    run
}

/// The migration itself: the tap moves to the target's bridge, the guest
/// announces itself, the port is activated on node2 and the source is
/// DELed, in the order the options ask for; returns when each happened.
fn migrate(opts: &Options, scene: &mut Scene, target: &Target) -> Timeline {
    let mut t = Timeline {
        move_start: now(),
        ..Timeline::default()
    };
    move_tap(opts, scene, target);
    t.move_done = Some(now());
    if opts.del_early {
        del_source(&mut scene.source, &mut t);
    }
    if opts.old_harness {
        scene.guest.announce_with(&[]);
    } else {
        scene.guest.announce();
    }
    // Only a port with an activation strategy whose source is still bound
    // waits to be activated on node2.
    if !opts.no_activation_strategy && !opts.del_early {
        Binding::wait(&scene.lsp, BIND_TIMEOUT, "activated on node2", |b| {
            b.activated.iter().any(|c| c == "node2")
        });
        t.activated_seen = Some(now());
    }
    if !opts.del_early {
        thread::sleep(opts.del_after);
        del_source(&mut scene.source, &mut t);
    }
    Binding::wait(&scene.lsp, BIND_TIMEOUT, "bound on node2 only", |b| {
        b.chassis.as_deref() == Some("node2") && b.additional_chassis.is_empty()
    });
    t
}

/// Moves the guest's tap from the source's bridge into the target's,
/// out of any bridge for `--downtime`.
fn move_tap(opts: &Options, scene: &mut Scene, target: &Target) {
    if opts.old_harness {
        // The old harness's slower plug: the move and the plug's own
        // `ip`/`ethtool` runs, one after the other.
        let tap = scene.guest.tap.clone();
        e2e::process::must(
            "ip",
            &[
                "-n",
                &scene.source_bridge.netns,
                "link",
                "set",
                &tap,
                "netns",
                &target.bridge.netns,
            ],
        );
        thread::sleep(opts.downtime);
        target.bridge.plug(&tap);
    } else {
        scene
            .guest
            .move_with_downtime(&target.bridge, opts.downtime);
    }
}

/// DELs the source launcher, with the start and the answer in `t`.
fn del_source(source: &mut Pod, t: &mut Timeline) {
    t.del_start = Some(now());
    source.del().expect_ok("DEL of the source launcher");
    t.del_done = Some(now());
}

/// `--tcpdump`: captures of the guest's interface, the sender's and the
/// target launcher's bridge, named after the stream and the run.
fn start_captures(
    dir: &Path,
    mode: Mode,
    index: usize,
    scene: &Scene,
    target: &Target,
) -> Vec<Capture> {
    let tag = format!("{}-{index}", mode.name());
    Capture::start_all(
        dir,
        &tag,
        &[
            (scene.guest.ns(), GUEST_IF, "guest"),
            (scene.peer.ns(), &scene.peer.spec.ifname, "sender"),
            (target.pod.ns(), "br0", "target-br0"),
        ],
    )
}

/// `rto`, `rtt` and `cwnd` of the sender's connection to `ip` (`ss -ti`).
fn tcp_info(ns: &str, ip: &str) -> String {
    let filter = format!("dst {ip}");
    let out = net::exec_in(ns, &["ss", "-Htin", &filter], &[], Duration::from_secs(5));
    out.stdout_text()
        .split_whitespace()
        .filter(|w| {
            ["rto:", "rtt:", "cwnd:", "unacked:", "retrans:"]
                .iter()
                .any(|k| w.starts_with(k))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The frames the guest announced itself with, on the wall clock.
fn announced(guest: &Guest) -> Vec<(String, Wall)> {
    guest
        .announced()
        .iter()
        .map(|a| (a.frame.clone(), clock::wall(a.at)))
        .collect()
}

/// What the probes at the guest's and the sender's interfaces saw, into
/// the timeline: the paced stream's reads are its own receiver's, iperf3's
/// those the guest's probe counted.
fn add_samples(t: &mut Timeline, run: &Run, guest: Vec<Sample>, sender: Vec<Sample>) {
    t.data_arrivals = probe::data_at(&guest, |s| s.rx_bytes);
    t.app_reads = match run.mode {
        Mode::Paced => run.stream_arrivals.clone(),
        Mode::Iperf3 => probe::data_at(&guest, |s| s.app_bytes),
    };
    t.retransmits = probe::retransmits(&sender);
    t.sender_sends = probe::data_at(&sender, |s| s.tx_bytes);
}
