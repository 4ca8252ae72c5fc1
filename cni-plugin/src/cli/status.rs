//! `ovn-udn-cni status`: every check of this node and what it found, as a
//! table or JSON; exits 0 only when none failed.

use serde_json::json;

use super::checks::{Check, evaluate, healthy, verdict};
use super::error::CliError;
use super::facts::{Facts, Sources, gather};
use super::{block_on, table};

/// `status` and its options.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit status: 0 when no check fails, 1 otherwise.\n\n\
Examples:\n  ovn-udn-cni status\n  ovn-udn-cni status --json | jq '.checks[] | select(.state == \"fail\")'\n  \
ovn-udn-cni status --nb-address tcp:10.0.0.1:6641,tcp:10.0.0.2:6641\n  \
OVN_UDN_CNI_NODE_CONFIG=/etc/ovn-udn-cni/other.json ovn-udn-cni status")]
pub struct Args {
    #[command(flatten)]
    sources: Sources,
    /// Print JSON (`healthy`, `chassis`, `checks`, `facts`) instead of a table.
    #[arg(long)]
    json: bool,
}

/// Reads the node, prints every check, fails when one failed.
pub fn run(args: Args) -> Result<(), CliError> {
    let facts = block_on(gather(&args.sources))?;
    let checks = evaluate(&facts);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&document(&facts, &checks))?
        );
    } else {
        print!("{}", render(&facts, &checks));
    }
    verdict(&checks)
}

/// The `--json` answer.
fn document(facts: &Facts, checks: &[Check]) -> serde_json::Value {
    json!({
        "healthy": healthy(checks),
        "chassis": facts.chassis,
        "checks": checks,
        "facts": facts,
    })
}

/// The table of checks, then the verdict.
fn render(facts: &Facts, checks: &[Check]) -> String {
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| {
            vec![
                c.subject.clone(),
                c.state.as_str().to_owned(),
                c.detail.clone(),
            ]
        })
        .collect();
    let chassis = facts.chassis.as_deref().unwrap_or("(unknown)");
    let verdict = if healthy(checks) {
        "healthy".to_owned()
    } else {
        format!(
            "unhealthy: {} failed; `ovn-udn-cni doctor` says how to fix them",
            super::checks::failed(checks)
        )
    };
    format!(
        "chassis {chassis}\n{}{verdict}\n",
        table::render(&["CHECK", "STATE", "DETAIL"], &rows)
    )
}

#[cfg(test)]
mod tests {
    use super::super::checks::tests::healthy_facts;
    use super::*;

    #[test]
    fn the_table_lists_every_check_and_the_verdict() {
        let facts = healthy_facts();
        let checks = evaluate(&facts);
        let text = render(&facts, &checks);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "chassis node1");
        assert!(lines[1].starts_with("CHECK"), "{text}");
        assert_eq!(lines.len(), checks.len() + 3, "{text}");
        assert_eq!(lines.last(), Some(&"healthy"));
        assert!(text.contains("ovn-controller"), "{text}");

        let mut sick = facts;
        sick.ovn_controller.running = false;
        let checks = evaluate(&sick);
        assert!(render(&sick, &checks).contains("unhealthy: 1 failed"));
        assert!(verdict(&checks).is_err());
    }

    #[test]
    fn the_json_has_the_documented_fields() {
        let facts = healthy_facts();
        let doc = document(&facts, &evaluate(&facts));
        assert_eq!(doc["healthy"], true);
        assert_eq!(doc["chassis"], "node1");
        let first = &doc["checks"][0];
        for key in ["id", "subject", "state", "detail", "fix"] {
            assert!(first.get(key).is_some(), "checks[0].{key} in {doc}");
        }
        for key in [
            "pluginVersion",
            "nodeConfig",
            "nb",
            "ovs",
            "sb",
            "ovnController",
            "gateway",
            "networks",
        ] {
            assert!(doc["facts"].get(key).is_some(), "facts.{key} in {doc}");
        }
        assert_eq!(doc["facts"]["nb"]["members"][0]["leader"], true);
        assert_eq!(doc["facts"]["ovs"]["datapathType"], "netdev");
    }
}
