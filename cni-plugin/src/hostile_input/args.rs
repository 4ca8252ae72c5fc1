//! CNI_ARGS, `args.cni` and `runtimeConfig`: who the attachment is and the
//! static addresses asked for, from a tenant who controls all three.

use std::net::IpAddr;

use conf::{NetConf, PodRef, name_rules, special_range};
use ipnet::IpNet;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value as Json, json};

use super::{MAX_MESSAGE, config, json, text};
use crate::cni::args::{AttachArgs, CniArgs, StaticAddressing};
use crate::error::PluginError;

/// CNI_ARGS keys, known and not.
const ARG_KEYS: &[&str] = &[
    "IgnoreUnknown",
    "IP",
    "MAC",
    "K8S_POD_NAMESPACE",
    "K8S_POD_NAME",
    "K8S_POD_UID",
    "K8S_POD_INFRA_CONTAINER_ID",
    "IPAM_CLAIM",
    "K8S_POD_NETWORK",
    "",
];

/// A Kubernetes-looking name, or anything.
pub(super) fn name_value() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => "[a-z0-9]([a-z0-9.-]{0,12}[a-z0-9])?",
        1 => "[a-zA-Z0-9_./-]{0,70}",
        1 => text(),
    ]
}

/// An address, plain or with a prefix that mostly fits, often special.
fn ip_text() -> impl Strategy<Value = String> {
    let special = select(
        &[
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "169.254.0.1",
            "::",
            "::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
        ][..],
    )
    .prop_map(|a| a.parse::<IpAddr>().unwrap());
    let addr = prop_oneof![4 => any::<IpAddr>(), 1 => special];
    let prefix = prop_oneof![3 => 0u8..=32, 1 => 0u8..=255];
    prop_oneof![
        6 => (addr, option::of(prefix)).prop_map(|(a, p)| match p {
            Some(p) => format!(" {a}/{p}"),
            None => a.to_string(),
        }),
        1 => text(),
    ]
}

/// A MAC in its common spellings, or anything.
fn mac_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (any::<[u8; 6]>(), proptest::bool::weighted(0.8)).prop_map(|(mut b, unicast)| {
            if unicast {
                b[0] &= 0xfe;
            }
            b.map(|x| format!("{x:02x}")).join(":")
        }),
        1 => text(),
    ]
}

/// One `KEY=VALUE` item, its value drawn for its key.
fn item() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (select(ARG_KEYS), name_value()).prop_map(|(k, v)| format!("{k}={v}")),
        2 => vec(ip_text(), 1..3).prop_map(|ips| format!("IP={}", ips.join(","))),
        2 => mac_text().prop_map(|m| format!("MAC={m}")),
        1 => text(),
    ]
}

/// What kubelet passes: the pod's namespace, name, UID and sandbox id.
fn kubelet_items() -> impl Strategy<Value = Vec<String>> {
    (name_value(), name_value(), name_value(), name_value()).prop_map(|(ns, name, uid, id)| {
        vec![
            format!("K8S_POD_NAMESPACE={ns}"),
            format!("K8S_POD_NAME={name}"),
            format!("K8S_POD_UID={uid}"),
            format!("K8S_POD_INFRA_CONTAINER_ID={id}"),
        ]
    })
}

/// CNI_ARGS: arbitrary, or kubelet's items and others joined by `;`,
/// often ignoring unknown keys.
pub(super) fn cni_args() -> impl Strategy<Value = String> {
    let items = (
        option::of(kubelet_items()),
        vec(item(), 0..4),
        proptest::bool::weighted(0.75),
    )
        .prop_map(|(kubelet, items, ignore)| {
            let mut all = kubelet.unwrap_or_default();
            all.extend(items);
            if ignore {
                all.push("IgnoreUnknown=1".into());
            }
            all.join(";")
        });
    prop_oneof![4 => items, 1 => any::<String>()]
}

/// A list of static addresses as the config holds it: a list of address
/// texts, or any JSON.
fn ips_json() -> impl Strategy<Value = Json> {
    prop_oneof![
        6 => vec(ip_text(), 0..3).prop_map(|l| json!(l)),
        1 => json(),
    ]
}

fn mac_json() -> impl Strategy<Value = Json> {
    prop_oneof![6 => mac_text().prop_map(Json::from), 1 => json()]
}

/// A config with the keys these parsers read, each maybe absent, of the
/// expected shape, or anything.
fn args_conf() -> impl Strategy<Value = Map<String, Json>> {
    (
        option::of(prop_oneof![
            6 => (option::of(ips_json()), option::of(mac_json()))
                .prop_map(|(ips, mac)| json!({"ips": ips, "mac": mac})),
            1 => json(),
        ]),
        option::of(ips_json()),
        option::of(mac_json()),
        option::of(prop_oneof![
            6 => name_value().prop_map(Json::from),
            1 => json()
        ]),
    )
        .prop_map(|(runtime, ips, mac, claim)| {
            let mut conf = Map::new();
            conf.insert("name".into(), json!("n"));
            if let Some(runtime) = runtime {
                conf.insert("runtimeConfig".into(), runtime);
            }
            conf.insert(
                "args".into(),
                json!({"cni": {"ips": ips, "mac": mac, "ipam-claim-reference": claim}}),
            );
            conf
        })
}

fn netconf(object: &Map<String, Json>) -> NetConf {
    NetConf::from_slice(&serde_json::to_vec(object).unwrap()).unwrap()
}

/// An input error: CNI_ARGS (4), or the config (6 decode, 7 invalid),
/// in a bounded message.
pub(super) fn check_input_error(err: &PluginError) {
    let message = err.to_string();
    assert!(
        matches!(err.code(), 4 | 6 | 7),
        "code {}: {message}",
        err.code()
    );
    assert!(
        message.len() < MAX_MESSAGE,
        "{} bytes: {}...",
        message.len(),
        message.chars().take(200).collect::<String>()
    );
}

proptest! {
    #![proptest_config(config(512))]

    /// Any CNI_ARGS is split into pairs or refused with code 4.
    #[test]
    fn cni_args_parse_or_fail_with_code_4(text in cni_args()) {
        if let Err(err) = CniArgs::parse(&text) {
            check_input_error(&err);
            prop_assert_eq!(err.code(), 4);
        }
    }

    /// Who the attachment is: every name accepted follows its Kubernetes
    /// rule, and a pod is named only when both its namespace and name are.
    #[test]
    fn attachment_names_follow_kubernetes(text in cni_args(), conf in args_conf()) {
        let Ok(cni_args) = CniArgs::parse(&text) else { return Ok(()) };
        match AttachArgs::parse(&cni_args, &netconf(&conf), "cid", "eth0") {
            Err(err) => check_input_error(&err),
            Ok(args) => {
                if let Some(ns) = &args.namespace {
                    prop_assert!(name_rules::dns_label(ns).is_ok(), "{:?}", ns);
                }
                if let Some(uid) = &args.pod_uid {
                    prop_assert!(name_rules::pod_uid(uid).is_ok(), "{:?}", uid);
                }
                if let Some(claim) = &args.claim {
                    prop_assert!(name_rules::dns_subdomain(claim).is_ok(), "{:?}", claim);
                }
                match &args.pod {
                    PodRef::Pod { namespace, name } => {
                        prop_assert_eq!(Some(namespace), args.namespace.as_ref());
                        prop_assert!(name_rules::dns_subdomain(name).is_ok(), "{:?}", name);
                    }
                    PodRef::Container { id, ifname } => {
                        prop_assert_eq!((id.as_str(), ifname.as_str()), ("cid", "eth0"));
                    }
                    PodRef::Claim { .. } => prop_assert!(false, "a claim before resolve_claim"),
                }
            }
        }
    }

    /// Addressing is ADD's alone: garbage in IP, MAC, `runtimeConfig` and
    /// `args.cni.ips`/`mac` never changes who the attachment is, so DEL
    /// always finds it.
    #[test]
    fn addressing_never_changes_the_attachment(
        text in cni_args(),
        claim in option::of(name_value()),
        ip in "[^;]{0,20}",
        mac in "[^;]{0,20}",
        runtime in json(),
        ips in json(),
        mac_json in json(),
    ) {
        let Ok(clean) = CniArgs::parse(&text) else { return Ok(()) };
        let dirty = CniArgs::parse(&format!("{text};IP={ip};MAC={mac}")).unwrap();
        let conf = json!({"name": "n", "args": {"cni": {"ipam-claim-reference": claim}}});
        let garbage = json!({"name": "n", "runtimeConfig": runtime,
            "args": {"cni": {"ipam-claim-reference": claim, "ips": ips, "mac": mac_json}}});
        let outcome = |a: &CniArgs, c: &Json| {
            AttachArgs::parse(a, &netconf(c.as_object().unwrap()), "cid", "eth0")
                .map_err(|e| (e.code(), e.to_string()))
        };
        prop_assert_eq!(outcome(&clean, &conf), outcome(&dirty, &garbage));
    }

    /// Static addresses and MAC: every address accepted is outside the
    /// special ranges with a prefix that fits, every MAC unicast and not
    /// zero; refusals are input errors naming their source.
    #[test]
    fn static_addressing_is_never_special(text in cni_args(), conf in args_conf()) {
        let Ok(cni_args) = CniArgs::parse(&text) else { return Ok(()) };
        match StaticAddressing::parse(&cni_args, &netconf(&conf)) {
            Err(err) => {
                check_input_error(&err);
                let message = err.to_string();
                let named = ["CNI_ARGS IP", "CNI_ARGS MAC", "`runtimeConfig", "`args.cni"]
                    .iter()
                    .any(|source| message.contains(source));
                prop_assert!(named, "{}", message);
            }
            Ok(addressing) => {
                for ip in &addressing.ips {
                    prop_assert!(special_range(IpNet::from(ip.addr)).is_none(), "{}", ip);
                    if ip.prefix.is_some() {
                        prop_assert!(ip.with_prefix().is_some(), "{}", ip);
                    }
                }
                if let Some(mac) = addressing.mac {
                    prop_assert_eq!(mac.as_bytes()[0] & 1, 0, "{}", mac);
                    prop_assert!(!mac.is_nil());
                }
                let runtime_ips = conf.get("runtimeConfig").and_then(|r| r.get("ips"));
                if let Some(Json::Array(list)) = runtime_ips
                    && !list.is_empty()
                {
                    prop_assert_eq!(addressing.ips.len(), list.len(), "runtimeConfig.ips wins");
                }
            }
        }
    }
}

/// A megabyte anywhere in CNI_ARGS gives a bounded message.
#[test]
fn megabyte_cni_args_give_bounded_messages() {
    let huge = "x".repeat(1 << 20);
    let conf = netconf(json!({"name": "n"}).as_object().unwrap());
    for text in [
        huge.clone(),
        format!("{huge}=1"),
        format!("IP={huge}"),
        format!("IP=10.0.0.5,{huge}"),
        format!("MAC={huge}"),
        format!("K8S_POD_NAMESPACE={huge};K8S_POD_NAME=a"),
        format!("K8S_POD_NAME={huge};K8S_POD_NAMESPACE=a"),
        format!("K8S_POD_UID={huge}"),
        format!("IPAM_CLAIM={huge}"),
        format!("K8S_POD_INFRA_CONTAINER_ID={huge}"),
    ] {
        let err = CniArgs::parse(&text)
            .and_then(|args| {
                AttachArgs::parse(&args, &conf, "cid", "eth0")?;
                StaticAddressing::parse(&args, &conf)
            })
            .expect_err(&text[..40]);
        check_input_error(&err);
        assert_eq!(err.code(), 4, "{err}");
    }
}

/// A megabyte in a string the config's addressing and claim read as text
/// gives a bounded message.
#[test]
fn megabyte_text_in_the_config_gives_bounded_messages() {
    let huge = "x".repeat(1 << 20);
    for conf in [
        json!({"name": "n", "runtimeConfig": {"ips": [huge]}}),
        json!({"name": "n", "runtimeConfig": {"mac": huge}}),
        json!({"name": "n", "args": {"cni": {"ipam-claim-reference": huge}}}),
        json!({"name": "n", "args": {"cni": {"ips": ["10.0.0.5", huge]}}}),
    ] {
        let conf = netconf(conf.as_object().unwrap());
        let args = CniArgs::default();
        let err = AttachArgs::parse(&args, &conf, "cid", "eth0")
            .and_then(|_| StaticAddressing::parse(&args, &conf))
            .expect_err("refused");
        check_input_error(&err);
    }
}

/// A megabyte string where the config's addressing expects a list.
#[test]
fn megabyte_text_for_a_list_in_the_config_gives_bounded_messages() {
    let huge = "x".repeat(1 << 20);
    for conf in [
        json!({"name": "n", "runtimeConfig": {"ips": huge}}),
        json!({"name": "n", "args": {"cni": {"ips": huge}}}),
    ] {
        let conf = netconf(conf.as_object().unwrap());
        let err = StaticAddressing::parse(&CniArgs::default(), &conf).expect_err("refused");
        check_input_error(&err);
    }
}
