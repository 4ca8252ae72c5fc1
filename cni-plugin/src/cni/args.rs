//! Per-attachment arguments from `runtimeConfig`, `args.cni` and CNI_ARGS.

use conf::{MacAddr, NetConf, PodRef};

use crate::error::PluginError;

/// CNI_ARGS keys this plugin reads; any other needs `IgnoreUnknown=1`.
const KNOWN_KEYS: [&str; 8] = [
    "IgnoreUnknown",
    "IP",
    "MAC",
    "K8S_POD_NAMESPACE",
    "K8S_POD_NAME",
    "K8S_POD_UID",
    "K8S_POD_INFRA_CONTAINER_ID",
    "IPAM_CLAIM",
];

/// What the runtime asked for this one attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachArgs {
    /// Who the attachment belongs to (names the logical port).
    pub pod: PodRef,
    /// The pod's namespace, when the runtime is Kubernetes.
    pub namespace: Option<String>,
    /// The pod UID (`iface-id-ver`), when known.
    pub pod_uid: Option<String>,
    /// Static addresses, with or without prefix length.
    pub static_ips: Vec<String>,
    /// A static MAC.
    pub static_mac: Option<MacAddr>,
    /// An IPAM claim (`IPAM_CLAIM`, `args.cni["ipam-claim-reference"]`).
    pub claim: Option<String>,
}

impl AttachArgs {
    /// Merges the three sources; `runtimeConfig` wins over `args.cni`, which
    /// wins over CNI_ARGS, as the conventions document ranks them. Static
    /// addresses are read only `for_add`: a DEL must not fail on input that
    /// only ADD uses, or a runtime could never clean up a failed ADD.
    pub fn parse(
        cni_args: &str,
        conf: &NetConf,
        container_id: &str,
        ifname: &str,
        for_add: bool,
    ) -> Result<AttachArgs, PluginError> {
        let pairs = parse_cni_args(cni_args)?;
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let runtime = conf
            .runtime_config
            .clone()
            .filter(|_| for_add)
            .unwrap_or_default();
        let static_ips = if !for_add {
            Vec::new()
        } else if !runtime.ips.is_empty() {
            runtime.ips
        } else if !conf.args_cni_list("ips").is_empty() {
            conf.args_cni_list("ips")
        } else {
            get("IP")
                .map(|ips| ips.split(',').map(|ip| ip.trim().to_owned()).collect())
                .unwrap_or_default()
        };
        let mac_sources = (runtime.mac.as_deref(), conf.args_cni_str("mac"), get("MAC"));
        let static_mac =
            match mac_sources {
                _ if !for_add => None,
                (Some(mac), _, _) => Some(parse_mac(mac).map_err(|why| {
                    conf::ConfError::invalid("runtimeConfig.mac", format!("{mac:?} {why}"))
                })?),
                (None, Some(mac), _) => Some(parse_mac(mac).map_err(|why| {
                    conf::ConfError::invalid("args.cni.mac", format!("{mac:?} {why}"))
                })?),
                (None, None, Some(mac)) => Some(parse_mac(mac).map_err(|why| {
                    PluginError::Environment(format!("CNI_ARGS MAC {mac:?} {why}"))
                })?),
                (None, None, None) => None,
            };
        let namespace = get("K8S_POD_NAMESPACE").map(str::to_owned);
        let pod = match (namespace.as_deref(), get("K8S_POD_NAME")) {
            (Some(namespace), Some(name)) => PodRef::Pod {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            },
            _ => PodRef::Container {
                id: container_id.to_owned(),
                ifname: ifname.to_owned(),
            },
        };
        Ok(AttachArgs {
            pod,
            namespace,
            pod_uid: get("K8S_POD_UID").map(str::to_owned),
            static_ips,
            static_mac,
            claim: get("IPAM_CLAIM")
                .or(conf.args_cni_str("ipam-claim-reference"))
                .map(str::to_owned),
        })
    }
}

impl AttachArgs {
    /// On a network with `allowPersistentIPs`, an IPAM claim owns the
    /// attachment: its port is named after the claim, in the pod's
    /// namespace (`default` for a runtime without one). Elsewhere a claim
    /// is ignored, with a log line. Returns whether the claim is honoured.
    pub fn resolve_claim(&mut self, network: &conf::Network) -> bool {
        let Some(claim) = &self.claim else {
            return false;
        };
        if !network.allow_persistent_ips {
            tracing::info!(claim = %claim, "IPAM claim ignored: the network does not set allowPersistentIPs");
            return false;
        }
        self.pod = PodRef::Claim {
            namespace: self.namespace.clone().unwrap_or_else(|| "default".into()),
            claim: claim.clone(),
        };
        true
    }
}

/// `K=V;K=V`, rejecting unknown keys unless `IgnoreUnknown` is true.
fn parse_cni_args(text: &str) -> Result<Vec<(String, String)>, PluginError> {
    let mut pairs = Vec::new();
    for item in text.split(';').filter(|i| !i.is_empty()) {
        let Some((key, value)) = item.split_once('=') else {
            return Err(PluginError::Environment(format!(
                "CNI_ARGS: {item:?} is not KEY=VALUE"
            )));
        };
        pairs.push((key.to_owned(), value.to_owned()));
    }
    let ignore_unknown = pairs
        .iter()
        .any(|(k, v)| k == "IgnoreUnknown" && (v == "1" || v.eq_ignore_ascii_case("true")));
    if !ignore_unknown
        && let Some((key, _)) = pairs
            .iter()
            .find(|(k, _)| !KNOWN_KEYS.contains(&k.as_str()))
    {
        return Err(PluginError::Environment(format!(
            "CNI_ARGS: unknown key {key:?} (set IgnoreUnknown=1 to ignore it)"
        )));
    }
    Ok(pairs)
}

/// A unicast MAC, or why the text is not one.
fn parse_mac(text: &str) -> Result<MacAddr, &'static str> {
    let mac: MacAddr = text.parse().map_err(|_| "is not a MAC address")?;
    if mac.as_bytes()[0] & 1 == 1 {
        return Err("is a multicast address");
    }
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(json: &str) -> NetConf {
        NetConf::from_slice(json.as_bytes()).expect("conf")
    }

    #[test]
    fn kubelet_args_name_the_pod() {
        let a = AttachArgs::parse(
            "IgnoreUnknown=1;K8S_POD_NAMESPACE=blue;K8S_POD_NAME=pod-a;K8S_POD_UID=u1;K8S_POD_NETWORK=x",
            &conf(r#"{"name":"n"}"#),
            "cid",
            "ovn-udn1",
            true,
        )
        .expect("args");
        assert_eq!(
            a.pod,
            PodRef::Pod {
                namespace: "blue".into(),
                name: "pod-a".into()
            }
        );
        assert_eq!(a.pod_uid.as_deref(), Some("u1"));
    }

    #[test]
    fn unknown_keys_need_ignore_unknown() {
        let err =
            AttachArgs::parse("FOO=1", &conf("{}"), "cid", "eth0", true).expect_err("unknown");
        assert_eq!(err.code(), 4);
        assert!(err.to_string().contains("FOO"));
        assert!(
            AttachArgs::parse("FOO=1;IgnoreUnknown=true", &conf("{}"), "cid", "eth0", true).is_ok()
        );
    }

    #[test]
    fn runtime_config_wins_over_args_and_cni_args() {
        let c = conf(
            r#"{"runtimeConfig":{"ips":["10.0.0.9/24"],"mac":"0a:00:00:00:00:01"},
                "args":{"cni":{"ips":["10.0.0.8"],"mac":"0a:00:00:00:00:02"}}}"#,
        );
        let a = AttachArgs::parse("IP=10.0.0.7;MAC=0a:00:00:00:00:03", &c, "cid", "eth0", true)
            .expect("args");
        assert_eq!(a.static_ips, vec!["10.0.0.9/24"]);
        assert_eq!(a.static_mac.expect("mac").to_string(), "0A:00:00:00:00:01");
        let a = AttachArgs::parse("IP=10.0.0.7,fd00::7", &conf("{}"), "cid", "eth0", true)
            .expect("args");
        assert_eq!(a.static_ips, vec!["10.0.0.7", "fd00::7"]);
        assert_eq!(
            a.pod,
            PodRef::Container {
                id: "cid".into(),
                ifname: "eth0".into()
            }
        );
    }

    #[test]
    fn bad_macs_name_their_source_with_its_code() {
        let err = AttachArgs::parse("MAC=01:00:00:00:00:01", &conf("{}"), "c", "e", true)
            .expect_err("mcast");
        assert!(err.to_string().contains("CNI_ARGS MAC"), "{err}");
        assert_eq!(err.code(), 4);
        let err = AttachArgs::parse(
            "",
            &conf(r#"{"runtimeConfig":{"mac":"zz"}}"#),
            "c",
            "e",
            true,
        )
        .expect_err("bad");
        assert!(err.to_string().contains("runtimeConfig.mac"), "{err}");
        assert_eq!(err.code(), 7);
    }

    #[test]
    fn only_add_reads_static_addresses() {
        let c = conf(r#"{"runtimeConfig":{"ips":["bogus"],"mac":"zz"}}"#);
        let a = AttachArgs::parse("MAC=nonsense;IP=x", &c, "c", "e", false).expect("DEL parses");
        assert!(a.static_ips.is_empty() && a.static_mac.is_none());
    }

    #[test]
    fn claims_come_from_cni_args_or_args_cni() {
        let a =
            AttachArgs::parse("IPAM_CLAIM=vm-a.net1", &conf("{}"), "c", "e", true).expect("args");
        assert_eq!(a.claim.as_deref(), Some("vm-a.net1"));
        let c = conf(r#"{"args":{"cni":{"ipam-claim-reference":"vm-b.net1"}}}"#);
        let a = AttachArgs::parse("", &c, "c", "e", true).expect("args");
        assert_eq!(a.claim.as_deref(), Some("vm-b.net1"));
    }
}
