# shellcheck shell=bash
# Shared helpers for scripts/demo and scripts/bench: "pods" that are plain
# network namespaces, attached and detached by running a CNI plugin exactly as
# a container runtime would (environment variables + network config on stdin).
#
# Source it; it sets no shell options of its own.
#
#   pod_create NS POD                    make the pod's network namespace
#   pod_destroy NS POD                   stop what runs in it, delete it
#   in_pod NS POD CMD...                 run a command inside the pod
#   pod_add NODE NS POD NETCONF          CNI ADD with ovn-udn-cni on chassis NODE;
#                                        prints the result
#   pod_del NODE NS POD NETCONF          CNI DEL with ovn-udn-cni on chassis NODE
#   ovn_cni NODE CMD NS POD NETCONF      the raw ovn-udn-cni call (stdout, exit status)
#   cni_exec NETNS PLUGIN CMD NS POD IFNAME NETCONF [VAR=VALUE...]
#                                        any CNI plugin, run inside namespace NETNS
#   cni_error OUTPUT                     one line describing a CNI error result
#   result_ip / result_mac / result_ifname RESULT
#                                        the pod interface's address / MAC / name
#   udn_netconf NAME SUBNETS NAD         a layer2 primary UDN network config
#   require_root                         refuse to run as non-root
# and, from deps.sh, ensure_packages [PKG...]
#
# Environment: OVN_SANDBOX_DIR and OVN_SANDBOX_NS_PREFIX as for
# scripts/ovn-sandbox; OVN_UDN_CNI, the plugin binary (default
# target/release/ovn-udn-cni).

# shellcheck disable=SC2034 # used by the scripts that source this file
UDN_REPO=${UDN_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
UDN_SANDBOX=$UDN_REPO/scripts/ovn-sandbox
# shellcheck source=scripts/lib/deps.sh
source "$UDN_REPO/scripts/lib/deps.sh"
UDN_SANDBOX_DIR=${OVN_SANDBOX_DIR:-/run/ovn-udn-sandbox}
UDN_NODE_NETNS_PREFIX=${OVN_SANDBOX_NS_PREFIX:-udn-}node # chassis i: udn-node<i>
UDN_PLUGIN=${OVN_UDN_CNI:-$UDN_REPO/target/release/ovn-udn-cni}
UDN_IFNAME=ovn-udn1
CNI_BIN_DIR=/usr/lib/cni
# Pod namespaces get this prefix, so they never collide with the sandbox's
# udn-node<i> / udn-underlay namespaces or with anything else on the host.
POD_NETNS_PREFIX=${POD_NETNS_PREFIX:-udnpod-}

PATH=$PATH:/usr/sbin:/sbin

# ------------------------------------------------------------------ pods ---

pod_netns() { echo "$POD_NETNS_PREFIX$1-$2"; }

# A stable, runtime-like container id (64 hex digits) per namespace/pod.
pod_container_id() { printf '%s/%s' "$1" "$2" | sha256sum | cut -c1-64; }

pod_create() {
    local netns
    netns=$(pod_netns "$1" "$2")
    ip netns add "$netns" && ip -n "$netns" link set lo up
}

# Stops the processes we started in the pod (listeners), then deletes it.
# Missing pods are fine: teardown calls this for every pod it might have made.
pod_destroy() {
    local netns pids _
    netns=$(pod_netns "$1" "$2")
    [[ -e /var/run/netns/$netns ]] || return 0
    # A listener loop may start a new process while we stop the old ones.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        pids=$(ip netns pids "$netns" 2>/dev/null)
        [[ -z $pids ]] && break
        # shellcheck disable=SC2086
        kill $pids 2>/dev/null || true
        sleep 0.05
    done
    ip netns delete "$netns" 2>/dev/null || true
}

in_pod() {
    local netns
    netns=$(pod_netns "$1" "$2")
    shift 2
    ip netns exec "$netns" "$@"
}

# --------------------------------------------------------------- CNI calls ---

# cni_exec NETNS PLUGIN COMMAND NS POD IFNAME NETCONF [EXTRA_ENV...]
# Runs PLUGIN inside network namespace NETNS (a chassis, or the reference
# plugin's namespace) as a runtime would. stdout is the plugin's stdout
# (result or error JSON); the exit status is the plugin's.
# With CNI_TIME_FILE set, the plugin process alone (from its fork to its exit,
# not the namespace switch before it) is timed and its wall time in
# microseconds appended to that file.
cni_exec() {
    local netns=$1 plugin=$2 cmd=$3 ns=$4 pod=$5 ifname=$6 netconf=$7 timer=()
    shift 7
    if [[ -n ${CNI_TIME_FILE:-} ]]; then
        # shellcheck disable=SC2016
        timer=(bash -c 't0=${EPOCHREALTIME/[.,]/}; "$@"; rc=$?; t1=${EPOCHREALTIME/[.,]/}
                        echo $((t1 - t0)) >>"$CNI_TIME_FILE"; exit $rc' timed)
    fi
    ip netns exec "$netns" env \
        CNI_COMMAND="$cmd" \
        CNI_CONTAINERID="$(pod_container_id "$ns" "$pod")" \
        CNI_NETNS="/var/run/netns/$(pod_netns "$ns" "$pod")" \
        CNI_IFNAME="$ifname" \
        CNI_PATH="$CNI_BIN_DIR" \
        CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$ns;K8S_POD_NAME=$pod" \
        "$@" "${timer[@]}" "$plugin" <<<"$netconf"
}

# Our plugin on chassis NODE (1, 2, ...): the chassis namespace and node config.
ovn_cni() {
    local node=$1
    shift
    cni_exec "$UDN_NODE_NETNS_PREFIX$node" "$UDN_PLUGIN" "$1" "$2" "$3" "$UDN_IFNAME" "$4" \
        OVN_UDN_CNI_NODE_CONFIG="$UDN_SANDBOX_DIR/node$node/node.json"
}

# One line for a failed call: the plugin's error message, or its raw output.
cni_error() {
    [[ -n $1 ]] || { echo "<no output on stdout>"; return; }
    jq -r '"CNI error \(.code): \(.msg)" + (if .details then " (\(.details))" else "" end)' \
        <<<"$1" 2>/dev/null || echo "${1:-<no output>}"
}

# pod_cni CMD NODE NS POD NETCONF: runs CNI verb CMD and prints its output
# (ADD's result); on failure prints the plugin's error on stderr and returns
# non-zero.
pod_cni() {
    local cmd=$1 out rc=0
    shift
    out=$(ovn_cni "$1" "$cmd" "$2" "$3" "$4") || rc=$?
    if ((rc != 0)); then
        echo "$cmd $2/$3 on node$1 failed (exit $rc): $(cni_error "$out")" >&2
        return "$rc"
    fi
    [[ -z $out ]] || echo "$out"
}

pod_add() { pod_cni ADD "$@"; }
pod_del() { pod_cni DEL "$@"; }

# ---------------------------------------------------------------- results ---

# The pod-side interface of a CNI result is the one with a "sandbox".
result_iface_index() { jq -r '[.interfaces[]?.sandbox] | map(. != null and . != "") | index(true)' <<<"$1"; }

result_ip() {
    local idx
    idx=$(result_iface_index "$1")
    jq -r --argjson i "${idx/null/-1}" \
        '[.ips[]? | select(.interface == $i or .interface == null)][0].address // empty' <<<"$1"
}

result_mac() {
    local idx
    idx=$(result_iface_index "$1")
    [[ $idx == null ]] && return 0
    jq -r --argjson i "$idx" '.interfaces[$i].mac // empty' <<<"$1"
}

result_ifname() {
    local idx
    idx=$(result_iface_index "$1")
    [[ $idx == null ]] && return 0
    jq -r --argjson i "$idx" '.interfaces[$i].name // empty' <<<"$1"
}

# --------------------------------------------------------------- configs ---

# udn_netconf NAME SUBNETS NAD: a layer2 primary User-Defined Network, as the
# ovn-kubernetes UDN controller would render it for namespace NAD's network.
udn_netconf() {
    jq -cn --arg name "$1" --arg subnets "$2" --arg nad "$3" \
        '{cniVersion: "1.1.0", name: $name, type: "ovn-udn-cni", topology: "layer2",
          role: "primary", subnets: $subnets, mtu: 1400, netAttachDefName: $nad}'
}

# ----------------------------------------------------------------- setup ---

require_root() {
    [[ $(id -u) == 0 ]] || { echo "$(basename "$0"): run as root (namespaces, OVS, OVN)" >&2; exit 1; }
}
