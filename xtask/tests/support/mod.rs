//! Helpers shared by the xtask integration tests.

use std::path::{Path, PathBuf};

/// Writes a fake `helm` into `<dir>/bin` that appends its arguments to `<dir>/helm-argv` and its
/// stdin to `<dir>/helm-stdin`; returns the `bin` directory to put first on PATH.
pub fn fake_helm(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" >> {d}/helm-argv\ncat >> {d}/helm-stdin\n",
        d = dir.display()
    );
    std::fs::write(bin.join("helm"), script).unwrap();
    std::fs::set_permissions(bin.join("helm"), std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}
