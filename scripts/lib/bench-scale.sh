# shellcheck shell=bash
# The scale mode of scripts/bench (`scripts/bench --scale [M] [--json]`):
# does an ADD cost the same on a network of thousands of ports as on an
# empty one, and do many ADDs at once on a big network all succeed with
# distinct addresses?
#
# Sourced by scripts/bench after lib/pod.sh; uses its TMP, JSON, say, fail
# and cni_exec. Entry points: scale_main (the whole run) and scale_cleanup
# (from the bench's EXIT trap).
#
# What it does, on chassis node1..node3 of the OVN sandbox in
# $OVN_SANDBOX_DIR (used if it is up with 3 or more chassis, else brought up
# with 3 and taken down at the end):
#   * one warm-up ADD and DEL per network creates, through the plugin, the
#     layer2 primary networks "bench-big" (10.96.0.0/16) and "bench-empty"
#     (10.97.0.0/16);
#   * bench-big is then filled straight into the NB (raw OVSDB transactions
#     of ~150 rows, ovsdb-client transact) with ports shaped exactly like the
#     plugin's (name, addresses, port_security, external_ids with the
#     address block tag, options:requested-chassis=bench-fake-<k>, never
#     node1..3), addresses packed from 10.96.0.2 up, to each size of
#     BENCH_SCALE_SIZES in turn (default "0 1000 5000");
#   * at each size: M ADDs on each network on node1, bench-big and
#     bench-empty by turns, then their DELs; each plugin process timed as in
#     the default mode, run under GNU time for its peak RSS, and its log
#     lines read for its own work (first line of the call to "OVS port
#     plugged"), its wait for ovn-installed and its NB traffic ("done" line);
#   * at the largest size, BENCH_SCALE_CONCURRENT (default 100) ADDs on
#     bench-big released at once over node1..3 (34/33/33), readyTimeout 180:
#     successes, failures and their codes, duplicate addresses among all of
#     bench-big's ports in the NB afterwards, ADD p50/p99, wall time and the
#     transaction retries the plugin logged; then their DELs;
#   * then BENCH_SCALE_NETWORKS (default 300) more networks of
#     BENCH_SCALE_NETWORK_PORTS (default 10) ports each are added straight
#     into the NB, and the M + M ADDs are measured once more;
#   * after every fill, how long `ovn-nbctl --wait=sb sync` takes (first the
#     catch-up with the fill, then one NB change: one ovn-northd recompute).
# The plugin runs with node configs of the bench's own (readyTimeout 180,
# logLevel info, a log file per chassis in the bench's temporary directory).
# Everything the bench adds to the NB (its switches, which hold all the
# filled ports) is deleted at the end, also on failure or Ctrl-C.
# BENCH_KEEP=1 keeps the temporary directory (logs, raw figures).

SCALE_SIZES=${BENCH_SCALE_SIZES:-0 1000 5000}
SCALE_CONC=${BENCH_SCALE_CONCURRENT:-100}
SCALE_NETS=${BENCH_SCALE_NETWORKS:-300}
SCALE_NET_PORTS=${BENCH_SCALE_NETWORK_PORTS:-10}
SCALE_CHASSIS=3
SCALE_FAKE_CHASSIS=20 # bench-fake-1..20: requested-chassis of the filled ports
SCALE_BIG=bench-big
SCALE_BIG_SUBNET=10.96.0.0/16
SCALE_EMPTY=bench-empty
SCALE_EMPTY_SUBNET=10.97.0.0/16
SCALE_NAD_NS=bench   # netAttachDefName <ns>/<network>
SCALE_POD_NS=bench-scale # K8S_POD_NAMESPACE of the measured pods
SCALE_FILL_NS=bench-fill # namespace external_id of the filled ports
SCALE_CHUNK=150      # rows per raw transaction: its JSON stays under the
                     # kernel's 128 KiB limit for one argument
# Targets of the issue.
SCALE_OWN_MAX_MS=10
SCALE_ADD_RATIO=1.2
SCALE_RSS_MAX_KB=$((15 * 1024))

SCALE_BROUGHT_UP=0
SCALE_OWNS_NB=0       # the bench networks are ours to delete (none existed before)
SCALE_FILLED=0        # ports of bench-big filled so far
declare -A SCALE_ATTACHED=() # "node network pod" possibly attached
declare -A SCALE_CONF=()     # network -> its network config

scale_nb() { ovn-nbctl --timeout=60 --db="unix:$UDN_SANDBOX_DIR/nb.sock" "$@"; }
scale_switch() { echo "${1//[-\/]/.}_ovn_layer2_switch"; }
# The extra networks: bench-n001 ... with a /24 each in 172.16.0.0/12.
scale_extra_net() { printf 'bench-n%03d' "$1"; }

# ---------------------------------------------------------------- cleanup ---

# scale_tree PID...: the pids of these processes and all their descendants.
scale_tree() {
    local pid
    for pid in "$@"; do
        echo "$pid"
        # shellcheck disable=SC2046 # one pid per word
        scale_tree $(ps -o pid= --ppid "$pid" 2>/dev/null)
    done
}

scale_cleanup() {
    local key node net pod pids i sw=()
    # Concurrent ADDs still running (Ctrl-C, a failure): stop each job and
    # everything it started (ip netns exec, time, the timing shell, the
    # plugin), by pid, before the DELs, so that no ADD finishes after them.
    # shellcheck disable=SC2046
    pids=$(scale_tree $(jobs -p))
    if [[ -n $pids ]]; then
        # shellcheck disable=SC2086 # our own processes, one pid per word
        kill -TERM $pids 2>/dev/null
        wait 2>/dev/null
    fi
    for key in "${!SCALE_ATTACHED[@]}"; do
        read -r node net pod <<<"$key"
        scale_cni "$node" DEL "$net" "$pod" >/dev/null 2>&1
    done
    for pod in w-big w-empty $(seq -f 'b%g' 1 "$N") $(seq -f 'e%g' 1 "$N") \
        $(seq -f 'c%g' 1 "$SCALE_CONC"); do
        pod_destroy "$SCALE_POD_NS" "$pod"
    done
    if ((SCALE_BROUGHT_UP)); then
        "$UDN_SANDBOX" down >>"$TMP/sandbox.log" 2>&1 || say "scripts/ovn-sandbox down failed: $TMP/sandbox.log"
    elif ((SCALE_OWNS_NB)) && [[ -S $UDN_SANDBOX_DIR/nb.sock ]]; then
        # Leave the sandbox as found: the switches go with all their ports.
        sw=(-- --if-exists ls-del "$(scale_switch "$SCALE_BIG")"
            -- --if-exists ls-del "$(scale_switch "$SCALE_EMPTY")")
        for ((i = 1; i <= SCALE_NETS; i++)); do
            sw+=(-- --if-exists ls-del "$(scale_switch "$(scale_extra_net "$i")")")
        done
        scale_nb "${sw[@]}" >/dev/null 2>&1 || say "could not delete the bench's switches from the NB"
    fi
}

# ------------------------------------------------------------------ setup ---

scale_setup() {
    require_root
    ensure_packages || fail "apt-get install ${UDN_PACKAGES[*]} failed"
    [[ -x /usr/bin/time ]] || fail "/usr/bin/time missing (package time)"
    ((SCALE_CONC >= 0 && SCALE_NETS >= 0 && SCALE_NET_PORTS >= 0)) || fail "bad BENCH_SCALE_* setting"
    local size
    for size in $SCALE_SIZES; do
        if ! [[ $size =~ ^[0-9]+$ ]] || ((size >= 60000)); then fail "BENCH_SCALE_SIZES: $size is not a port count below 60000"; fi
    done
    ((SCALE_NETS <= 4096 && SCALE_NET_PORTS <= 250)) || fail "at most 4096 extra networks of 250 ports"

    if [[ -z ${OVN_UDN_CNI:-} ]]; then
        command -v cargo >/dev/null || fail "cargo not found: install a Rust toolchain, or set OVN_UDN_CNI=<binary>"
        say "building ovn-udn-cni (cargo build --release)"
        (cd "$UDN_REPO" && cargo build --release --quiet -p ovn-udn-cni) >"$TMP/build.log" 2>&1 ||
            { tail -n 30 "$TMP/build.log" >&2; fail "cargo build --release failed"; }
    fi
    [[ -x $UDN_PLUGIN ]] || fail "no plugin binary at $UDN_PLUGIN"

    local nodes
    nodes=$(cat "$UDN_SANDBOX_DIR/nodes" 2>/dev/null || echo 0)
    if "$UDN_SANDBOX" status >/dev/null 2>&1; then
        ((nodes >= SCALE_CHASSIS)) ||
            fail "the OVN sandbox in $UDN_SANDBOX_DIR has $nodes chassis, the scale mode needs $SCALE_CHASSIS (scripts/ovn-sandbox up $SCALE_CHASSIS, or another OVN_SANDBOX_DIR)"
        say "using the running OVN sandbox in $UDN_SANDBOX_DIR (chassis node1..node$SCALE_CHASSIS)"
    else
        ((nodes == 0)) || fail "the OVN sandbox in $UDN_SANDBOX_DIR is half up: scripts/ovn-sandbox down (or up $SCALE_CHASSIS) first"
        say "bringing up a $SCALE_CHASSIS-chassis OVN sandbox in $UDN_SANDBOX_DIR"
        SCALE_BROUGHT_UP=1
        "$UDN_SANDBOX" up "$SCALE_CHASSIS" >"$TMP/sandbox.log" 2>&1 ||
            { tail -n 20 "$TMP/sandbox.log" >&2; fail "scripts/ovn-sandbox up $SCALE_CHASSIS failed"; }
    fi

    local i net pod
    for ((i = 1; i <= SCALE_CHASSIS; i++)); do
        jq -c --arg log "$TMP/node$i.log" \
            '.logFile = $log | .logLevel = "info" | .readyTimeout = 180 | .logMaxBytes = 1073741824' \
            "$UDN_SANDBOX_DIR/node$i/node.json" >"$TMP/node$i.json" || fail "cannot read $UDN_SANDBOX_DIR/node$i/node.json"
        : >"$TMP/node$i.log"
    done
    SCALE_CONF[$SCALE_BIG]=$(udn_netconf "$SCALE_BIG" "$SCALE_BIG_SUBNET" "$SCALE_NAD_NS/$SCALE_BIG")
    SCALE_CONF[$SCALE_EMPTY]=$(udn_netconf "$SCALE_EMPTY" "$SCALE_EMPTY_SUBNET" "$SCALE_NAD_NS/$SCALE_EMPTY")
    for net in "$SCALE_BIG" "$SCALE_EMPTY"; do
        [[ -z $(scale_nb --bare --columns=name find Logical_Switch name="$(scale_switch "$net")") ]] ||
            fail "network $net already exists in the NB: another bench running, or one that was killed (ovn-nbctl ls-del $(scale_switch "$net"))"
    done
    SCALE_OWNS_NB=1

    local pods=$((2 * N + SCALE_CONC + 2))
    say "creating $pods pod namespaces"
    for pod in w-big w-empty $(seq -f 'b%g' 1 "$N") $(seq -f 'e%g' 1 "$N") \
        $(seq -f 'c%g' 1 "$SCALE_CONC"); do
        pod_create "$SCALE_POD_NS" "$pod"
    done
}

# ------------------------------------------------------------- CNI calls ---

# scale_cni NODE CMD NETWORK POD [RSSFILE]: the plugin on chassis NODE with
# the bench's node config; with RSSFILE, under GNU time, which appends the
# peak RSS in KiB to it (of the plugin and the timing shell around it, the
# larger of the two: the shell's is ~4 MB). Timed like cni_exec.
scale_cni() {
    local node=$1 cmd=$2 net=$3 pod=$4 rss=${5:-} extra
    extra=(OVN_UDN_CNI_NODE_CONFIG="$TMP/node$node.json")
    [[ -z $rss ]] || extra+=(/usr/bin/time -a -o "$rss" -f %M)
    cni_exec "$UDN_NODE_NETNS_PREFIX$node" "$UDN_PLUGIN" "$cmd" "$SCALE_POD_NS" "$pod" \
        "$UDN_IFNAME" "${SCALE_CONF[$net]}" "${extra[@]}"
}

# scale_timed NODE CMD NETWORK POD TIMEFILE [RSSFILE]: one timed call; aborts
# the bench with the plugin's error on failure.
scale_timed() {
    local node=$1 cmd=$2 net=$3 pod=$4 file=$5 rss=${6:-} out rc=0
    [[ $cmd == ADD ]] && SCALE_ATTACHED["$node $net $pod"]=1
    out=$(CNI_TIME_FILE=$file scale_cni "$node" "$cmd" "$net" "$pod" "$rss") || rc=$?
    ((rc == 0)) || fail "$cmd $net $pod on node$node failed (exit $rc): $(cni_error "$out")"
    if [[ $cmd == DEL ]]; then unset 'SCALE_ATTACHED["$node $net $pod"]'; fi
}

# ------------------------------------------------------------------- fill ---

# scale_gen OUTPREFIX: reads jobs "network switch nad base from to create
# subnet" (base: the subnet's address as an integer; ports from..to-1 take
# addresses base+2+from ...; create=1: insert the switch too) and writes
# raw transactions OUTPREFIX.<n>, each of at most SCALE_CHUNK rows.
scale_gen() {
    awk -v out="$1" -v chunk="$SCALE_CHUNK" -v fake="$SCALE_FAKE_CHASSIS" \
        -v ns="$SCALE_FILL_NS" -v stamp="$(date +%s)" -v ifname="$UDN_IFNAME" '
    function ip(n) { return sprintf("%d.%d.%d.%d", int(n / 16777216), int(n / 65536) % 256, int(n / 256) % 256, n % 256) }
    function mac(n) { return sprintf("0a:58:%02x:%02x:%02x:%02x", int(n / 16777216), int(n / 65536) % 256, int(n / 256) % 256, n % 256) }
    function add(op) { ops = ops "," op; rows++ }
    # The switch op for the ports of the current job in this chunk.
    function flush_switch() {
        if (uuids == "" && created[job]) return
        if (!created[job]) {
            add(sprintf("{\"op\":\"insert\",\"table\":\"Logical_Switch\",\"row\":{\"name\":\"%s\",\"ports\":[\"set\",[%s]],\"external_ids\":[\"map\",[[\"k8s.ovn.org/network\",\"%s\"],[\"k8s.ovn.org/role\",\"primary\"],[\"k8s.ovn.org/topology\",\"layer2\"]]],\"other_config\":[\"map\",[[\"subnet\",\"%s\"]]]}}", sw, uuids, net, subnet))
            created[job] = 1
        } else {
            add(sprintf("{\"op\":\"mutate\",\"table\":\"Logical_Switch\",\"where\":[[\"name\",\"==\",\"%s\"]],\"mutations\":[[\"ports\",\"insert\",[\"set\",[%s]]]]}", sw, uuids))
        }
        uuids = ""
    }
    function flush_chunk() {
        if (ops == "") return
        file = sprintf("%s.%05d", out, files++)
        printf "[\"OVN_Northbound\"%s]\n", ops > file
        close(file)
        ops = ""; rows = 0
    }
    {
        job++; net = $1; sw = $2; nad = $3; base = $4; from = $5; to = $6; subnet = $8
        created[job] = ($7 == 0); isnew = ($7 == 1)
        prefix = nad; gsub(/[-\/]/, ".", prefix); prefix = prefix "_"
        for (k = from; k < to; k++) {
            n = base + 2 + k
            block = n - n % 64
            addr = mac(n) " " ip(n)
            chassis = (isnew ? job : int((n - base) / 64)) % fake + 1
            u = sprintf("p%d_%d", job, k)
            add(sprintf("{\"op\":\"insert\",\"table\":\"Logical_Switch_Port\",\"uuid-name\":\"%s\",\"row\":{\"name\":\"%s%s_f%d\",\"addresses\":\"%s\",\"port_security\":\"%s\",\"options\":[\"map\",[[\"requested-chassis\",\"bench-fake-%d\"]]],\"external_ids\":[\"map\",[[\"k8s.ovn.org/attached-at\",\"%s\"],[\"k8s.ovn.org/ipam-block.%s/26\",\"true\"],[\"k8s.ovn.org/nad\",\"%s\"],[\"k8s.ovn.org/network\",\"%s\"],[\"k8s.ovn.org/topology\",\"layer2\"],[\"namespace\",\"%s\"],[\"pod\",\"true\"],[\"pod-if-name\",\"%s\"],[\"sandbox\",\"fa%054d%08d\"]]]}}", u, prefix, ns, k, addr, addr, chassis, stamp, ip(block), nad, net, ns, ifname, job, k))
            uuids = uuids (uuids == "" ? "" : ",") "[\"named-uuid\",\"" u "\"]"
            if (rows >= chunk - 1) { flush_switch(); flush_chunk() }
        }
        flush_switch()
    }
    END { flush_chunk() }'
}

# scale_transact FILE...: runs each raw transaction; fails on any error.
scale_transact() {
    local f reply
    for f in "$@"; do
        reply=$(ovsdb-client --timeout=120 transact "unix:$UDN_SANDBOX_DIR/nb.sock" "$(<"$f")") ||
            fail "ovsdb-client transact $f failed"
        [[ $reply != *'"error"'* ]] || fail "transaction $f refused: ${reply:0:400}"
    done
}

# Integer of a dotted IPv4 address.
scale_ip_int() {
    local a b c d
    IFS=. read -r a b c d <<<"${1%/*}"
    echo $(((a << 24) + (b << 16) + (c << 8) + d))
}

# scale_fill P: bench-big holds P filled ports (it only grows).
scale_fill() {
    local p=$1
    ((p > SCALE_FILLED)) || return 0
    rm -f "$TMP"/txn.*
    echo "$SCALE_BIG $(scale_switch "$SCALE_BIG") $SCALE_NAD_NS/$SCALE_BIG $(scale_ip_int "$SCALE_BIG_SUBNET") $SCALE_FILLED $p 0 $SCALE_BIG_SUBNET" |
        scale_gen "$TMP/txn"
    scale_transact "$TMP"/txn.*
    rm -f "$TMP"/txn.*
    SCALE_FILLED=$p
}

# scale_add_networks: SCALE_NETS networks of SCALE_NET_PORTS ports each.
scale_add_networks() {
    local i net base
    rm -f "$TMP"/txn.*
    for ((i = 1; i <= SCALE_NETS; i++)); do
        net=$(scale_extra_net "$i")
        base=$(((172 << 24) + (16 << 16) + (i << 8)))
        echo "$net $(scale_switch "$net") $SCALE_NAD_NS/$net $base 0 $SCALE_NET_PORTS 1 $(scale_int_ip "$base")/24"
    done | scale_gen "$TMP/txn"
    scale_transact "$TMP"/txn.*
    rm -f "$TMP"/txn.*
}

scale_int_ip() { echo "$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))"; }

# How long one `ovn-nbctl --wait=sb sync` takes, in ms: ovn-northd's turn
# around of one NB change (a full recompute in OVN 23.03).
scale_sync_ms() {
    local t0 t1
    t0=${EPOCHREALTIME/[.,]/}
    scale_nb --wait=sb sync >/dev/null || fail "ovn-nbctl --wait=sb sync failed"
    t1=${EPOCHREALTIME/[.,]/}
    echo $(((t1 - t0) / 1000))
}

# scale_northd LABEL: after a fill, the first sync (northd catching up with
# the fill) and the median of three more (one NB change each).
scale_northd() {
    local first a b c
    first=$(scale_sync_ms)
    a=$(scale_sync_ms) b=$(scale_sync_ms) c=$(scale_sync_ms)
    echo "$first $(printf '%s\n' "$a" "$b" "$c" | sort -n | sed -n 2p)" >"$TMP/$1/northd"
}

# ------------------------------------------------------------------- logs ---

# Bytes of each node log now: "size1 size2 size3".
scale_log_marks() {
    local i marks=()
    for ((i = 1; i <= SCALE_CHASSIS; i++)); do
        marks+=("$(stat -c %s "$TMP/node$i.log")")
    done
    echo "${marks[*]}"
}

# scale_log_since MARKS: the node logs' lines written since MARKS.
scale_log_since() {
    local -a marks
    local i
    read -r -a marks <<<"$1"
    for ((i = 1; i <= SCALE_CHASSIS; i++)); do
        tail -c +"$((marks[i - 1] + 1))" "$TMP/node$i.log"
    done
}

# scale_parse: log lines on stdin -> one line per ADD call: "network
# container own_us wait_us nb_read nb_written nb_requests retries ok
# alloc_us pre_us". own_us: first line of the call to "OVS port plugged";
# wait_us: from there to ovn-installed; alloc_us: first to last line of step
# "allocate" (the NB reads and the port's transaction); pre_us: first line
# to the first of step "allocate" (mostly the NB connection); -1 when a line
# is missing. Timestamps are RFC 3339 UTC with microseconds
# (2026-11-30T14:49:00.310447Z).
scale_parse() {
    awk '
    function us(ts,   y, m, d, era, yoe, doy, doe, s) {
        y = substr(ts, 1, 4) + 0; m = substr(ts, 6, 2) + 0; d = substr(ts, 9, 2) + 0
        y -= (m <= 2); era = int(y / 400); yoe = y - era * 400
        doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
        doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
        s = substr(ts, 18); sub(/Z$/, "", s)
        return ((era * 146097 + doe) * 86400 + substr(ts, 12, 2) * 3600 + substr(ts, 15, 2) * 60) * 1000000 + int(s * 1000000 + 0.5)
    }
    function field(name,   v) {
        if (!match($0, name "=[0-9]+")) return -1
        v = substr($0, RSTART + length(name) + 1, RLENGTH - length(name) - 1)
        return v + 0
    }
    /command="ADD"/ && match($0, /container=[0-9a-f]+/) {
        id = substr($0, RSTART + 10, RLENGTH - 10)
        t = us($1)
        if (!(id in start)) {
            start[id] = t; order[++n] = id; retries[id] = 0
            net[id] = match($0, /network=[^ }]+/) ? substr($0, RSTART + 8, RLENGTH - 8) : "-"
        }
        if (/OVS port plugged/) plugged[id] = t
        if (/step="allocate"/) { if (!(id in alloc0)) alloc0[id] = t; alloc1[id] = t }
        if (/step="ovn-installed"/) installed[id] = t
        if (/retries=/) retries[id] += field("retries")
        if (/step="done"/) {
            ok[id] = (/succeeded/ ? 1 : 0)
            rd[id] = field("nb_read"); wr[id] = field("nb_written"); rq[id] = field("nb_requests")
        }
    }
    END {
        for (i = 1; i <= n; i++) {
            id = order[i]
            own = (id in plugged) ? plugged[id] - start[id] : -1
            wait = (id in plugged && id in installed) ? installed[id] - plugged[id] : -1
            nbstep = (id in alloc0) ? alloc1[id] - alloc0[id] : -1
            connect = (id in alloc0) ? alloc0[id] - start[id] : -1
            printf "%s %s %d %d %d %d %d %d %d %d %d\n", net[id], id, own, wait,
                (id in rd ? rd[id] : -1), (id in wr ? wr[id] : -1), (id in rq ? rq[id] : -1),
                retries[id], (id in ok ? ok[id] : 0), nbstep, connect
        }
    }'
}

# scale_column FILE NETWORK COL: column COL (3 = own_us ... 8 = retries) of
# the parsed calls of NETWORK, where it is known (>= 0).
scale_column() {
    awk -v net="$2" -v col="$3" '$1 == net && $col >= 0 { print $col }' "$1"
}

# --------------------------------------------------------------- measure ---

# scale_series LABEL: M ADDs per network on node1, bench-big and bench-empty
# by turns, then their DELs, the same way. Figures in $TMP/LABEL/.
scale_series() {
    local label=$1 dir=$TMP/$1 i net marks
    mkdir -p "$dir"
    say "  $N ADDs and DELs on each of $SCALE_BIG and $SCALE_EMPTY, by turns"
    marks=$(scale_log_marks)
    for ((i = 1; i <= N; i++)); do
        scale_timed 1 ADD "$SCALE_BIG" "b$i" "$dir/big.add" "$dir/big.rss"
        scale_timed 1 ADD "$SCALE_EMPTY" "e$i" "$dir/empty.add" "$dir/empty.rss"
    done
    scale_log_since "$marks" | scale_parse >"$dir/calls"
    for ((i = 1; i <= N; i++)); do
        scale_timed 1 DEL "$SCALE_BIG" "b$i" "$dir/big.del"
        scale_timed 1 DEL "$SCALE_EMPTY" "e$i" "$dir/empty.del"
    done
    for net in big empty; do
        grep -E '^[0-9]+$' "$dir/$net.rss" >"$dir/$net.rss_kb" || true
    done
}

# scale_concurrent: SCALE_CONC ADDs on bench-big released at once over the
# chassis, then their DELs. Figures in $TMP/concurrent/.
scale_concurrent() {
    local dir=$TMP/concurrent i node fifo t0 t1 marks pids=()
    mkdir -p "$dir/calls.d"
    fifo=$dir/go
    mkfifo "$fifo"
    say "  $SCALE_CONC concurrent ADDs on $SCALE_BIG over node1..node$SCALE_CHASSIS"
    marks=$(scale_log_marks)
    for ((i = 1; i <= SCALE_CONC; i++)); do
        node=$(((i - 1) % SCALE_CHASSIS + 1))
        SCALE_ATTACHED["$node $SCALE_BIG c$i"]=1
        (
            # Blocks until the bench opens the FIFO for writing: the barrier.
            : <"$fifo"
            rc=0
            out=$(CNI_TIME_FILE=$dir/calls.d/$i.us scale_cni "$node" ADD "$SCALE_BIG" "c$i" "$dir/rss") || rc=$?
            printf '%s %s\n' "$node" "$rc" >"$dir/calls.d/$i.rc"
            printf '%s\n' "$out" >"$dir/calls.d/$i.out"
        ) &
        pids+=($!)
    done
    # Let every job reach the FIFO, then release them all at once.
    sleep 1
    exec {go}>"$fifo"
    t0=${EPOCHREALTIME/[.,]/}
    wait "${pids[@]}" || true
    t1=${EPOCHREALTIME/[.,]/}
    exec {go}>&-
    echo $((t1 - t0)) >"$dir/wall_us"
    scale_log_since "$marks" | scale_parse >"$dir/calls"

    # Every address of bench-big's ports, one per line, for the duplicate check.
    scale_nb --bare --columns=addresses find Logical_Switch_Port \
        external_ids:k8s.ovn.org/network="$SCALE_BIG" | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' >"$dir/addresses"
    sort "$dir/addresses" | uniq -d >"$dir/duplicates"
    : >"$dir/ok.us"
    : >"$dir/codes"
    for ((i = 1; i <= SCALE_CONC; i++)); do
        read -r node rc <"$dir/calls.d/$i.rc" || rc=255
        if ((rc == 0)); then
            cat "$dir/calls.d/$i.us" >>"$dir/ok.us"
        else
            { jq -r '.code // "none"' "$dir/calls.d/$i.out" 2>/dev/null || echo "exit-$rc"; } >>"$dir/codes"
            say "    ADD c$i on node$node failed (exit $rc): $(cni_error "$(<"$dir/calls.d/$i.out")")"
        fi
    done
    grep -E '^[0-9]+$' "$dir/rss" >"$dir/rss_kb" || true

    say "  DEL of the $SCALE_CONC"
    local failed=0
    for ((i = 1; i <= SCALE_CONC; i++)); do
        node=$(((i - 1) % SCALE_CHASSIS + 1))
        if CNI_TIME_FILE=$dir/del.us scale_cni "$node" DEL "$SCALE_BIG" "c$i" >/dev/null; then
            unset 'SCALE_ATTACHED["$node $SCALE_BIG c$i"]'
        else
            failed=$((failed + 1))
        fi
    done
    echo "$failed" >"$dir/del_failed"
}

scale_phase() {
    local label=$1 sync
    mkdir -p "$TMP/$label"
    scale_northd "$label"
    read -r -a sync <"$TMP/$label/northd"
    say "  ovn-northd: --wait=sb sync ${sync[0]} ms after the fill, ${sync[1]} ms for one more change"
    scale_series "$label"
}

scale_run() {
    local size t0 before net
    say "warm-up: one ADD and DEL per network (creates both switches)"
    for net in "$SCALE_BIG" "$SCALE_EMPTY"; do
        scale_timed 1 ADD "$net" "w-${net#bench-}" /dev/null
        scale_timed 1 DEL "$net" "w-${net#bench-}" /dev/null
    done
    before=$(scale_sync_ms)
    echo "$before" >"$TMP/northd_empty"
    SCALE_LABELS=()
    for size in $SCALE_SIZES; do
        say "size: $size ports in $SCALE_BIG"
        t0=${EPOCHREALTIME/[.,]/}
        scale_fill "$size"
        mkdir -p "$TMP/p$size"
        echo $(((${EPOCHREALTIME/[.,]/} - t0) / 1000)) >"$TMP/p$size/fill_ms"
        echo "$size 0" >"$TMP/p$size/shape"
        scale_phase "p$size"
        SCALE_LABELS+=("p$size")
    done
    if ((SCALE_CONC > 0)); then
        say "concurrent: $SCALE_FILLED ports in $SCALE_BIG"
        scale_concurrent
    fi
    if ((SCALE_NETS > 0)); then
        local label=p${SCALE_FILLED}n$SCALE_NETS
        say "size: $SCALE_FILLED ports in $SCALE_BIG and $SCALE_NETS more networks of $SCALE_NET_PORTS ports"
        t0=${EPOCHREALTIME/[.,]/}
        scale_add_networks
        mkdir -p "$TMP/$label"
        echo $(((${EPOCHREALTIME/[.,]/} - t0) / 1000)) >"$TMP/$label/fill_ms"
        echo "$SCALE_FILLED $SCALE_NETS" >"$TMP/$label/shape"
        scale_phase "$label"
        SCALE_LABELS+=("$label")
    fi
}

# ----------------------------------------------------------------- report ---

# scale_pct FILE: "p50 p90 p99 max mean n" of the numbers in FILE (nearest
# rank), raw units; "-1 -1 -1 -1 -1 0" when empty.
scale_pct() {
    sort -n "$1" | awk '{ v[NR] = $1; sum += $1 }
        function p(q) { return v[int((NR * q + 99) / 100)] }
        END {
            if (NR == 0) { print "-1 -1 -1 -1 -1 0"; exit }
            printf "%d %d %d %d %d %d\n", p(50), p(90), p(99), v[NR], sum / NR, NR
        }'
}

# scale_stats_json FILE [DIVISOR]: {p50, p90, p99, max, mean, n} of FILE,
# divided by DIVISOR (1000: microseconds to ms).
scale_stats_json() {
    local div=${2:-1}
    scale_pct "$1" | jq -R --argjson d "$div" 'split(" ") | map(tonumber) as $v |
        if $v[5] == 0 then {n: 0} else
        ({p50: $v[0], p90: $v[1], p99: $v[2], max: $v[3], mean: $v[4]} | map_values(. / $d * 100 | round / 100))
        + {n: $v[5]} end'
}

# The JSON of one phase: both networks' figures and the ratios.
scale_phase_json() {
    local dir=$TMP/$1 net col name shape northd tmp=$TMP/col
    read -r -a shape <"$dir/shape"
    read -r -a northd <"$dir/northd"
    local nets=()
    for net in big empty; do
        local name=$SCALE_BIG
        [[ $net == empty ]] && name=$SCALE_EMPTY
        local parts=()
        parts+=("$(scale_stats_json "$dir/$net.add" 1000)" "$(scale_stats_json "$dir/$net.del" 1000)")
        for col in 3 4 5 6 7 10 11; do
            scale_column "$dir/calls" "$name" "$col" >"$tmp"
            if ((col <= 4 || col >= 10)); then parts+=("$(scale_stats_json "$tmp" 1000)"); else parts+=("$(scale_stats_json "$tmp")"); fi
        done
        parts+=("$(scale_stats_json "$dir/$net.rss_kb" 1024)")
        nets+=("$(printf '%s\n' "${parts[@]}" | jq -s --arg name "$name" \
            '{network: $name, add_ms: .[0], del_ms: .[1], own_work_ms: .[2], ovn_installed_wait_ms: .[3],
              nb_read_bytes: .[4], nb_written_bytes: .[5], nb_requests: .[6],
              own_work_parts_ms: {to_allocate: .[8], allocate: .[7]}, peak_rss_mb: .[9]}')")
    done
    printf '%s\n' "${nets[@]}" | jq -s --argjson ports "${shape[0]}" --argjson nets "${shape[1]}" \
        --argjson fill "$(<"$dir/fill_ms")" --argjson s0 "${northd[0]}" --argjson s1 "${northd[1]}" \
        --argjson netports "$SCALE_NET_PORTS" \
        'def r(a; b): if (b // 0) > 0 then (a / b * 100 | round / 100) else null end;
        {ports_in_big: $ports, extra_networks: $nets, extra_network_ports: (if $nets > 0 then $netports else 0 end),
         fill_ms: $fill, northd_sync_ms: {after_fill: $s0, one_change: $s1},
         big: .[0], empty: .[1],
         ratio_big_empty: {add_p50: r(.[0].add_ms.p50; .[1].add_ms.p50), add_p90: r(.[0].add_ms.p90; .[1].add_ms.p90),
                           own_work_p50: r(.[0].own_work_ms.p50; .[1].own_work_ms.p50),
                           nb_read_p50: r(.[0].nb_read_bytes.p50; .[1].nb_read_bytes.p50)}}'
}

scale_concurrent_json() {
    local dir=$TMP/concurrent
    [[ -d $dir ]] || { echo null; return; }
    local tmp=$TMP/col
    local own read retries alloc pre examples
    # One error message per failure code.
    examples=$(cat "$dir"/calls.d/*.out 2>/dev/null | jq -sc 'map(select(type == "object" and .code != null))
        | group_by(.code) | map({(.[0].code | tostring): .[0].msg}) | add // {}' 2>/dev/null || echo "{}")
    scale_column "$dir/calls" "$SCALE_BIG" 3 >"$tmp"
    own=$(scale_stats_json "$tmp" 1000)
    scale_column "$dir/calls" "$SCALE_BIG" 5 >"$tmp"
    read=$(scale_stats_json "$tmp")
    scale_column "$dir/calls" "$SCALE_BIG" 10 >"$tmp"
    alloc=$(scale_stats_json "$tmp" 1000)
    scale_column "$dir/calls" "$SCALE_BIG" 11 >"$tmp"
    pre=$(scale_stats_json "$tmp" 1000)
    retries=$(awk '{ s += $8; if ($8 > 0) c++; if ($8 > m) m = $8 } END { printf "{\"total\": %d, \"calls_retried\": %d, \"max_per_call\": %d}", s, c, m }' "$dir/calls")
    jq -n --argjson n "$SCALE_CONC" --argjson chassis "$SCALE_CHASSIS" --argjson ports "$SCALE_FILLED" \
        --argjson add "$(scale_stats_json "$dir/ok.us" 1000)" --argjson own "$own" --argjson read "$read" \
        --argjson alloc "$alloc" --argjson pre "$pre" --argjson examples "$examples" \
        --argjson rss "$(scale_stats_json "$dir/rss_kb" 1024)" --argjson retries "$retries" \
        --argjson wall "$(<"$dir/wall_us")" --argjson dups "$(grep -c . "$dir/duplicates" || true)" \
        --argjson addrs "$(grep -c . "$dir/addresses" || true)" \
        --argjson delfail "$(<"$dir/del_failed")" \
        --argjson codes "$(sort "$dir/codes" | uniq -c | jq -R 'capture("(?<n>[0-9]+) (?<code>.*)") | {(.code): (.n | tonumber)}' | jq -s 'add // {}')" \
        '{adds: $n, chassis: $chassis, ports_in_big_before: $ports,
          per_chassis: [range(1; $chassis + 1) as $c | [range(1; $n + 1) | select((. - 1) % $chassis + 1 == $c)] | length],
          succeeded: ($n - ($codes | add // 0)), failed: ($codes | add // 0), failure_codes: $codes, failure_examples: $examples,
          duplicate_addresses: $dups, addresses_checked: $addrs,
          add_ms: $add, wall_s: ($wall / 10000 | round / 100), retries: $retries,
          own_work_ms: $own, own_work_parts_ms: {to_allocate: $pre, allocate: $alloc}, nb_read_bytes: $read, peak_rss_mb: $rss, del_failed: $delfail}'
}

scale_json() {
    local phases=() label
    for label in "${SCALE_LABELS[@]}"; do
        phases+=("$(scale_phase_json "$label")")
    done
    printf '%s\n' "${phases[@]}" | jq -s \
        --argjson m "$N" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        --arg cpu "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)" \
        --argjson cpus "$(nproc)" --arg kernel "$(uname -r)" \
        --arg ovn "$(ovn-nbctl --version | sed -n '1s/.* //p')" \
        --argjson conc "$(scale_concurrent_json)" --argjson chassis "$SCALE_CHASSIS" \
        --argjson own_max "$SCALE_OWN_MAX_MS" --argjson ratio_max "$SCALE_ADD_RATIO" \
        --argjson rss_max "$SCALE_RSS_MAX_KB" \
        '. as $p | ($p | map(select(.extra_networks == 0)) | max_by(.ports_in_big)) as $largest
        | ($p | map(select(.extra_networks == 0)) | min_by(.ports_in_big)) as $smallest
        | ([$p[] | .big, .empty | .own_work_ms.max // empty] | max) as $own
        | ([$p[] | .big, .empty | .peak_rss_mb.max // empty] + [$conc.peak_rss_mb.max // empty] | max) as $rss
        | {mode: "scale", adds_per_network: $m, chassis: $chassis, date: $date,
           machine: {cpus: $cpus, cpu: $cpu, kernel: $kernel, ovn: $ovn},
           phases: $p, concurrent: $conc,
           targets: {
             own_work_max_ms: {limit: $own_max, value: $own, met: ($own <= $own_max)},
             own_work_p50_big_over_empty: {limit: $ratio_max, value: ([$p[].ratio_big_empty.own_work_p50] | max),
                                           met: (([$p[].ratio_big_empty.own_work_p50] | max) <= $ratio_max)},
             add_p50_big_over_empty_at_largest: {ports: $largest.ports_in_big, limit: $ratio_max,
                                                value: $largest.ratio_big_empty.add_p50,
                                                met: ($largest.ratio_big_empty.add_p50 <= $ratio_max)},
             concurrent: (if $conc == null then null else
                          {failed: $conc.failed, duplicates: $conc.duplicate_addresses,
                           met: ($conc.failed == 0 and $conc.duplicate_addresses == 0)} end),
             nb_bytes_per_add_independent_of_size: {
               read_p50_largest_over_smallest: (if $smallest.big.nb_read_bytes.p50 > 0 then ($largest.big.nb_read_bytes.p50 / $smallest.big.nb_read_bytes.p50 * 100 | round / 100) else null end),
               written_p50_largest_over_smallest: (if $smallest.big.nb_written_bytes.p50 > 0 then ($largest.big.nb_written_bytes.p50 / $smallest.big.nb_written_bytes.p50 * 100 | round / 100) else null end),
               read_max_bytes_by_size: [$p[] | {ports: .ports_in_big, networks: .extra_networks, max: .big.nb_read_bytes.max}]},
             peak_rss_mb: {limit: ($rss_max / 1024), value: $rss, met: ($rss * 1024 < $rss_max)}}}'
}

scale_report() {
    local json
    json=$(scale_json)
    printf '%s\n' "$json" >"$TMP/result.json"
    if ((${JSON:-0})); then
        printf '%s\n' "$json"
        return
    fi
    jq -r '
    def f: if . == null then "-" else tostring end;
    def ms: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
    def kb: if . == null then "-" elif . >= 1048576 then "\(. / 1048576 * 10 | round / 10)M" elif . >= 1024 then "\(. / 1024 * 10 | round / 10)k" else tostring end;
    def pad(n): tostring | (" " * ([n - length, 0] | max)) + .;
    def padr(n): tostring | . + (" " * ([n - length, 0] | max));
    def target($what; $value; $met): "  " + ($what | padr(56)) + ($value | pad(12)) + "  " + (if $met then "met" else "NOT MET" end);
    def row($name; $x): [($name | padr(14)), ($x.add_ms.p50 | ms | pad(8)), ($x.add_ms.p90 | ms | pad(8)),
        ($x.own_work_ms.p50 | ms | pad(8)), ($x.own_work_ms.max | ms | pad(8)), ($x.own_work_parts_ms.allocate.p50 | ms | pad(8)), ($x.ovn_installed_wait_ms.p50 | ms | pad(9)),
        ($x.del_ms.p50 | ms | pad(8)), ("\($x.nb_read_bytes.p50 | kb)/\($x.nb_read_bytes.max | kb)" | pad(13)),
        ($x.nb_written_bytes.p50 | kb | pad(8)), ($x.nb_requests.p50 | f | pad(5)), ($x.peak_rss_mb.max | ms | pad(8))] | join(" ");
    "",
    "ovn-udn-cni at scale: \(.adds_per_network) ADDs per network and size on node1 of a \(.chassis)-chassis sandbox, by turns; \(.machine.cpus) CPUs, OVN \(.machine.ovn), \(.date)",
    "",
    ([("" | padr(14)), ("ADD p50" | pad(8)), ("p90" | pad(8)), ("own p50" | pad(8)), ("own max" | pad(8)), ("NB p50" | pad(8)), ("wait p50" | pad(9)),
      ("DEL p50" | pad(8)), ("NB read p50/max" | pad(13)), ("written" | pad(8)), ("reqs" | pad(5)), ("RSS max" | pad(8))] | join(" ")),
    ([("" | padr(14)), ("ms" | pad(8)), ("ms" | pad(8)), ("ms" | pad(8)), ("ms" | pad(8)), ("ms" | pad(8)), ("ms" | pad(9)),
      ("ms" | pad(8)), ("bytes" | pad(13)), ("bytes" | pad(8)), ("" | pad(5)), ("MB" | pad(8))] | join(" ")),
    (.phases[] |
      "\(.ports_in_big) ports in bench-big" + (if .extra_networks > 0 then ", \(.extra_networks) more networks of \(.extra_network_ports) ports" else "" end)
        + " (filled in \(.fill_ms) ms); ovn-nbctl --wait=sb sync: \(.northd_sync_ms.after_fill) ms after the fill, \(.northd_sync_ms.one_change) ms per change",
      row("  bench-big"; .big), row("  bench-empty"; .empty),
      "  big / empty  \(.ratio_big_empty.add_p50 | f | pad(7))x \(.ratio_big_empty.add_p90 | f | pad(7))x \(.ratio_big_empty.own_work_p50 | f | pad(7))x"),
    "",
    (.concurrent | select(. != null) |
      "\(.adds) ADDs at once on bench-big (\(.ports_in_big_before) ports), \(.per_chassis | map(tostring) | join("/")) over node1..\(.per_chassis | length):",
      "  succeeded \(.succeeded), failed \(.failed)" + (if .failed > 0 then " (codes: \(.failure_codes | to_entries | map("\(.key) x\(.value)") | join(", ")))" else "" end)
        + ", duplicate addresses \(.duplicate_addresses) (of \(.addresses_checked) in the NB)",
      (.failure_examples | to_entries[] | "  code \(.key): \(.value)"),
      "  ADD p50 \(.add_ms.p50 | ms) ms, p99 \(.add_ms.p99 | ms) ms, max \(.add_ms.max | ms) ms; all done in \(.wall_s) s",
      "  transaction retries \(.retries.total) (in \(.retries.calls_retried) calls, at most \(.retries.max_per_call) in one)",
      "  own work p50 \(.own_work_ms.p50 | ms) ms, p99 \(.own_work_ms.p99 | ms) ms (to the NB step p50 \(.own_work_parts_ms.to_allocate.p50 | ms) ms, NB step p50 \(.own_work_parts_ms.allocate.p50 | ms) ms)",
      "  NB read per ADD p50 \(.nb_read_bytes.p50 | kb), max \(.nb_read_bytes.max | kb); peak RSS max \(.peak_rss_mb.max | ms) MB",
      ""),
    "targets",
    (.targets |
      target("own work per ADD <= \(.own_work_max_ms.limit) ms (max of all ADDs)"; "\(.own_work_max_ms.value | ms) ms"; .own_work_max_ms.met),
      target("own work p50 big / empty <= \(.own_work_p50_big_over_empty.limit)x (worst size)"; "\(.own_work_p50_big_over_empty.value | f)x"; .own_work_p50_big_over_empty.met),
      target("ADD p50 big / empty <= \(.add_p50_big_over_empty_at_largest.limit)x at \(.add_p50_big_over_empty_at_largest.ports) ports"; "\(.add_p50_big_over_empty_at_largest.value | f)x"; .add_p50_big_over_empty_at_largest.met),
      (.concurrent | select(. != null) | target("concurrent ADDs: 0 failures, 0 duplicates"; "\(.failed) / \(.duplicates)"; .met)),
      target("peak RSS per ADD < \(.peak_rss_mb.limit) MB (max of all ADDs)"; "\(.peak_rss_mb.value | ms) MB"; .peak_rss_mb.met),
      (.nb_bytes_per_add_independent_of_size |
        "  NB bytes per ADD, bench-big at the largest / smallest size: read p50 \(.read_p50_largest_over_smallest | f)x, written p50 \(.written_p50_largest_over_smallest | f)x",
        "  NB bytes read by the costliest ADD, by size: \(.read_max_bytes_by_size | map("\(.ports)\(if .networks > 0 then "+\(.networks) networks" else "" end): \(.max | kb)") | join(", "))"))
    ' <<<"$json"
}

scale_main() {
    scale_setup
    scale_run
    scale_report
}
