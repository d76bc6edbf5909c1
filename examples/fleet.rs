//! One gateway per team, each in its own namespace, from one template: prints, per team, the
//! Sentinel addresses its gateway uses. Bad team names are reported all at once.
//!
//! Run: `cargo run -p gatehouse-examples --bin fleet -- payments search`

use gatehouse_render::render;

fn main() {
    let teams: Vec<String> = std::env::args().skip(1).collect();
    if teams.is_empty() {
        eprintln!("usage: fleet <team>...");
        std::process::exit(2);
    }
    let mut failed = false;
    for team in &teams {
        let deployment =
            gatehouse_model::presets::guide_example().with_namespace(format!("apim-{team}"));
        match deployment.validated() {
            Ok(valid) => {
                let rendered = render(&valid);
                let sentinel = &rendered.helm.values.gateway.ratelimit.redis.sentinel;
                let nodes: Vec<String> = sentinel
                    .nodes
                    .iter()
                    .map(|n| format!("{}:{}", n.host, n.port))
                    .collect();
                println!(
                    "{team}: {} objects; sentinels {}",
                    rendered.objects.len(),
                    nodes.join(",")
                );
            }
            Err(error) => {
                // As the `gatehouse` command prints it: each problem with its field and fix.
                eprintln!("{team}:");
                gatehouse::print_error(error);
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
