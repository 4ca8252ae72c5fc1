//! CNI spec versions: result conversion and the VERSION command.

use e2e::{Call, Network, PodSpec};
use serde_json::json;

#[test]
fn results_follow_the_requested_version() {
    let net = Network::layer2("vers", "10.41.0.0/24");
    for (version, has_ip_version) in [
        ("0.3.0", true),
        ("0.3.1", true),
        ("0.4.0", true),
        ("1.0.0", false),
        ("1.1.0", false),
    ] {
        let pod = PodSpec::new(&net, 1)
            .conf_key("cniVersion", json!(version))
            .add();
        let r = &pod.result;
        assert_eq!(r["cniVersion"], version, "result version: {r}");
        let ips = r["ips"].as_array().expect("ips");
        assert!(!ips.is_empty(), "{version}: no ips: {r}");
        for ip in ips {
            if has_ip_version {
                assert_eq!(ip["version"], "4", "{version}: ips[].version: {r}");
            } else {
                assert!(
                    ip.get("version").is_none(),
                    "{version}: ips[].version present: {r}"
                );
            }
        }
        assert!(
            r["interfaces"].as_array().is_some_and(|i| !i.is_empty()),
            "{version}: {r}"
        );
    }
}

#[test]
fn version_command_lists_every_supported_version() {
    let reply = Call::new("VERSION", 1)
        .config(&json!({ "cniVersion": "1.1.0" }))
        .run();
    let json = reply.expect_ok("VERSION");
    let supported: Vec<&str> = json["supportedVersions"]
        .as_array()
        .unwrap_or_else(|| panic!("no supportedVersions: {json}"))
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for v in ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] {
        assert!(supported.contains(&v), "{v} missing from {supported:?}");
    }
    assert!(json["cniVersion"].is_string(), "{json}");
}
