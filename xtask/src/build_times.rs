//! `cargo xtask build-times`: what a contributor waits for on a fresh clone, measured instead of
//! remembered. Clones HEAD into a temporary directory (with an empty target directory), then times
//! README's first command (`cargo xtask render`), then README's test command (`cargo test
//! --workspace`) in the same clone, and with `--ci` `bash .ci/run` in a second fresh clone. It
//! prints the rows of README's build-time table. Nothing here asserts a time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse_testkit::workspace_root;

/// Arguments of `cargo xtask build-times`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also time `bash .ci/run` in a second fresh clone (it installs system and Python packages).
    #[arg(long)]
    ci: bool,
    /// Where to put the clones (default: a new directory under the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Keep the clones and their target directories afterwards.
    #[arg(long)]
    keep: bool,
}

/// One timed step.
struct Step {
    what: &'static str,
    command: &'static str,
    wall: Duration,
}

/// Runs the measurements and prints the table rows.
pub fn run(args: Args) -> Result<(), String> {
    let root = workspace_root();
    let head = git(&root, &["rev-parse", "--short", "HEAD"])?;
    if !git(&root, &["status", "--porcelain", "--untracked-files=no"])?.is_empty() {
        eprintln!("build-times: uncommitted changes are not measured: the clone is of HEAD {head}");
    }
    let base = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("gatehouse-build-times-{}", std::process::id())),
    };
    std::fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    let result = measure(&root, &base, &args);
    if args.keep {
        eprintln!("build-times: kept {}", base.display());
    } else {
        let _ = std::fs::remove_dir_all(&base);
    }
    let steps = result?;
    println!("{}", table(&steps, &head, &load_average(), cores()));
    Ok(())
}

fn measure(root: &Path, base: &Path, args: &Args) -> Result<Vec<Step>, String> {
    let clone = fresh_clone(root, &base.join("first"))?;
    let mut steps = vec![
        timed(
            "first command",
            "cargo xtask render",
            &clone,
            "cargo",
            &["xtask", "render"],
        )?,
        timed(
            "test command, after it",
            "cargo test --workspace",
            &clone,
            "cargo",
            &["test", "--workspace"],
        )?,
    ];
    if args.ci {
        let clone = fresh_clone(root, &base.join("ci"))?;
        steps.push(timed(
            "CI from a clean clone",
            "bash .ci/run",
            &clone,
            "bash",
            &[".ci/run"],
        )?);
    }
    Ok(steps)
}

/// `git clone` of the checkout's HEAD into `dir/gatehouse`, with `dir/shared` linked to the
/// checkout's `../shared` when it exists (the drift tests read it there).
fn fresh_clone(root: &Path, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let clone = dir.join("gatehouse");
    let (root_text, clone_text) = (root.display().to_string(), clone.display().to_string());
    git(
        dir,
        &["clone", "--quiet", "--no-local", &root_text, &clone_text],
    )?;
    let shared = root.join("../shared");
    if shared.exists() {
        std::os::unix::fs::symlink(&shared, dir.join("shared"))
            .map_err(|e| format!("cannot link {}: {e}", shared.display()))?;
    }
    Ok(clone)
}

/// Runs `program args` in `dir` with the clone's own (empty) target directory; its output goes
/// to this process's stderr so that a long step shows progress.
fn timed(
    what: &'static str,
    command: &'static str,
    dir: &Path,
    program: &str,
    args: &[&str],
) -> Result<Step, String> {
    eprintln!("build-times: {command} in {}", dir.display());
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        // The clone's own target directory, and none of the outer `cargo run`'s settings.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO")
        .env_remove("CARGO_MANIFEST_DIR")
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {command}: {e}"))?;
    let wall = start.elapsed();
    if !status.success() {
        return Err(format!(
            "{command} failed ({status}) after {}",
            minutes(wall)
        ));
    }
    eprintln!("build-times: {command}: {}", minutes(wall));
    Ok(Step {
        what,
        command,
        wall,
    })
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{} min {:02} s", s / 60, s % 60)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// README's rows: what, command, wall time; and the conditions under the table.
fn table(steps: &[Step], head: &str, load: &str, cores: usize) -> String {
    let mut out = String::from("| step | command | wall time |\n|---|---|---:|\n");
    for step in steps {
        out.push_str(&format!(
            "| {} | `{}` | {} |\n",
            step.what,
            step.command,
            minutes(step.wall)
        ));
    }
    out.push_str(&format!(
        "\n(`cargo xtask build-times`: fresh clone of {head}, empty target directory, {cores} cores, load average {load} at the end)"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_step_with_minutes_and_seconds() {
        let steps = [
            Step {
                what: "first command",
                command: "cargo xtask render",
                wall: Duration::from_secs(125),
            },
            Step {
                what: "test command, after it",
                command: "cargo test --workspace",
                wall: Duration::from_secs(59),
            },
        ];
        let table = table(&steps, "abc1234", "0.42", 2);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[2],
            "| first command | `cargo xtask render` | 2 min 05 s |"
        );
        assert_eq!(
            lines[3],
            "| test command, after it | `cargo test --workspace` | 0 min 59 s |"
        );
        assert!(table.contains("fresh clone of abc1234") && table.contains("2 cores"));
        assert!(table.contains("load average 0.42"));
    }
}
