//! `ssl:` NB remotes: the plugin on chassis 1 talks to the NB database
//! through an ovsdb-server relay serving SSL on that chassis's loopback
//! (the way a node reaches a remote, secured NB), with the node config's
//! `tls` client certificate.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use e2e::net::assert_ping;
use e2e::{Network, Pod, PodSpec, ovn, process, sandbox};
use serde_json::json;

/// A CA and certificates made with openssl; the directory goes on drop.
struct Pki(PathBuf);

impl Pki {
    fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!("udn-tls-{}", e2e::names::unique("pki")));
        std::fs::create_dir_all(&dir).expect("pki dir");
        let pki = Pki(dir);
        for ca in ["ca", "other-ca"] {
            pki.new_key_and_request(
                ca,
                &[
                    "-x509",
                    "-days",
                    "1",
                    "-out",
                    &pki.file(&format!("{ca}.pem")),
                ],
            );
        }
        std::fs::write(pki.0.join("leaf.ext"), "basicConstraints=CA:FALSE\n").expect("ext");
        // Named after components, not addresses, as ovs-pki names them.
        for leaf in ["ovnnb", "ovn-udn-cni"] {
            pki.new_key_and_request(leaf, &["-out", &pki.file(&format!("{leaf}.csr"))]);
            pki.openssl(&[
                "x509",
                "-req",
                "-in",
                &pki.file(&format!("{leaf}.csr")),
                "-CA",
                &pki.file("ca.pem"),
                "-CAkey",
                &pki.file("ca.key"),
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                &pki.file("leaf.ext"),
                "-out",
                &pki.file(&format!("{leaf}.pem")),
            ]);
        }
        pki
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    fn openssl(&self, args: &[&str]) {
        process::must("openssl", args);
    }

    /// A new P-256 key `<name>.key` and a request (or, with `-x509`, a
    /// self-signed CA certificate) for `CN=<name>`, written where `out` says.
    fn new_key_and_request(&self, name: &str, out: &[&str]) {
        let key = self.file(&format!("{name}.key"));
        let subject = format!("/CN={name}");
        let mut args = vec![
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ];
        args.extend(["-nodes", "-keyout", &key, "-subj", &subject]);
        args.extend_from_slice(out);
        self.openssl(&args);
    }

    /// A node config for chassis 1 reaching NB at `nb` with `ca` as the CA.
    fn node_config(&self, nb: &str, ca: &str) -> String {
        let sb = sandbox();
        let path = self.file(&format!("node-{ca}.json"));
        let node = json!({
            "nbAddress": nb, "ovsAddress": sb.ovs_remote(1), "chassis": sb.chassis(1),
            "tls": {"privateKey": self.file("ovn-udn-cni.key"),
                    "certificate": self.file("ovn-udn-cni.pem"), "caCert": self.file(&format!("{ca}.pem"))},
        });
        std::fs::write(&path, node.to_string()).expect("node config");
        path
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An NB relay serving SSL inside chassis 1's namespace; killed by pid on drop.
struct Relay {
    pidfile: PathBuf,
    remote: String,
}

impl Relay {
    fn start(pki: &Pki) -> Relay {
        let sb = sandbox();
        // Tests run in parallel in one process: each relay its own port.
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let port = 20000 + (std::process::id() % 4000) * 8 + NEXT.fetch_add(1, Ordering::Relaxed);
        let pidfile = pki.0.join("relay.pid");
        let status = Command::new("ip")
            .args(["netns", "exec", &sb.node_netns(1), "ovsdb-server"])
            .arg(format!("--remote=pssl:{port}:127.0.0.1"))
            .arg(format!("--private-key={}", pki.file("ovnnb.key")))
            .arg(format!("--certificate={}", pki.file("ovnnb.pem")))
            .arg(format!("--ca-cert={}", pki.file("ca.pem")))
            .arg(format!("--pidfile={}", pidfile.display()))
            .arg(format!("--unixctl={}", pki.file("relay.ctl")))
            .arg(format!("--log-file={}", pki.file("relay.log")))
            .args([
                "--detach",
                &format!("relay:OVN_Northbound:{}", sb.nb_remote()),
            ])
            .status()
            .expect("ovsdb-server runs");
        assert!(status.success(), "the NB relay did not start");
        Relay {
            pidfile,
            remote: format!("ssl:127.0.0.1:{port}"),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.pidfile) {
            let _ = process::attempt("kill", &[pid.trim()]);
        }
    }
}

#[test]
fn pods_attach_through_an_ssl_nb_remote() {
    let pki = Pki::new();
    let relay = Relay::start(&pki);
    let node_config = pki.node_config(&relay.remote, "ca");
    let net = Network::layer2("tls", "10.36.0.0/24");
    let peer = Pod::add(&net, 2);
    let mut pod = PodSpec::new(&net, 1)
        .env("OVN_UDN_CNI_NODE_CONFIG", &node_config)
        .add();
    assert!(
        ovn::lsp(&pod.lsp_name()).is_some(),
        "the LSP reached the NB database"
    );
    assert_ping(pod.ns(), &peer.ip());
    pod.del().expect_ok("DEL over SSL");
    assert!(
        ovn::lsp(&pod.lsp_name()).is_none(),
        "DEL over SSL removed the LSP"
    );
    assert!(Path::new(&relay.pidfile).exists());
}

#[test]
fn an_untrusted_server_or_missing_tls_settings_are_refused() {
    let pki = Pki::new();
    let relay = Relay::start(&pki);
    let net = Network::layer2("tlsbad", "10.37.0.0/24");

    // The server's certificate is not signed by the CA we trust: retryable
    // (the NB may be reconfigured), and the message says why.
    let untrusting = pki.node_config(&relay.remote, "other-ca");
    let spec = PodSpec::new(&net, 1).env("OVN_UDN_CNI_NODE_CONFIG", &untrusting);
    spec.call("ADD")
        .run()
        .expect_error_naming(11, &["certificate"], "untrusted NB server");

    // An ssl: remote without TLS settings can never work: a config error.
    let plain = pki.file("node-plain.json");
    let sb = sandbox();
    let node = json!({"nbAddress": relay.remote, "ovsAddress": sb.ovs_remote(1), "chassis": sb.chassis(1)});
    std::fs::write(&plain, node.to_string()).expect("node config");
    let spec = PodSpec::new(&net, 1).env("OVN_UDN_CNI_NODE_CONFIG", &plain);
    spec.call("ADD")
        .run()
        .expect_error_naming(7, &["nbAddress", "tls"], "ssl without tls");
    assert!(
        net.lsp_names().is_empty(),
        "nothing reached the NB database"
    );
}
