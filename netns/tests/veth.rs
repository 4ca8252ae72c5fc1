//! Root tests of deleting and listing veths without touching other links.

mod common;

use common::TempNetns;
use netns::{Error, Handle, Netns};

fn handle(ns: &TempNetns) -> Handle {
    Handle::new(&Netns::open(&ns.path()).expect("open")).expect("handle")
}

#[tokio::test]
async fn delete_veth_deletes_both_ends_and_is_idempotent() {
    let ns = TempNetns::new("delveth");
    ns.add_veth("veth3");
    let handle = handle(&ns);
    assert!(handle.delete_veth("veth3").await.expect("first delete"));
    // Deleting one end of a veth removes both.
    assert_eq!(ns.link_names(), vec!["lo".to_string()]);
    assert!(!handle.delete_veth("veth3").await.expect("second delete"));
    assert_eq!(handle.link_index("veth3").await.expect("lookup"), None);

    // Either end will do.
    ns.add_veth("veth4");
    assert!(handle.delete_veth("veth4p").await.expect("delete by peer"));
    assert_eq!(ns.link_names(), vec!["lo".to_string()]);
}

#[tokio::test]
async fn delete_veth_of_a_missing_link_deletes_nothing() {
    let ns = TempNetns::new("delmissing");
    let handle = handle(&ns);
    assert!(!handle.delete_veth("nosuch0").await.expect("missing"));
    assert_eq!(ns.link_names(), vec!["lo".to_string()]);
}

#[tokio::test]
async fn delete_veth_leaves_a_bridge_in_place() {
    let ns = TempNetns::new("delbr");
    ns.add_bridge("br3");
    let handle = handle(&ns);
    let err = handle.delete_veth("br3").await.expect_err("not a veth");
    assert!(
        matches!(
            &err,
            Error::NotAVeth { name, netns, kind }
                if name == "br3" && *netns == ns.path() && kind == "bridge"
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("br3"), "{message}");
    assert!(message.contains(&ns.name), "{message}");
    assert!(ns.link_names().contains(&"br3".to_string()));
}

#[tokio::test]
async fn delete_veth_leaves_loopback_in_place() {
    let ns = TempNetns::new("dello");
    let handle = handle(&ns);
    let err = handle.delete_veth("lo").await.expect_err("not a veth");
    assert!(
        matches!(&err, Error::NotAVeth { name, kind, .. } if name == "lo" && kind == "none"),
        "{err:?}"
    );
    assert_eq!(ns.link_names(), vec!["lo".to_string()]);
}

#[tokio::test]
async fn list_veths_with_prefix_lists_only_matching_veths() {
    let ns = TempNetns::new("list");
    // Host ends as the plugin names them: `udn` and 12 hex digits.
    ns.add_veth_with_peer("udn0123456789ab", "peer1");
    ns.add_veth_with_peer("udn0123456789cd", "peer2");
    // Matching name, wrong kind.
    ns.add_bridge("udn00000000000b");
    // Right kind, wrong name.
    ns.add_veth("other0");
    let handle = handle(&ns);

    let mut found = handle.list_veths_with_prefix("udn").await.expect("list");
    found.sort();
    assert_eq!(found, vec!["udn0123456789ab", "udn0123456789cd"]);

    let mut all = handle.list_veths_with_prefix("").await.expect("list");
    all.sort();
    assert_eq!(
        all,
        vec![
            "other0",
            "other0p",
            "peer1",
            "peer2",
            "udn0123456789ab",
            "udn0123456789cd"
        ]
    );
    assert!(
        handle
            .list_veths_with_prefix("nomatch")
            .await
            .expect("list")
            .is_empty()
    );
}
