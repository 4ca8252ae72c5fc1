//! scripts/install: the installed binary, and its `ovn-k8s-cni-overlay`
//! alias, attach a pod the way a runtime resolving a NAD's `type` runs it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::{Network, PodSpec, sandbox};
use serde_json::{Value, json};

/// A directory removed on drop, also when the test fails.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn install(dir: &Path, extra: &[&str]) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(repo.join("scripts/install"))
        .args(["--cni-bin-dir", &dir.join("bin").display().to_string()])
        .args([
            "--node-config",
            &dir.join("node.json").display().to_string(),
        ])
        .args(extra)
        .env("OVN_UDN_CNI", &sandbox().bin)
        .output()
        .expect("scripts/install runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "scripts/install failed: {text}");
    text
}

#[test]
fn installed_alias_attaches_an_ovn_kubernetes_nad() {
    let sb = sandbox();
    let dir = TempDir(std::env::temp_dir().join(format!("udn-install-{}", std::process::id())));
    install(
        &dir.0,
        &[
            "--nb-address",
            &sb.nb_remote(),
            "--ovs-address",
            &sb.ovs_remote(1),
            "--chassis",
            &sb.chassis(1),
        ],
    );

    let binary = dir.0.join("bin/ovn-udn-cni");
    let mode = std::fs::metadata(&binary)
        .expect("binary installed")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "installed binary is executable");
    let alias = dir.0.join("bin/ovn-k8s-cni-overlay");
    assert_eq!(
        std::fs::read_link(&alias).expect("alias is a link"),
        Path::new("ovn-udn-cni")
    );
    let node: Value = serde_json::from_slice(
        &std::fs::read(dir.0.join("node.json")).expect("node config written"),
    )
    .expect("node config is JSON");
    assert_eq!(
        node,
        json!({"nbAddress": sb.nb_remote(), "ovsAddress": sb.ovs_remote(1), "chassis": "node1"})
    );

    // An ovn-kubernetes NAD names the plugin by its own type.
    let mut net = Network::layer2("install", "10.77.0.0/24");
    net.conf["type"] = json!("ovn-k8s-cni-overlay");
    let spec = PodSpec::new(&net, 1);
    let node_config = dir.0.join("node.json").display().to_string();
    let via_alias = |command: &str| {
        spec.call(command)
            .binary(&alias)
            .var("OVN_UDN_CNI_NODE_CONFIG", Some(&node_config))
            .run()
    };
    let result = via_alias("ADD").expect_ok("ADD through the installed alias");
    assert_eq!(
        result["ips"][0]["address"], "10.77.0.2/24",
        "first address after the gateway"
    );
    assert_eq!(net.lsp_names().len(), 1, "the logical port exists");
    via_alias("DEL").expect_ok("DEL through the installed alias");
    assert!(net.lsp_names().is_empty(), "DEL removed the logical port");

    // Reinstalling upgrades the binary but keeps the operator's node config.
    std::fs::write(dir.0.join("node.json"), "{\"bridge\":\"br-custom\"}\n")
        .expect("edit node config");
    let text = install(&dir.0, &["--bridge", "br-other"]);
    assert!(text.contains("kept"), "{text}");
    assert_eq!(
        std::fs::read_to_string(dir.0.join("node.json")).expect("node config"),
        "{\"bridge\":\"br-custom\"}\n"
    );
}
