//! The plugin verifier init script, run here against a file server on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A file server for `dir` on a port the kernel picks (and python reports), so that tests running in
/// parallel never race for a port.
fn serve(dir: &Path) -> Server {
    use std::io::BufRead;
    const SERVER: &str = "import functools, http.server, sys\n\
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory='.')\n\
server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)\n\
print(server.server_address[1], flush=True)\n\
server.serve_forever()\n";
    let mut child = Command::new("python3")
        .args(["-c", SERVER])
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs a file server");
    let mut line = String::new();
    let read =
        std::io::BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line);
    match line.trim().parse() {
        Ok(port) if read.is_ok() => Server { child, port },
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the file server did not start: {line:?}");
        }
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../render/plugins/verify-plugins.sh")
}

fn run(dest: &Path, args: &[&str]) -> Output {
    Command::new("sh")
        .arg(script())
        .arg(dest)
        .args(args)
        .env("GATEHOUSE_PLUGIN_TIMEOUT", "5")
        .output()
        .expect("sh runs")
}

fn sha256(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new("sha256sum").arg(&file).output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

struct Setup {
    _served: tempfile::TempDir,
    server: Server,
    dest: tempfile::TempDir,
    good_sha: String,
}

fn setup() -> Setup {
    let served = tempfile::tempdir().unwrap();
    let content = b"PK\x03\x04 not really a zip, but bytes with a known digest";
    std::fs::write(
        served.path().join("gravitee-policy-demo-1.0.0.zip"),
        content,
    )
    .unwrap();
    let server = serve(served.path());
    Setup {
        _served: served,
        server,
        dest: tempfile::tempdir().unwrap(),
        good_sha: sha256(content),
    }
}

fn url(s: &Setup) -> String {
    format!(
        "http://127.0.0.1:{}/gravitee-policy-demo-1.0.0.zip",
        s.server.port
    )
}

#[test]
fn the_right_checksum_installs_the_plugin() {
    let s = setup();
    let out = run(s.dest.path(), &[&url(&s), &s.good_sha.to_uppercase()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        s.dest
            .path()
            .join("gravitee-policy-demo-1.0.0.zip")
            .is_file()
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified"));
}

#[test]
fn a_wrong_checksum_stops_with_a_clear_message_and_leaves_nothing() {
    let s = setup();
    let wrong = "0".repeat(64);
    let out = run(s.dest.path(), &[&url(&s), &wrong]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SHA-256 mismatch"), "{stderr}");
    assert!(stderr.contains(&s.good_sha), "{stderr}");
    assert_eq!(std::fs::read_dir(s.dest.path()).unwrap().count(), 0);
}

#[test]
fn an_unreachable_url_stops_with_a_clear_message() {
    let s = setup();
    // Port 1 (tcpmux) is privileged and unused: connections are refused, and no other test's file
    // server can ever take it.
    let dead = "http://127.0.0.1:1/gravitee-policy-demo-1.0.0.zip".to_string();
    let out = run(s.dest.path(), &[&dead, &s.good_sha]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot download"), "{stderr}");
    // A missing file on a live server is refused too (HTTP 404).
    let missing = url(&s).replace("demo-1.0.0", "absent-1.0.0");
    let out = run(s.dest.path(), &[&missing, &s.good_sha]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read_dir(s.dest.path()).unwrap().count(), 0);
}

#[test]
fn arguments_are_data_not_shell() {
    let s = setup();
    let marker = s.dest.path().join("pwned");
    let evil = format!(
        "http://127.0.0.1:{}/x$(touch {}).zip",
        s.server.port,
        marker.display()
    );
    let out = run(s.dest.path(), &[&evil, "-"]);
    assert!(!out.status.success());
    assert!(!marker.exists(), "a URL was executed by the shell");
    let odd = run(s.dest.path(), &[&url(&s)]);
    assert!(!odd.status.success());
    assert!(String::from_utf8_lossy(&odd.stderr).contains("pairs"));
}

#[test]
fn a_plugin_without_checksum_is_downloaded_and_reported_unverified() {
    let s = setup();
    let out = run(s.dest.path(), &[&url(&s), "-"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("WITHOUT checksum"));
}
