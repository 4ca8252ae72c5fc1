//! Pods: a network namespace of our own plus an attachment made by the plugin.
//! Guards undo everything on drop, also when a test panics.

use serde_json::Value;

use crate::names;
use crate::network::{Network, ovn_prefix};
use crate::plugin::{Call, Reply};
use crate::process;

/// A network namespace created for one test; deleted on drop.
#[derive(Debug)]
pub struct Netns {
    /// Name under `/var/run/netns`.
    pub name: String,
    deleted: bool,
}

impl Netns {
    /// Creates a fresh namespace with `lo` up.
    pub fn new() -> Netns {
        let name = names::unique("pod");
        process::must("ip", &["netns", "add", &name]);
        let ns = Netns {
            name,
            deleted: false,
        };
        process::must("ip", &["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// A handle on a namespace another guard owns (a second interface of
    /// one pod): this handle never deletes it.
    pub fn existing(name: &str) -> Netns {
        Netns {
            name: name.to_owned(),
            deleted: true,
        }
    }

    /// `/var/run/netns/<name>`, the value of CNI_NETNS.
    pub fn path(&self) -> String {
        format!("/var/run/netns/{}", self.name)
    }

    /// Deletes the namespace now (for "DEL after the netns is gone").
    pub fn delete(&mut self) {
        if !self.deleted {
            process::must("ip", &["netns", "del", &self.name]);
            self.deleted = true;
        }
    }
}

impl Default for Netns {
    fn default() -> Self {
        Netns::new()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if !self.deleted {
            let _ = process::attempt("ip", &["netns", "del", &self.name]);
        }
    }
}

/// Kubernetes identity passed in CNI_ARGS.
#[derive(Debug, Clone)]
pub struct K8sPod {
    /// `K8S_POD_NAMESPACE`.
    pub namespace: String,
    /// `K8S_POD_NAME`.
    pub name: String,
    /// `K8S_POD_UID`.
    pub uid: String,
}

/// Everything one attachment is made from, before ADD.
#[derive(Debug)]
pub struct PodSpec {
    /// Chassis the pod runs on.
    pub node: usize,
    /// CNI_IFNAME (default `ovn-udn1`).
    pub ifname: String,
    /// CNI_CONTAINERID.
    pub container_id: String,
    /// K8S_* CNI_ARGS (on by default, like kubelet).
    pub k8s: Option<K8sPod>,
    /// Further `KEY=value` CNI_ARGS.
    pub extra_args: Vec<String>,
    /// Whether CNI_ARGS starts with `IgnoreUnknown=1`.
    pub ignore_unknown: bool,
    /// The network config for this pod (runtimeConfig, args ... included).
    pub conf: Value,
    /// The pod's namespace.
    pub netns: Netns,
    /// The network's `name` (for the LSP name without K8S args).
    pub network: String,
    /// Environment overrides for every call of this pod (e.g. CNI_PATH).
    pub env: Vec<(String, String)>,
}

impl PodSpec {
    /// A pod of `net` on chassis `node`, with a new namespace, container id and K8S identity.
    pub fn new(net: &Network, node: usize) -> PodSpec {
        let netns = Netns::new();
        PodSpec {
            node,
            ifname: "ovn-udn1".into(),
            container_id: names::container_id(),
            k8s: Some(K8sPod {
                namespace: "e2e".into(),
                name: netns.name.clone(),
                uid: names::container_id()[..32].to_owned(),
            }),
            extra_args: Vec::new(),
            ignore_unknown: true,
            conf: net.conf.clone(),
            netns,
            network: net.name.clone(),
            env: Vec::new(),
        }
    }

    /// Another interface, `ifname`, of the pod `pod` (same namespace,
    /// sandbox and identity) on `net`, as Multus adds secondary networks.
    pub fn another_interface(pod: &Pod, net: &Network, ifname: &str) -> PodSpec {
        let mut spec = PodSpec::new(net, pod.spec.node).ifname(ifname);
        spec.k8s = pod.spec.k8s.clone();
        spec.container_id = pod.spec.container_id.clone();
        spec.netns = Netns::existing(pod.ns());
        spec
    }

    /// Sets variable `name` for every call of this pod, DEL on drop included.
    pub fn env(mut self, name: &str, value: &str) -> PodSpec {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Uses interface name `ifname`.
    pub fn ifname(mut self, ifname: &str) -> PodSpec {
        self.ifname = ifname.into();
        self
    }

    /// Sends no K8S_* CNI_ARGS.
    pub fn without_k8s(mut self) -> PodSpec {
        self.k8s = None;
        self
    }

    /// Sets the K8S pod namespace and name.
    pub fn k8s(mut self, namespace: &str, name: &str) -> PodSpec {
        let uid = names::container_id()[..32].to_owned();
        self.k8s = Some(K8sPod {
            namespace: namespace.into(),
            name: name.into(),
            uid,
        });
        self
    }

    /// Adds a `KEY=value` CNI_ARGS entry.
    pub fn cni_arg(mut self, arg: &str) -> PodSpec {
        self.extra_args.push(arg.into());
        self
    }

    /// Sets config key `key` for this pod only (e.g. `runtimeConfig`, `args`, `cniVersion`).
    pub fn conf_key(mut self, key: &str, value: Value) -> PodSpec {
        self.conf[key] = value;
        self
    }

    /// The CNI_ARGS string, if any.
    pub fn cni_args(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.ignore_unknown {
            parts.push("IgnoreUnknown=1".to_owned());
        }
        if let Some(k) = &self.k8s {
            parts.push(format!("K8S_POD_NAMESPACE={}", k.namespace));
            parts.push(format!("K8S_POD_NAME={}", k.name));
            parts.push(format!("K8S_POD_UID={}", k.uid));
        }
        parts.extend(self.extra_args.iter().cloned());
        (!parts.is_empty()).then(|| parts.join(";"))
    }

    /// A plugin call of `command` for this pod (env and config filled in).
    pub fn call(&self, command: &str) -> Call {
        let call = Call::new(command, self.node)
            .var("CNI_CONTAINERID", Some(&self.container_id))
            .var("CNI_NETNS", Some(&self.netns.path()))
            .var("CNI_IFNAME", Some(&self.ifname))
            .var("CNI_ARGS", self.cni_args().as_deref())
            .config(&self.conf);
        self.env
            .iter()
            .fold(call, |call, (name, value)| call.var(name, Some(value)))
    }

    /// The IPAM claim this attachment names (CNI_ARGS or `args.cni`).
    pub fn claim(&self) -> Option<&str> {
        self.extra_args
            .iter()
            .find_map(|a| a.strip_prefix("IPAM_CLAIM="))
            .or(self.conf["args"]["cni"]["ipam-claim-reference"].as_str())
    }

    /// The LSP name the contract gives this attachment: after its claim on
    /// a network with persistent IPs, else after the pod.
    pub fn lsp_name(&self) -> String {
        let owner = self.conf["netAttachDefName"]
            .as_str()
            .unwrap_or(&self.network);
        let persistent = self.conf["allowPersistentIPs"] == Value::Bool(true);
        if let Some(claim) = self.claim().filter(|_| persistent) {
            let namespace = self
                .k8s
                .as_ref()
                .map_or("default", |k| k.namespace.as_str());
            return format!("{}{namespace}_{claim}", ovn_prefix(owner));
        }
        match &self.k8s {
            Some(k) => format!("{}{}_{}", ovn_prefix(owner), k.namespace, k.name),
            None => format!(
                "{}{}_{}",
                ovn_prefix(&self.network),
                &self.container_id[..12],
                self.ifname
            ),
        }
    }

    /// Runs ADD; on success the returned [`Pod`] owns the attachment.
    pub fn try_add(self) -> Result<Pod, Box<FailedAdd>> {
        let reply = self.call("ADD").run();
        if reply.ok() {
            let result = reply.expect_ok("ADD");
            Ok(Pod {
                spec: self,
                result,
                deleted: false,
            })
        } else {
            Err(Box::new(FailedAdd { reply, spec: self }))
        }
    }

    /// Runs ADD and panics (with the plugin's answer) unless it succeeds.
    pub fn add(self) -> Pod {
        match self.try_add() {
            Ok(pod) => pod,
            Err(failed) => panic!("ADD failed: {}", failed.reply.describe()),
        }
    }
}

/// An ADD that failed; dropping it runs a best-effort DEL (as a runtime would)
/// and deletes the namespace.
#[derive(Debug)]
pub struct FailedAdd {
    /// The plugin's answer.
    pub reply: Reply,
    /// What was attempted.
    pub spec: PodSpec,
}

impl Drop for FailedAdd {
    fn drop(&mut self) {
        if crate::sandbox::try_sandbox().is_none() {
            return;
        }
        let _ = self.spec.call("DEL").run();
    }
}

/// An attached pod; dropping it runs DEL (best effort) and deletes its namespace.
#[derive(Debug)]
pub struct Pod {
    /// What it was made from.
    pub spec: PodSpec,
    /// The ADD result.
    pub result: Value,
    deleted: bool,
}

impl Pod {
    /// Shorthand: ADD a default pod of `net` on chassis `node`.
    pub fn add(net: &Network, node: usize) -> Pod {
        PodSpec::new(net, node).add()
    }

    /// The pod namespace's name.
    pub fn ns(&self) -> &str {
        &self.spec.netns.name
    }

    /// Every `ips[].address` of the result (CIDR notation).
    pub fn cidrs(&self) -> Vec<String> {
        self.result["ips"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|ip| ip["address"].as_str().map(str::to_owned))
            .collect()
    }

    /// The first IPv4 address of the result, without prefix length.
    pub fn ip(&self) -> String {
        self.cidrs()
            .iter()
            .find(|c| !c.contains(':'))
            .and_then(|c| c.split('/').next())
            .unwrap_or_else(|| panic!("no IPv4 address in ADD result {}", self.result))
            .to_owned()
    }

    /// The first IPv6 address of the result, without prefix length.
    pub fn ip6(&self) -> String {
        self.cidrs()
            .iter()
            .find(|c| c.contains(':'))
            .and_then(|c| c.split('/').next())
            .unwrap_or_else(|| panic!("no IPv6 address in ADD result {}", self.result))
            .to_owned()
    }

    /// The result's interface entry inside the pod namespace.
    pub fn pod_interface(&self) -> Value {
        self.result["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["sandbox"].as_str().is_some_and(|s| !s.is_empty()))
            .cloned()
            .unwrap_or_else(|| panic!("no sandbox interface in ADD result {}", self.result))
    }

    /// Name of the host veth (result interface without `sandbox`), if reported.
    pub fn host_veth(&self) -> Option<String> {
        self.result["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["sandbox"].as_str().is_none_or(str::is_empty))
            .and_then(|i| i["name"].as_str().map(str::to_owned))
    }

    /// The LSP name the contract gives this attachment.
    pub fn lsp_name(&self) -> String {
        self.spec.lsp_name()
    }

    /// A plugin call of `command` for this pod.
    pub fn call(&self, command: &str) -> Call {
        self.spec.call(command)
    }

    /// Runs CHECK with the ADD result as prevResult, as a runtime does.
    pub fn check(&self) -> Reply {
        let mut conf = self.spec.conf.clone();
        conf["prevResult"] = self.result.clone();
        self.call("CHECK").config(&conf).run()
    }

    /// Runs DEL now; later drops won't repeat it once it succeeded.
    pub fn del(&mut self) -> Reply {
        let reply = self.call("DEL").run();
        if reply.ok() {
            self.deleted = true;
        }
        reply
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        if !self.deleted && crate::sandbox::try_sandbox().is_some() {
            let _ = self.spec.call("DEL").run();
        }
    }
}
