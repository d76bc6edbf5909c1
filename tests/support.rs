//! Whole-product tests of gatehouse (see the `[[test]]` targets): each runs the `gatehouse`
//! binary as a user would. This library holds what they share.

use std::path::Path;
use std::process::{Command, Output, Stdio};

pub use gatehouse_testkit::{fake_helm, gatehouse_bin, path_with};

/// Runs `gatehouse` with `args`, `stdin` on its standard input and `env` added to its
/// environment (NO_COLOR unset unless given, so colour decisions are the binary's own).
pub fn run(args: &[&str], stdin: &str, env: &[(&str, &str)], dir: Option<&Path>) -> Output {
    let mut command = Command::new(gatehouse_bin());
    command
        .args(args)
        .env_remove("NO_COLOR")
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    gatehouse_testkit::output_with_stdin(&mut command, stdin)
}

/// stdout and stderr of a run, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Asserts that a run exited with `code` and said each of `words` (on stdout or stderr); returns
/// what it said.
pub fn expect_exit(out: &Output, code: i32, words: &[&str]) -> String {
    let shown = text(out);
    assert_eq!(out.status.code(), Some(code), "{shown}");
    for word in words {
        assert!(shown.contains(word), "{word:?} not in: {shown}");
    }
    shown
}
