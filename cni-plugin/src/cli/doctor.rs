//! `ovn-udn-cni doctor`: the checks of `status`, but only those that did
//! not pass, each with what is wrong and the command that fixes it.

use serde_json::json;

use super::block_on;
use super::checks::{Check, State, evaluate, healthy, verdict};
use super::error::CliError;
use super::facts::{Sources, gather};

/// `doctor` and its options.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when no check fails (warnings may remain), 1 otherwise.\n\n\
Examples:\n  ovn-udn-cni doctor\n  ovn-udn-cni doctor --json | jq -r '.problems[].fix'\n  \
ovn-udn-cni doctor --ovn-rundir /var/run/ovn"
)]
pub struct Args {
    #[command(flatten)]
    sources: Sources,
    /// Print JSON (`healthy`, `chassis`, `problems`) instead of text.
    #[arg(long)]
    json: bool,
}

/// Reads the node, explains every problem, fails when one is a failure.
pub fn run(args: Args) -> Result<(), CliError> {
    let facts = block_on(gather(&args.sources))?;
    let checks = evaluate(&facts);
    if args.json {
        let doc = json!({
            "healthy": healthy(&checks),
            "chassis": facts.chassis,
            "problems": problems(&checks),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", render(facts.chassis.as_deref(), &checks));
    }
    verdict(&checks)
}

/// The checks that did not pass, failures first.
fn problems(checks: &[Check]) -> Vec<&Check> {
    let mut problems: Vec<&Check> = checks
        .iter()
        .filter(|c| matches!(c.state, State::Fail | State::Warn))
        .collect();
    problems.sort_by_key(|c| c.state != State::Fail);
    problems
}

/// One paragraph per problem: verdict, subject, what was found, the fix.
fn render(chassis: Option<&str>, checks: &[Check]) -> String {
    let chassis = chassis.unwrap_or("(unknown)");
    let problems = problems(checks);
    if problems.is_empty() {
        return format!(
            "chassis {chassis}: no problems found ({} checks)\n",
            checks.len()
        );
    }
    let mut text = format!(
        "chassis {chassis}: {} problem{} found\n",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        text.push_str(&format!(
            "\n{} {}: {}\n",
            p.state.as_str().to_uppercase(),
            p.subject,
            p.detail
        ));
        if let Some(fix) = &p.fix {
            text.push_str(&format!("  fix: {fix}\n"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::checks::tests::healthy_facts;
    use super::*;

    #[test]
    fn a_healthy_node_has_nothing_to_fix() {
        let checks = evaluate(&healthy_facts());
        let text = render(Some("node1"), &checks);
        assert!(
            text.starts_with("chassis node1: no problems found"),
            "{text}"
        );
    }

    #[test]
    fn failures_come_first_each_with_its_fix() {
        let mut facts = healthy_facts();
        facts.ovn_controller.running = false;
        facts.ovn_controller.error = Some("no ovn-controller.pid in /var/run/ovn".into());
        facts.nb.members[1].reachable = false;
        let checks = evaluate(&facts);
        let text = render(Some("node1"), &checks);
        assert!(
            text.starts_with("chassis node1: 2 problems found"),
            "{text}"
        );
        let fail = text.find("FAIL ovn-controller: not running").expect(&text);
        let warn = text.find("WARN NB member tcp:10.0.0.2:6641").expect(&text);
        assert!(fail < warn, "{text}");
        assert!(text.contains("  fix: start ovn-controller"), "{text}");
    }
}
