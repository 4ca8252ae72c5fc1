//! The sandbox's "physical" network, for localnet tests. `scripts/ovn-sandbox`
//! maps [`PHYSNET`] to a bridge on every chassis, trunked to a top-of-rack
//! OVS switch where three external hosts sit: [`EXT`] on the native VLAN,
//! [`EXT100`] and [`EXT200`] on access VLANs 100 and 200. The last two share
//! one subnet, so only the VLAN decides which one a localnet pod reaches.
//! Keep this file in step with `EXT_HOSTS` there.

/// The key of every chassis' `ovn-bridge-mappings`: a localnet network's
/// `physicalNetworkName`.
pub const PHYSNET: &str = "physnet";

/// A host on the physical network: a plain namespace made by the sandbox,
/// with TX checksum offload off so TCP to and from it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtHost {
    /// The namespace name after the sandbox's prefix.
    pub name: &'static str,
    /// IPv4 address, without prefix length.
    pub ipv4: &'static str,
    /// IPv6 address, without prefix length.
    pub ipv6: &'static str,
}

/// The host on the native (untagged) VLAN: 172.20.0.200/16, fd20::200/64.
pub const EXT: ExtHost = ExtHost {
    name: "ext",
    ipv4: "172.20.0.200",
    ipv6: "fd20::200",
};

/// The host on VLAN 100: 172.21.0.100/16, fd21::100/64.
pub const EXT100: ExtHost = ExtHost {
    name: "ext100",
    ipv4: "172.21.0.100",
    ipv6: "fd21::100",
};

/// The host on VLAN 200: 172.21.0.200/16, fd21::200/64, the subnets of
/// [`EXT100`].
pub const EXT200: ExtHost = ExtHost {
    name: "ext200",
    ipv4: "172.21.0.200",
    ipv6: "fd21::200",
};

impl ExtHost {
    /// Its network namespace: the sandbox's `OVN_SANDBOX_NS_PREFIX`
    /// (default `udn-`) and its name.
    pub fn netns(&self) -> String {
        format!("{}{}", crate::sandbox::ns_prefix(), self.name)
    }
}
