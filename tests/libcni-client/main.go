// Command libcni-client drives a CNI network list through the Go libcni
// (github.com/containernetworking/cni/libcni), the library containerd,
// CRI-O, podman and Multus run plugins with: its plugin lookup, config
// injection, result cache and version checks, not ours. The e2e test
// tests/tests/libcni.rs runs one verb per invocation with a shared cache
// directory, as a runtime does over a container's life.
//
// Usage:
//
//	libcni-client -conflist FILE -bin-dir DIR -cache-dir DIR \
//	    [-id ID -netns PATH -ifname NAME -args 'K=V;K=V' -ips CIDR,... -mac MAC] VERB
//
// VERB is add (prints the result as JSON), check, del, validate (prints the
// capabilities the list supports, as JSON) or version (prints the plugin's
// VERSION answer, as JSON). Errors go to stderr with exit status 1.
//
// Built offline in GOPATH mode against Debian's golang-github-appc-cni-dev:
// GO111MODULE=off GOPATH=/usr/share/gocode go build.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
)

func main() {
	conflist := flag.String("conflist", "", "network config list file")
	binDir := flag.String("bin-dir", "", "directory holding the plugins")
	cacheDir := flag.String("cache-dir", "", "libcni's result cache")
	id := flag.String("id", "", "container id")
	netns := flag.String("netns", "", "network namespace path")
	ifname := flag.String("ifname", "eth0", "interface name")
	args := flag.String("args", "", "CNI_ARGS as K=V;K=V")
	ips := flag.String("ips", "", "comma-separated CIDRs for the ips capability")
	mac := flag.String("mac", "", "MAC for the mac capability")
	flag.Parse()
	if flag.NArg() != 1 || *conflist == "" || *binDir == "" || *cacheDir == "" {
		fail(fmt.Errorf("usage: libcni-client -conflist FILE -bin-dir DIR -cache-dir DIR [options] add|check|del|validate|version"))
	}
	list, err := libcni.ConfListFromFile(*conflist)
	if err != nil {
		fail(fmt.Errorf("conflist %s: %w", *conflist, err))
	}
	cni := libcni.NewCNIConfigWithCacheDir([]string{*binDir}, *cacheDir, nil)
	rt := &libcni.RuntimeConf{
		ContainerID:    *id,
		NetNS:          *netns,
		IfName:         *ifname,
		CapabilityArgs: map[string]interface{}{},
	}
	for _, kv := range strings.Split(*args, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			rt.Args = append(rt.Args, [2]string{k, v})
		}
	}
	if *ips != "" {
		rt.CapabilityArgs["ips"] = strings.Split(*ips, ",")
	}
	if *mac != "" {
		rt.CapabilityArgs["mac"] = *mac
	}
	// The plugin's own readyTimeout is 30 s; leave room for one retry.
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	switch verb := flag.Arg(0); verb {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(fmt.Errorf("ADD: %w", err))
		}
		if err := result.Print(); err != nil {
			fail(fmt.Errorf("printing the ADD result: %w", err))
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(fmt.Errorf("CHECK: %w", err))
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(fmt.Errorf("DEL: %w", err))
		}
	case "validate":
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			fail(fmt.Errorf("validate: %w", err))
		}
		printJSON(caps)
	case "version":
		info, err := cni.GetVersionInfo(ctx, list.Plugins[0].Network.Type)
		if err != nil {
			fail(fmt.Errorf("VERSION: %w", err))
		}
		printJSON(map[string]interface{}{"supportedVersions": info.SupportedVersions()})
	default:
		fail(fmt.Errorf("unknown verb %q (add, check, del, validate, version)", verb))
	}
}

func printJSON(value interface{}) {
	if err := json.NewEncoder(os.Stdout).Encode(value); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "libcni-client:", err)
	os.Exit(1)
}
