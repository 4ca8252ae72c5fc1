//! Spec versions this plugin speaks and the verbs each allows.

use crate::error::PluginError;

/// Versions listed by VERSION, oldest first.
pub const SUPPORTED_VERSIONS: [&str; 5] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/// The version used when a config names none we can read.
pub const LATEST: &str = "1.1.0";

/// Checks that `version` is supported and new enough for `verb` (CHECK needs
/// 0.4.0, STATUS and GC 1.1.0), as libcni's skel does.
pub fn require(version: &str, verb: &str) -> Result<(), PluginError> {
    if !SUPPORTED_VERSIONS.contains(&version) {
        return Err(PluginError::IncompatibleVersion(format!(
            "unsupported cniVersion {version:?}: this plugin supports {}",
            SUPPORTED_VERSIONS.join(", ")
        )));
    }
    let minimum = match verb {
        "CHECK" => "0.4.0",
        "STATUS" | "GC" => "1.1.0",
        _ => return Ok(()),
    };
    if parse(version) < parse(minimum) {
        return Err(PluginError::IncompatibleVersion(format!(
            "cniVersion {version} does not allow {verb} (needs {minimum} or later)"
        )));
    }
    Ok(())
}

/// Whether results at this version carry `ips[].version` (before 1.0.0).
pub fn has_ip_version_field(version: &str) -> bool {
    parse(version) < parse("1.0.0")
}

/// Whether results at this version may carry `interfaces[].mtu` (1.1.0).
pub fn has_interface_mtu(version: &str) -> bool {
    parse(version) >= parse("1.1.0")
}

fn parse(version: &str) -> (u32, u32, u32) {
    let mut parts = version.split('.').map(|p| p.parse().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_need_their_minimum_version() {
        assert!(require("0.3.1", "ADD").is_ok());
        assert!(require("0.3.1", "CHECK").is_err());
        assert!(require("0.4.0", "CHECK").is_ok());
        assert!(require("1.0.0", "GC").is_err());
        assert!(require("1.1.0", "STATUS").is_ok());
        let err = require("0.2.0", "ADD").expect_err("too old");
        assert_eq!(err.code(), 1);
        assert!(err.to_string().contains("cniVersion"));
    }

    #[test]
    fn result_shape_follows_version() {
        assert!(has_ip_version_field("0.4.0"));
        assert!(!has_ip_version_field("1.0.0"));
        assert!(!has_interface_mtu("1.0.0"));
        assert!(has_interface_mtu("1.1.0"));
    }
}
