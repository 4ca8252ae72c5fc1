//! What the real-runtime tests (podman, containerd's `ctr`, Go libcni)
//! share: a private CNI plugin directory whose `ovn-udn-cni` finds one
//! chassis' node config, a network config list, and a busybox root
//! filesystem for containers.

use std::path::Path;

use serde_json::{Value, json};

use crate::network::Network;
use crate::sandbox::sandbox;
use crate::temp::TempPath;

/// The applets the test containers run (`ip`, `ping` and a long `sleep`).
const APPLETS: &[&str] = &["sh", "ip", "ping", "sleep", "cat"];

/// Writes the plugin a runtime executes as `ovn-udn-cni` into `dir`: a
/// wrapper that names chassis `node`'s node config and execs the binary
/// under test. A runtime runs its cleanup (DEL) from processes of its own
/// (podman's `container cleanup`), so the node config must come from the
/// plugin directory, not from the test's environment. Every call is also
/// logged to `calls_log` as `<CNI_COMMAND> netns=[<CNI_NETNS>]
/// id=<CNI_CONTAINERID>`, so tests can tell which verbs the runtime sent.
pub fn write_plugin(dir: &Path, node: usize, calls_log: &Path) {
    let sb = sandbox();
    let wrapper = format!(
        "#!/bin/sh\n\
         echo \"$CNI_COMMAND netns=[$CNI_NETNS] id=$CNI_CONTAINERID\" >> '{log}'\n\
         OVN_UDN_CNI_NODE_CONFIG='{config}' exec '{bin}' \"$@\"\n",
        log = calls_log.display(),
        config = sb.node_config(node).display(),
        bin = sb.bin.display(),
    );
    std::fs::create_dir_all(dir).expect("plugin dir");
    let path = dir.join("ovn-udn-cni");
    std::fs::write(&path, wrapper).expect("plugin wrapper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// The lines of a calls log written by [`write_plugin`]'s wrapper.
pub fn logged_calls(calls_log: &Path) -> Vec<String> {
    std::fs::read_to_string(calls_log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A network config list (`cniVersion` 1.0.0: the newest the Debian
/// runtimes' libcni 1.1 knows) holding `net`'s config as its one plugin,
/// with `extra` keys (e.g. `capabilities`, `args`) added to it.
pub fn conflist(net: &Network, extra: &[(&str, Value)]) -> Value {
    let mut plugin = net.conf.clone();
    let object = plugin.as_object_mut().expect("config is an object");
    object.remove("cniVersion");
    object.remove("name");
    for (key, value) in extra {
        object.insert((*key).to_owned(), value.clone());
    }
    json!({ "cniVersion": "1.0.0", "name": net.name, "plugins": [plugin] })
}

/// Writes `conflist` as `<dir>/10-udn.conflist`.
pub fn write_conflist(dir: &Path, conflist: &Value) {
    std::fs::create_dir_all(dir).expect("network config dir");
    std::fs::write(dir.join("10-udn.conflist"), conflist.to_string()).expect("conflist");
}

/// A root filesystem at `dir`: Debian's static busybox and the applets the
/// tests use (the busybox-static package, no image registry needed).
pub fn busybox_rootfs(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("rootfs bin");
    std::fs::copy("/bin/busybox", bin.join("busybox"))
        .expect("copy /bin/busybox (package busybox-static)");
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("applet link");
    }
}

/// The IPv4 `address/prefix` and the MAC in `ip addr show dev eth0`
/// output (busybox's or iproute2's).
pub fn parse_eth0(text: &str) -> (Option<String>, Option<String>) {
    let field_after = |key: &str| {
        let mut words = text.split_whitespace();
        words.find(|w| *w == key)?;
        words.next().map(str::to_owned)
    };
    (field_after("inet"), field_after("link/ether"))
}

/// Lazily unmounts whatever is still mounted under `dir` (deepest first), so
/// removing a runtime's private directories after a failure never reaches
/// into a mount that a crashed runtime left.
pub fn unmount_under(dir: &TempPath) {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return;
    };
    let prefix = dir.text();
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for point in points {
        let _ = crate::process::attempt("umount", &["-l", point]);
    }
}
