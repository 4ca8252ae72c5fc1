//! Root tests of Netns, its guard, Handle and sysctls.

mod common;

use common::{TempNetns, thread_netns_inode};
use netns::{Error, Handle, Netns};

#[test]
fn current_and_path() {
    let ns = TempNetns::new("cur");
    let opened = Netns::open(&ns.path()).expect("open");
    assert_eq!(opened.path(), ns.path());
    assert!(Netns::current().is_ok());
}

#[test]
fn guard_restores_the_thread_netns() {
    let ns = TempNetns::new("guard");
    let opened = Netns::open(&ns.path()).expect("open");
    let before = thread_netns_inode();
    {
        let _guard = opened.enter().expect("enter");
        assert_ne!(thread_netns_inode(), before, "guard did not enter");
    }
    assert_eq!(thread_netns_inode(), before);
    // Also when the scope is left by a panic.
    let result = std::panic::catch_unwind(|| {
        let _guard = opened.enter().expect("enter");
        panic!("inside the namespace");
    });
    assert!(result.is_err());
    assert_eq!(thread_netns_inode(), before);
}

#[test]
fn handle_outside_a_runtime_is_an_error() {
    let ns = TempNetns::new("nort");
    let opened = Netns::open(&ns.path()).expect("open");
    let before = thread_netns_inode();
    let err = Handle::new(&opened).expect_err("no runtime");
    assert!(matches!(err, Error::NoRuntime(_)), "{err:?}");
    assert_eq!(thread_netns_inode(), before);
}

#[tokio::test]
async fn handle_works_in_its_own_namespace() {
    let ns = TempNetns::new("handle");
    ns.add_veth("dummy7");
    let before = thread_netns_inode();
    let handle = Handle::new(&Netns::open(&ns.path()).expect("open")).expect("handle");
    assert_eq!(thread_netns_inode(), before);
    assert!(handle.link_index("dummy7").await.expect("lookup").is_some());
    // Not visible from the test's own namespace.
    let own = Handle::new(&Netns::current().expect("current")).expect("own handle");
    assert!(own.link_index("dummy7").await.expect("lookup").is_none());
    assert_eq!(thread_netns_inode(), before);
}

#[test]
fn sysctl_missing_key_is_reported_as_missing() {
    let ns = TempNetns::new("sysctl");
    let opened = Netns::open(&ns.path()).expect("open");
    let err = netns::sysctl::read(&opened, &netns::sysctl::accept_dad_key("nope0"))
        .expect_err("no such interface");
    assert!(matches!(err, Error::SysctlMissing { .. }), "{err:?}");
    // Written in the namespace, not in the test's own one.
    netns::sysctl::write(&opened, "net/ipv4/ip_forward", "1").expect("write");
    assert_eq!(
        netns::sysctl::read(&opened, "net/ipv4/ip_forward").expect("read"),
        "1"
    );
    assert_eq!(
        ns.exec("cat", &["/proc/sys/net/ipv4/ip_forward"]).trim(),
        "1"
    );
}
