//! Per-attachment arguments from CNI_ARGS, `args.cni` and `runtimeConfig`,
//! parsed into typed, validated values before anything is contacted. Who
//! the attachment belongs to ([`AttachArgs`]) is read by every verb; the
//! static addresses ([`StaticAddressing`]) only by ADD, so that a DEL never
//! fails on input only ADD uses.

use conf::{ConfError, MacAddr, NetConf, NetworkId, PodRef, StaticIp, name_rules, shown};

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

/// CNI_ARGS split into its `KEY=VALUE` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniArgs {
    pairs: Vec<(String, String)>,
}

impl CniArgs {
    /// `K=V;K=V`, rejecting unknown keys unless `IgnoreUnknown` is true.
    pub fn parse(text: &str) -> Result<CniArgs, PluginError> {
        let mut pairs = Vec::new();
        for item in text.split(';').filter(|i| !i.is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(PluginError::Environment(format!(
                    "CNI_ARGS: {} is not KEY=VALUE",
                    shown(item)
                )));
            };
            pairs.push((key.to_owned(), value.to_owned()));
        }
        let args = CniArgs { pairs };
        let ignore_unknown = args
            .get("IgnoreUnknown")
            .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
        if !ignore_unknown
            && let Some((key, _)) = args
                .pairs
                .iter()
                .find(|(k, _)| !KNOWN_KEYS.contains(&k.as_str()))
        {
            return Err(PluginError::Environment(format!(
                "CNI_ARGS: unknown key {} (set IgnoreUnknown=1 to ignore it)",
                shown(key)
            )));
        }
        Ok(args)
    }

    /// The value of `key`, the last one if repeated (as libcni reads it);
    /// an empty value counts as absent.
    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// `key`'s value checked by `rule`; a bad one is an environment error
    /// naming the key.
    fn checked(
        &self,
        key: &str,
        rule: fn(&str) -> Result<(), String>,
    ) -> Result<Option<String>, PluginError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        rule(value).map_err(|why| {
            PluginError::Environment(format!("CNI_ARGS {key} {} {why}", shown(value)))
        })?;
        Ok(Some(value.to_owned()))
    }
}

/// Who an attachment belongs to: what names its logical port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachArgs {
    /// Who the attachment belongs to (names the logical port).
    pub pod: PodRef,
    /// The pod's namespace, when the runtime is Kubernetes.
    pub namespace: Option<String>,
    /// The pod UID (`iface-id-ver`), when known.
    pub pod_uid: Option<String>,
    /// An IPAM claim (`IPAM_CLAIM`, `args.cni["ipam-claim-reference"]`).
    pub claim: Option<String>,
}

impl AttachArgs {
    /// The pod (K8S_POD_NAMESPACE/K8S_POD_NAME, Kubernetes names), its UID
    /// and the claim, each validated; without a pod, the container.
    pub fn parse(
        cni_args: &CniArgs,
        conf: &NetConf,
        container_id: &str,
        ifname: &str,
    ) -> Result<AttachArgs, PluginError> {
        let namespace = cni_args.checked("K8S_POD_NAMESPACE", name_rules::dns_label)?;
        let name = cni_args.checked("K8S_POD_NAME", name_rules::dns_subdomain)?;
        let pod_uid = cni_args.checked("K8S_POD_UID", name_rules::pod_uid)?;
        cni_args.checked("K8S_POD_INFRA_CONTAINER_ID", name_rules::container_id)?;
        let claim = match cni_args.checked("IPAM_CLAIM", name_rules::dns_subdomain)? {
            Some(claim) => Some(claim),
            None => {
                let key = "args.cni.ipam-claim-reference";
                let claim: Option<String> =
                    conf.get_at(&["args", "cni", "ipam-claim-reference"])?;
                if let Some(claim) = &claim {
                    name_rules::dns_subdomain(claim).map_err(|why| {
                        ConfError::invalid(key, format!("{} {why}", shown(claim)))
                    })?;
                }
                claim
            }
        };
        let pod = match (&namespace, name) {
            (Some(namespace), Some(name)) => PodRef::Pod {
                namespace: namespace.clone(),
                name,
            },
            _ => PodRef::Container {
                id: container_id.to_owned(),
                ifname: ifname.to_owned(),
            },
        };
        Ok(AttachArgs {
            pod,
            namespace,
            pod_uid,
            claim,
        })
    }

    /// On a network with `allowPersistentIPs`, an IPAM claim owns the
    /// attachment: its port is named after the claim, in the pod's
    /// namespace (`default` for a runtime without one). Elsewhere a claim
    /// is ignored, with a log line. Returns whether the claim is honoured.
    pub fn resolve_claim(&mut self, network: &NetworkId) -> bool {
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

/// Static addresses and MAC the runtime asked for (ADD only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticAddressing {
    /// Static addresses, with or without prefix length.
    pub ips: Vec<StaticIp>,
    /// A static MAC.
    pub mac: Option<MacAddr>,
}

impl StaticAddressing {
    /// Merges the three sources; `runtimeConfig` wins over `args.cni`, which
    /// wins over CNI_ARGS, as the conventions document ranks them. A bad
    /// value is refused naming its source: code 7 in the config, 4 in
    /// CNI_ARGS.
    pub fn parse(cni_args: &CniArgs, conf: &NetConf) -> Result<StaticAddressing, PluginError> {
        let in_conf = |path: &[&str]| -> Result<Option<Vec<String>>, PluginError> {
            Ok(conf.get_at::<Vec<String>>(path)?.filter(|l| !l.is_empty()))
        };
        let ips = if let Some(ips) = in_conf(&["runtimeConfig", "ips"])? {
            static_ips(&ips, |why| conf_error("runtimeConfig.ips", why))?
        } else if let Some(ips) = in_conf(&["args", "cni", "ips"])? {
            static_ips(&ips, |why| conf_error("args.cni.ips", why))?
        } else if let Some(ips) = cni_args.get("IP") {
            let list: Vec<String> = ips.split(',').map(str::to_owned).collect();
            static_ips(&list, |why| {
                PluginError::Environment(format!("CNI_ARGS IP {why}"))
            })?
        } else {
            Vec::new()
        };
        let mac = if let Some(mac) = conf.get_at::<String>(&["runtimeConfig", "mac"])? {
            Some(static_mac(&mac, |why| {
                conf_error("runtimeConfig.mac", why)
            })?)
        } else if let Some(mac) = conf.get_at::<String>(&["args", "cni", "mac"])? {
            Some(static_mac(&mac, |why| conf_error("args.cni.mac", why))?)
        } else if let Some(mac) = cni_args.get("MAC") {
            Some(static_mac(mac, |why| {
                PluginError::Environment(format!("CNI_ARGS MAC {why}"))
            })?)
        } else {
            None
        };
        Ok(StaticAddressing { ips, mac })
    }
}

fn conf_error(field: &str, why: String) -> PluginError {
    ConfError::invalid(field, why).into()
}

fn static_ips(
    texts: &[String],
    error: impl Fn(String) -> PluginError,
) -> Result<Vec<StaticIp>, PluginError> {
    texts
        .iter()
        .map(|text| StaticIp::parse(text).map_err(|why| error(format!("{} {why}", shown(text)))))
        .collect()
}

fn static_mac(text: &str, error: impl Fn(String) -> PluginError) -> Result<MacAddr, PluginError> {
    conf::parse_unicast_mac(text).map_err(|why| error(format!("{} {why}", shown(text))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(json: &str) -> NetConf {
        NetConf::from_slice(json.as_bytes()).expect("conf")
    }

    fn attach(cni_args: &str, json: &str) -> Result<AttachArgs, PluginError> {
        AttachArgs::parse(&CniArgs::parse(cni_args)?, &conf(json), "cid", "eth0")
    }

    fn addressing(cni_args: &str, json: &str) -> Result<StaticAddressing, PluginError> {
        StaticAddressing::parse(&CniArgs::parse(cni_args)?, &conf(json))
    }

    #[test]
    fn kubelet_args_name_the_pod() {
        let a = attach(
            "IgnoreUnknown=1;K8S_POD_NAMESPACE=blue;K8S_POD_NAME=pod-a;K8S_POD_UID=u1;K8S_POD_NETWORK=x",
            r#"{"name":"n"}"#,
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
        let err = CniArgs::parse("FOO=1").expect_err("unknown");
        assert_eq!(err.code(), 4);
        assert!(err.to_string().contains("FOO"));
        assert!(CniArgs::parse("FOO=1;IgnoreUnknown=true").is_ok());
    }

    #[test]
    fn kubernetes_names_are_checked() {
        for (args, key) in [
            ("K8S_POD_NAMESPACE=Blue;K8S_POD_NAME=a", "K8S_POD_NAMESPACE"),
            ("K8S_POD_NAMESPACE=b;K8S_POD_NAME=a/b", "K8S_POD_NAME"),
            ("K8S_POD_UID=u;x", "CNI_ARGS"),
            ("IPAM_CLAIM=../x", "IPAM_CLAIM"),
            (
                "K8S_POD_INFRA_CONTAINER_ID=-x",
                "K8S_POD_INFRA_CONTAINER_ID",
            ),
        ] {
            let err = attach(args, "{}").expect_err(args);
            assert_eq!(err.code(), 4, "{args}");
            assert!(err.to_string().contains(key), "{args}: {err}");
        }
        let err =
            attach("", r#"{"args":{"cni":{"ipam-claim-reference":"A B"}}}"#).expect_err("claim");
        assert_eq!(err.code(), 7);
        assert!(
            err.to_string().contains("args.cni.ipam-claim-reference"),
            "{err}"
        );
    }

    #[test]
    fn runtime_config_wins_over_args_and_cni_args() {
        let a = addressing(
            "IP=10.0.0.7;MAC=0a:00:00:00:00:03",
            r#"{"runtimeConfig":{"ips":["10.0.0.9/24"],"mac":"0a:00:00:00:00:01"},
                "args":{"cni":{"ips":["10.0.0.8"],"mac":"0a:00:00:00:00:02"}}}"#,
        )
        .expect("args");
        assert_eq!(a.ips[0].to_string(), "10.0.0.9/24");
        assert_eq!(a.mac.expect("mac").to_string(), "0A:00:00:00:00:01");
        let a = addressing("IP=10.0.0.7,fd00::7", "{}").expect("args");
        let ips: Vec<String> = a.ips.iter().map(ToString::to_string).collect();
        assert_eq!(ips, ["10.0.0.7", "fd00::7"]);
    }

    #[test]
    fn bad_addresses_name_their_source_with_its_code() {
        for (args, json, code, needle) in [
            ("MAC=01:00:00:00:00:01", "{}", 4, "CNI_ARGS MAC"),
            ("MAC=00:00:00:00:00:00", "{}", 4, "CNI_ARGS MAC"),
            ("IP=garbage", "{}", 4, "CNI_ARGS IP"),
            ("IP=127.0.0.5", "{}", 4, "loopback"),
            (
                "",
                r#"{"runtimeConfig":{"mac":"zz"}}"#,
                7,
                "runtimeConfig.mac",
            ),
            (
                "",
                r#"{"runtimeConfig":{"ips":["x"]}}"#,
                7,
                "runtimeConfig.ips",
            ),
            (
                "",
                r#"{"runtimeConfig":{"ips":"x"}}"#,
                6,
                "runtimeConfig.ips",
            ),
            (
                "",
                r#"{"args":{"cni":{"ips":["10.0.0.1/99"]}}}"#,
                7,
                "args.cni.ips",
            ),
        ] {
            let err = addressing(args, json).expect_err(json);
            assert_eq!(err.code(), code, "{args} {json}: {err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
    }

    #[test]
    fn who_the_attachment_is_ignores_addressing() {
        let a = attach(
            "MAC=nonsense;IP=x",
            r#"{"runtimeConfig":{"ips":"x","mac":5},"dns":{"nameservers":5}}"#,
        )
        .expect("DEL parses");
        assert_eq!(
            a.pod,
            PodRef::Container {
                id: "cid".into(),
                ifname: "eth0".into()
            }
        );
    }

    #[test]
    fn claims_come_from_cni_args_or_args_cni() {
        let a = attach("IPAM_CLAIM=vm-a.net1", "{}").expect("args");
        assert_eq!(a.claim.as_deref(), Some("vm-a.net1"));
        let a = attach(
            "",
            r#"{"args":{"cni":{"ipam-claim-reference":"vm-b.net1"}}}"#,
        )
        .expect("args");
        assert_eq!(a.claim.as_deref(), Some("vm-b.net1"));
    }
}
