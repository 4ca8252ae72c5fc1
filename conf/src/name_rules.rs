//! Which names the plugin accepts, by the rules of whoever defines them: the
//! CNI spec (network names, container ids), Kubernetes (namespaces, object
//! names, UIDs) and the Linux kernel (interface names). Every name ends up in
//! OVN row names, external_ids or netlink requests, so nothing else gets in.
//! Each check returns why a name is refused, for the caller to attach to
//! the field it came from.

/// Longest network name: a cluster UDN's generated name is a prefix plus a
/// Kubernetes object name (253).
pub const MAX_NETWORK_NAME: usize = 320;
/// Longest container id (a runtime's id is 64 hex digits; `ctr` allows 76).
pub const MAX_CONTAINER_ID: usize = 128;
/// Longest interface name: IFNAMSIZ - 1.
pub const MAX_IFNAME: usize = 15;

/// A CNI network name: `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$` (SPEC.md), bounded.
pub fn network_name(name: &str) -> Result<(), String> {
    cni_identifier(name, MAX_NETWORK_NAME)
}

/// A CNI container id: the same characters as a network name (libcni's
/// `ValidateContainerID`), bounded.
pub fn container_id(id: &str) -> Result<(), String> {
    cni_identifier(id, MAX_CONTAINER_ID)
}

fn cni_identifier(text: &str, max: usize) -> Result<(), String> {
    too_long(text, max)?;
    let mut chars = text.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        return Err(
            "has characters other than letters, digits, '_', '.' and '-', \
                    or does not start with a letter or digit"
                .into(),
        );
    }
    Ok(())
}

/// A Linux interface name the kernel takes literally: its own rules
/// (`dev_valid_name`: 1-15 bytes, not `.` or `..`, no `/`, `:` or
/// whitespace), no `%` (the kernel would treat it as a template and pick a
/// name itself), printable ASCII only, and not `all` or `default`, which
/// are the per-namespace sysctl directories, not interfaces.
pub fn interface_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    too_long(name, MAX_IFNAME)?;
    if matches!(name, "." | ".." | "all" | "default") {
        return Err("is reserved".into());
    }
    if !name.chars().all(|c| c.is_ascii_graphic()) {
        return Err("has characters other than printable ASCII".into());
    }
    if let Some(c) = name.chars().find(|c| matches!(c, '/' | ':' | '%')) {
        return Err(format!("contains {c:?}"));
    }
    Ok(())
}

/// A Kubernetes namespace (and any DNS-1123 label): at most 63 lowercase
/// letters, digits and '-', starting and ending with a letter or digit.
pub fn dns_label(name: &str) -> Result<(), String> {
    too_long(name, 63)?;
    if !is_label(name) {
        return Err(
            "is not a DNS-1123 label (lowercase letters, digits and '-', \
                    starting and ending with a letter or digit)"
                .into(),
        );
    }
    Ok(())
}

/// A Kubernetes object name (pod, NetworkAttachmentDefinition, IPAM
/// claim): a DNS-1123 subdomain, at most 253 characters of labels joined
/// by '.'.
pub fn dns_subdomain(name: &str) -> Result<(), String> {
    too_long(name, 253)?;
    if !name.split('.').all(is_label) {
        return Err(
            "is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', \
                    starting and ending with a letter or digit)"
                .into(),
        );
    }
    Ok(())
}

fn is_label(part: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !part.is_empty()
        && part.starts_with(ok)
        && part.ends_with(ok)
        && part.chars().all(|c| ok(c) || c == '-')
}

/// `<namespace>/<name>` of a NetworkAttachmentDefinition.
pub fn nad_name(text: &str) -> Result<(), String> {
    let (namespace, name) = text
        .split_once('/')
        .ok_or_else(|| "is not <namespace>/<name>".to_owned())?;
    dns_label(namespace).map_err(|why| format!("namespace {why}"))?;
    dns_subdomain(name).map_err(|why| format!("name {why}"))
}

/// A Kubernetes UID: a UUID, or the 32 hex digits of a static pod's hash.
pub fn pod_uid(uid: &str) -> Result<(), String> {
    too_long(uid, 64)?;
    if uid.is_empty() || !uid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("is not a UID (letters, digits and '-')".into());
    }
    Ok(())
}

/// A key of a chassis' `ovn-bridge-mappings` (`physnet:br-ex,...`): no ':'
/// or ',' that would split it, and the characters of a CNI name.
pub fn physical_network(name: &str) -> Result<(), String> {
    cni_identifier(name, 253)
}

fn too_long(text: &str, max: usize) -> Result<(), String> {
    if text.len() > max {
        return Err(format!("is {} bytes long, more than {max}", text.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_follow_the_kernel() {
        for good in ["eth0", "ovn-udn1", "net1", "a.b_c-d", "x"] {
            assert!(interface_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "all",
            "default",
            "eth%d",
            "a/b",
            "a:b",
            "a b",
            "a\tb",
            "a\u{1}b",
            "\u{e9}th0",
            "abcdefghijklmnop",
        ] {
            assert!(interface_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn kubernetes_names() {
        assert!(dns_label("blue-ns").is_ok());
        for bad in ["", "Blue", "-a", "a-", "a.b", "a_b", &"a".repeat(64)] {
            assert!(dns_label(bad).is_err(), "{bad:?}");
        }
        assert!(dns_subdomain("vm-a.ovn-udn1").is_ok());
        for bad in ["", "a..b", ".a", "a.", "A", &"a".repeat(254)] {
            assert!(dns_subdomain(bad).is_err(), "{bad:?}");
        }
        assert!(nad_name("blue/l2-net").is_ok());
        for bad in [
            "../..",
            "a//b",
            "a/b/c",
            "a",
            "/a",
            "a/",
            "ns/x\n",
            &"a/".repeat(150),
        ] {
            assert!(nad_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cni_names_and_ids() {
        assert!(network_name("tenant-blue_1.x").is_ok());
        for bad in [
            "",
            "-a",
            "a b",
            "a\nb",
            "a/b",
            &"n".repeat(MAX_NETWORK_NAME + 1),
        ] {
            assert!(network_name(bad).is_err(), "{bad:?}");
        }
        assert!(container_id(&"f".repeat(64)).is_ok());
        assert!(container_id(&"f".repeat(MAX_CONTAINER_ID + 1)).is_err());
        assert!(pod_uid("8b7d6c4e-1f2a-4b3c-9d8e-7f6a5b4c3d2e").is_ok());
        assert!(pod_uid("u;1").is_err());
        assert!(physical_network("physnet").is_ok());
        assert!(physical_network("a:b").is_err() && physical_network("a,b").is_err());
    }
}
