//! Lists or prints the deployments `build.rs` compiled from `deploy/*.yaml` (see the library).
//!
//! Run: `cargo run -p gatehouse-example-build-script` lists the deployments;
//! `... -- production` prints its objects and Helm values (what `render --config` prints).

use std::process::ExitCode;

use gatehouse_example_build_script::deployments;

fn main() -> ExitCode {
    let Some(name) = std::env::args().nth(1) else {
        for compiled in deployments::ALL {
            let valid = (compiled.deployment)();
            println!(
                "{}: {} (namespace {}, {} replica(s), {} sentinel(s), {} warning(s)) {}",
                compiled.name,
                compiled.source,
                valid.namespace,
                valid.redis.replicas,
                valid.redis.sentinel.count,
                valid.warnings().len(),
                compiled.digest
            );
        }
        return ExitCode::SUCCESS;
    };
    match deployments::ALL.iter().find(|c| c.name == name) {
        Some(compiled) => {
            print!("{}", compiled.rendered);
            ExitCode::SUCCESS
        }
        None => {
            let names: Vec<&str> = deployments::ALL.iter().map(|c| c.name).collect();
            eprintln!("no deployment `{name}`; compiled: {}", names.join(", "));
            ExitCode::from(2)
        }
    }
}
