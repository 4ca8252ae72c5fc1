//! Many ADDs at once against one new network, over two chassis.

use std::collections::BTreeSet;
use std::thread;

use e2e::net::assert_ping;
use e2e::ovn;
use e2e::{Network, Pod, PodSpec};

const PODS: usize = 30;

#[test]
fn thirty_concurrent_adds_make_one_switch_and_distinct_reachable_pods() {
    let net = Network::layer2("burst", "10.40.0.0/24");
    let specs: Vec<PodSpec> = (0..PODS).map(|i| PodSpec::new(&net, 1 + i % 2)).collect();
    let outcomes: Vec<_> = thread::scope(|s| {
        let handles: Vec<_> = specs
            .into_iter()
            .map(|spec| s.spawn(move || spec.try_add()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("ADD thread panicked"))
            .collect()
    });
    let mut pods = Vec::new();
    let mut failures = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(pod) => pods.push(pod),
            Err(failed) => failures.push(failed.reply.describe()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {PODS} concurrent ADDs failed; first: {}",
        failures.len(),
        failures[0]
    );

    assert_eq!(
        ovn::switches_named(&net.switch_name()).len(),
        1,
        "one switch by name"
    );
    // The network's pod switches hold its subnets (its egress switches,
    // join and links, do not).
    let pod_switches: Vec<_> = ovn::switches_of_network(&net.name)
        .into_iter()
        .filter(|ls| ovn::map_get(ls, "other_config", "subnet").is_some())
        .collect();
    assert_eq!(pod_switches.len(), 1, "one switch for the network");
    let ips: BTreeSet<String> = pods.iter().map(Pod::ip).collect();
    assert_eq!(ips.len(), PODS, "every pod has its own address");
    let macs: BTreeSet<String> = pods
        .iter()
        .map(|p| {
            p.pod_interface()["mac"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(macs.len(), PODS, "every pod has its own MAC");
    assert_eq!(net.lsp_names().len(), PODS);

    let (first, rest) = pods.split_first().expect("pods");
    for pod in rest {
        assert_ping(first.ns(), &pod.ip());
    }
    assert_ping(pods[1].ns(), &first.ip());

    // Tear down concurrently too: every LSP goes, none is left behind.
    thread::scope(|s| {
        for mut pod in pods {
            s.spawn(move || pod.del().expect_ok("concurrent DEL"));
        }
    });
    assert!(
        net.lsp_names().is_empty(),
        "LSPs left: {:?}",
        net.lsp_names()
    );
}
