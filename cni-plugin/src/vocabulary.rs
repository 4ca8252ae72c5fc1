//! The contract's words in one place: database, table and column names of
//! the OVN Northbound and Open_vSwitch schemas, and the keys of the maps
//! (external_ids, options, other_config) that the contract names, as
//! ovn-kubernetes names them where it has a name, or that hold the plugin's
//! own records.

/// The NB database name.
pub const NB_DB: &str = "OVN_Northbound";
/// The local OVS database name.
pub const OVS_DB: &str = "Open_vSwitch";

/// Table names.
pub mod table {
    /// NB: a logical switch.
    pub const LOGICAL_SWITCH: &str = "Logical_Switch";
    /// NB: a logical switch port (a pod's, or the topology's own).
    pub const LOGICAL_SWITCH_PORT: &str = "Logical_Switch_Port";
    /// NB: a logical router (a layer3 network's cluster router).
    pub const LOGICAL_ROUTER: &str = "Logical_Router";
    /// NB: a logical router port.
    pub const LOGICAL_ROUTER_PORT: &str = "Logical_Router_Port";
    /// NB: a router's static route.
    pub const LOGICAL_ROUTER_STATIC_ROUTE: &str = "Logical_Router_Static_Route";
    /// NB: a router's policy (egress reroutes to the chassis' gateway).
    pub const LOGICAL_ROUTER_POLICY: &str = "Logical_Router_Policy";
    /// NB: a router's NAT rule.
    pub const NAT: &str = "NAT";
    /// NB: what OVN's DHCP server tells guests of one subnet.
    pub const DHCP_OPTIONS: &str = "DHCP_Options";
    /// OVS: the one row of node-wide settings.
    pub const OPEN_VSWITCH: &str = "Open_vSwitch";
    /// OVS: a bridge.
    pub const BRIDGE: &str = "Bridge";
    /// OVS: a port of a bridge.
    pub const PORT: &str = "Port";
    /// OVS: an interface of a port.
    pub const INTERFACE: &str = "Interface";
}

/// Column names.
pub mod column {
    /// Every row's uuid.
    pub const UUID: &str = "_uuid";
    /// Row name (unique in LSP, LRP, Port, Interface, Bridge).
    pub const NAME: &str = "name";
    /// A switch's, router's or bridge's ports.
    pub const PORTS: &str = "ports";
    /// A port's interfaces (OVS).
    pub const INTERFACES: &str = "interfaces";
    /// Free-form ids of other systems (ovn-kubernetes', ours).
    pub const EXTERNAL_IDS: &str = "external_ids";
    /// An LSP's options.
    pub const OPTIONS: &str = "options";
    /// A switch's or an OVS port's other_config.
    pub const OTHER_CONFIG: &str = "other_config";
    /// An LSP's `MAC IP...` entries: the IPAM record.
    pub const ADDRESSES: &str = "addresses";
    /// An LSP's allowed source addresses.
    pub const PORT_SECURITY: &str = "port_security";
    /// An LSP's type (`localnet`, `router`; empty for a VIF).
    pub const TYPE: &str = "type";
    /// A localnet LSP's VLAN.
    pub const TAG_REQUEST: &str = "tag_request";
    /// An LSP's IPv4 DHCP options row.
    pub const DHCPV4_OPTIONS: &str = "dhcpv4_options";
    /// An LSP's IPv6 DHCP options row.
    pub const DHCPV6_OPTIONS: &str = "dhcpv6_options";
    /// A router port's MAC.
    pub const MAC: &str = "mac";
    /// A router port's `address/prefix` list.
    pub const NETWORKS: &str = "networks";
    /// A DHCP_Options row's subnet.
    pub const CIDR: &str = "cidr";
    /// A router's static routes.
    pub const STATIC_ROUTES: &str = "static_routes";
    /// A router's policies.
    pub const POLICIES: &str = "policies";
    /// A router's NAT rules.
    pub const NAT: &str = "nat";
    /// A static route's destination.
    pub const IP_PREFIX: &str = "ip_prefix";
    /// A static route's next hop.
    pub const NEXTHOP: &str = "nexthop";
    /// A policy's next hops.
    pub const NEXTHOPS: &str = "nexthops";
    /// A policy's priority.
    pub const PRIORITY: &str = "priority";
    /// A policy's match expression.
    pub const MATCH: &str = "match";
    /// A policy's action (`reroute`).
    pub const ACTION: &str = "action";
    /// A NAT rule's inside addresses.
    pub const LOGICAL_IP: &str = "logical_ip";
    /// A NAT rule's outside address.
    pub const EXTERNAL_IP: &str = "external_ip";
    /// A bridge's datapath (`netdev` for the userspace one).
    pub const DATAPATH_TYPE: &str = "datapath_type";
}

/// external_ids keys of NB rows.
pub mod ids {
    /// The network a switch, router or port belongs to.
    pub const NETWORK: &str = "k8s.ovn.org/network";
    /// The NetworkAttachmentDefinition (`namespace/name`) of a port.
    pub const NAD: &str = "k8s.ovn.org/nad";
    /// `primary` or `secondary`.
    pub const ROLE: &str = "k8s.ovn.org/role";
    /// `layer2`, `layer3` or `localnet`.
    pub const TOPOLOGY: &str = "k8s.ovn.org/topology";
    /// The IPAM claim (`namespace/claim`) a port is reserved for.
    pub const CLAIM: &str = "k8s.ovn.org/ipam-claim";
    /// Prefix of a claimed port's per-chassis attachment keys
    /// (`k8s.ovn.org/attached.<chassis>` = `<sandbox>/<ifname>`).
    pub const ATTACHED_PREFIX: &str = "k8s.ovn.org/attached.";
    /// When an attachment last joined the port (unix seconds).
    pub const ATTACHED_AT: &str = "k8s.ovn.org/attached-at";
    /// Prefix of the keys naming the address blocks a port's addresses lie
    /// in (`k8s.ovn.org/ipam-block.10.0.4.0/26` = `true`).
    pub const BLOCK_PREFIX: &str = "k8s.ovn.org/ipam-block.";
    /// A port's addresses with their prefix lengths, comma-separated (the
    /// `addresses` column has none; a network without subnets needs them).
    pub const IP_ADDRESSES: &str = "k8s.ovn.org/ip-addresses";
    /// The container id that owns a (non-claimed) port; also on OVS.
    pub const SANDBOX: &str = "sandbox";
    /// The interface name in that container; also on OVS.
    pub const POD_IF_NAME: &str = "pod-if-name";
    /// The pod's namespace.
    pub const NAMESPACE: &str = "namespace";
    /// `true` on every pod port.
    pub const POD: &str = "pod";
    /// A router's part in egress: `distributed` (a primary network's
    /// router), `gateway` (its gateway router on a chassis) or `node` (the
    /// chassis' egress router).
    pub const EGRESS_ROUTER: &str = "k8s.ovn.org/egress-router";
    /// A switch's part in egress: `join` or `link` (not a switch pods plug
    /// into).
    pub const EGRESS_SWITCH: &str = "k8s.ovn.org/egress-switch";
    /// A gateway router's address on the join switch.
    pub const JOIN_IP: &str = "k8s.ovn.org/join-ip";
    /// A network's link subnet (a /30 in 169.254.0.0/16) between its gateway
    /// routers and the chassis' egress routers, on its distributed router.
    pub const LINK_SUBNET: &str = "k8s.ovn.org/egress-link-subnet";
}

/// Keys of an LSP's `options`.
pub mod option {
    /// The chassis (one, or source and target of a migration) to bind on.
    pub const REQUESTED_CHASSIS: &str = "requested-chassis";
    /// `rarp`: a migration target is activated by the guest's RARP.
    pub const ACTIVATION_STRATEGY: &str = "activation-strategy";
    /// The pod incarnation (UID) the binding is for.
    pub const IFACE_ID_VER: &str = "iface-id-ver";
    /// A router-type LSP's peer router port.
    pub const ROUTER_PORT: &str = "router-port";
    /// A localnet LSP's physical network.
    pub const NETWORK_NAME: &str = "network_name";
    /// A gateway router's chassis (Logical_Router options).
    pub const CHASSIS: &str = "chassis";
}

/// Keys of an OVS Interface's external_ids, and of the Open_vSwitch row's.
pub mod iface {
    /// The logical port ovn-controller binds the interface to.
    pub const IFACE_ID: &str = "iface-id";
    /// The MAC of the pod end.
    pub const ATTACHED_MAC: &str = "attached_mac";
    /// The pod's addresses, comma-separated.
    pub const IP_ADDRESSES: &str = "ip_addresses";
    /// Set to `true` by ovn-controller once the port's flows are in place.
    pub const OVN_INSTALLED: &str = "ovn-installed";
    /// Open_vSwitch: the chassis name.
    pub const SYSTEM_ID: &str = "system-id";
    /// Open_vSwitch: `physnet:bridge,...`.
    pub const BRIDGE_MAPPINGS: &str = "ovn-bridge-mappings";
    /// Port other_config: dropped by an OVS restart.
    pub const TRANSIENT: &str = "transient";
}

/// Keys of a switch's `other_config` that tell OVN its subnets.
pub mod subnet_config {
    /// The IPv4 subnet.
    pub const SUBNET: &str = "subnet";
    /// The IPv6 prefix (address part).
    pub const IPV6_PREFIX: &str = "ipv6_prefix";
}
