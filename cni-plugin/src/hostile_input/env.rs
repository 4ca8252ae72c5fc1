//! The CNI_* environment: set by the runtime, but CNI_ARGS and the names
//! in it come from the tenant's pod.

use conf::name_rules;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

use super::args::{check_input_error, cni_args, name_value};
use super::{config, text};
use crate::cni::env::{CniEnv, Command};

const COMMANDS: [&str; 6] = ["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"];

/// Whether the verb acts on one container, whose id and ifname it checks.
fn per_container(command: Command) -> bool {
    matches!(command, Command::Add | Command::Del | Command::Check)
}

proptest! {
    #![proptest_config(config(256))]

    /// The CNI_* environment: anything the runtime sets gives a validated
    /// environment or a code 4 error.
    #[test]
    fn the_environment_is_validated(
        command in prop_oneof![select(&COMMANDS[..]).prop_map(String::from), text()],
        container in option::of(name_value()),
        ifname in option::of(prop_oneof!["[ -~]{0,17}", text()]),
        netns in option::of(text()),
        args in option::of(cni_args()),
    ) {
        let lookup = |key: &str| match key {
            "CNI_COMMAND" => Some(command.clone()),
            "CNI_CONTAINERID" => container.clone(),
            "CNI_IFNAME" => ifname.clone(),
            "CNI_NETNS" => netns.clone(),
            "CNI_ARGS" => args.clone(),
            "CNI_PATH" => Some("/opt/cni/bin".into()),
            _ => None,
        };
        match CniEnv::from_lookup(lookup) {
            Err(err) => check_input_error(&err),
            Ok(None) => prop_assert!(false, "CNI_COMMAND is set"),
            Ok(Some(env)) if per_container(env.command) => {
                prop_assert!(name_rules::container_id(&env.container_id).is_ok());
                prop_assert!(name_rules::interface_name(&env.ifname).is_ok(), "{:?}", env.ifname);
                prop_assert_eq!(env.args, args.unwrap_or_default());
            }
            Ok(Some(env)) => prop_assert_eq!(env.args, args.unwrap_or_default()),
        }
    }
}
