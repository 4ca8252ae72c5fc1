//! `ovn-udn-cni gc`: the node-side collector for attachments that no
//! runtime will ever clean up (a DEL that could not reach the NB and was
//! never retried, a crash between ADD's steps). Run on each node from a
//! timer or the node DaemonSet, in the node's network namespace.

mod plan;

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use conf::NodeConfig;
use netns::{Handle, Netns};
use ovsdb::Client;

use crate::commands::{Parts, teardown};
use crate::error::PluginError;
use crate::ovn::ovs;
use crate::ovn::port::record;
use crate::request::{connect_nb, connect_ovs};
use plan::{Leak, Snapshot, plan};

/// `gc` and its options.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  ovn-udn-cni gc --dry-run\n  ovn-udn-cni gc --grace-period 600"
)]
pub struct Args {
    /// List what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Leave logical ports an attachment joined less than this many seconds
    /// ago: their ADD may still be on its way to the OVS port.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    grace_period: u64,
}

/// Runs the collector for this chassis and prints what it removed.
pub fn run(args: Args) -> anyhow::Result<()> {
    let node = NodeConfig::load().context("loading the node config")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let host = Handle::new(&Netns::current()?)?;
        let ovs = connect_ovs(&node).await?;
        let chassis = ovs::read_node(&ovs, &node.bridge, node.chassis.as_deref())
            .await?
            .chassis;
        let nb = connect_nb(&node).await?;
        let snapshot = Snapshot {
            veths: host.list_veths_with_prefix("udn").await?,
            interfaces: ovs::plugin_interfaces(&ovs, None).await?,
            ports: record::pod_ports(&nb).await?,
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let leaks = plan(&snapshot, &chassis, now, args.grace_period);
        let verb = if args.dry_run {
            "would remove"
        } else {
            "removed"
        };
        let mut failed = 0;
        for leak in &leaks {
            if !args.dry_run
                && let Err(e) = remove(&nb, &ovs, &host, leak).await
            {
                failed += 1;
                println!("failed to remove {leak}: {e}");
                continue;
            }
            println!("{verb} {leak}");
        }
        println!(
            "chassis {chassis}: {verb} {} of {} leaked pieces",
            leaks.len() - failed,
            leaks.len()
        );
        if failed > 0 {
            bail!("{failed} could not be removed");
        }
        Ok(())
    })
}

/// Removes one leak through DEL's teardown, given only the pieces that are
/// leaked: a logical port goes only while the leaked sandbox still owns it.
async fn remove(nb: &Client, ovs: &Client, host: &Handle, leak: &Leak) -> Result<(), PluginError> {
    let (nb, ovs, parts) = match leak {
        Leak::LogicalPort {
            lsp,
            sandbox,
            host_veth,
        } => (
            Some(nb),
            Some(ovs),
            Parts {
                host_ifname: host_veth,
                lsp,
                sandbox,
            },
        ),
        Leak::OvsPort { name, sandbox, .. } => (
            None,
            Some(ovs),
            Parts {
                host_ifname: name,
                lsp: "",
                sandbox,
            },
        ),
        Leak::Veth { name } => (
            None,
            None,
            Parts {
                host_ifname: name,
                lsp: "",
                sandbox: "",
            },
        ),
    };
    PluginError::from_all(teardown(nb, ovs, host, &parts).await)
}
