//! The gateway release through the Helm CLI: `helm upgrade --install` with the values on stdin.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use gatehouse_render::HelmRelease;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::ApplyError;
use crate::secrets::Masker;

/// A located `helm` executable and the cluster it talks to.
#[derive(Debug, Clone)]
pub struct Helm {
    binary: PathBuf,
    context: Option<String>,
    kubeconfig: Option<PathBuf>,
}

impl Helm {
    /// Uses `binary`, or finds `helm` on PATH; [`ApplyError::HelmMissing`] otherwise.
    pub fn locate(
        binary: Option<PathBuf>,
        context: Option<String>,
        kubeconfig: Option<PathBuf>,
    ) -> Result<Helm, ApplyError> {
        // `which` checks that a given path is an executable file, or searches PATH for `helm`.
        let binary = which::which(binary.as_deref().unwrap_or(Path::new("helm")))
            .map_err(|_| ApplyError::HelmMissing)?;
        Ok(Helm {
            binary,
            context,
            kubeconfig,
        })
    }

    fn cluster_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(c) = &self.context {
            args.extend(["--kube-context".to_string(), c.clone()]);
        }
        if let Some(k) = &self.kubeconfig {
            args.extend(["--kubeconfig".to_string(), k.display().to_string()]);
        }
        args
    }

    /// The arguments of `helm upgrade --install` for a release.
    pub fn upgrade_args(
        &self,
        release: &HelmRelease,
        dry_run: bool,
        timeout: Duration,
    ) -> Vec<String> {
        let mut args: Vec<String> = [
            "upgrade",
            "--install",
            &release.release_name,
            &release.chart,
            "--repo",
            &release.repository,
            "--version",
            &release.version,
            "--namespace",
            &release.namespace,
            "--values",
            "-",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if dry_run {
            args.push("--dry-run=server".into());
        } else {
            args.extend([
                "--wait".into(),
                "--timeout".into(),
                format!("{}s", timeout.as_secs()),
            ]);
        }
        args.extend(self.cluster_args());
        args
    }

    async fn run(
        &self,
        args: &[String],
        stdin: Option<&str>,
        masker: &Masker,
    ) -> Result<(bool, String, String), ApplyError> {
        let mut child = Command::new(&self.binary)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => ApplyError::HelmMissing,
                _ => ApplyError::Io {
                    what: format!("running {}", self.binary.display()),
                    source: e,
                },
            })?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A helm that exits before reading its stdin reports through its exit status.
            match pipe.write_all(text.as_bytes()).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => {
                    return Err(ApplyError::Io {
                        what: "writing Helm values to helm's stdin".into(),
                        source: e,
                    });
                }
            }
            drop(pipe);
        }
        let output = child.wait_with_output().await.map_err(|e| ApplyError::Io {
            what: format!("waiting for {}", self.binary.display()),
            source: e,
        })?;
        Ok((
            output.status.success(),
            masker.mask(String::from_utf8_lossy(&output.stdout).trim()),
            masker.mask(String::from_utf8_lossy(&output.stderr).trim()),
        ))
    }

    /// Whether the release is deployed with exactly this chart version and these values
    /// (`helm status -o json`: `info.status`, `chart.metadata.version`, `config`).
    pub async fn is_current(
        &self,
        release: &HelmRelease,
        masker: &Masker,
    ) -> Result<bool, ApplyError> {
        let mut args: Vec<String> = vec![
            "status".into(),
            release.release_name.clone(),
            "--namespace".into(),
            release.namespace.clone(),
            "--output".into(),
            "json".into(),
        ];
        args.extend(self.cluster_args());
        let (ok, stdout, _) = self.run(&args, None, masker).await?;
        if !ok {
            return Ok(false);
        }
        let Ok(status) = serde_json::from_str::<serde_json::Value>(&stdout) else {
            return Ok(false);
        };
        let values = serde_json::to_value(&release.values).expect("values serialize");
        Ok(status["info"]["status"] == "deployed"
            && status["chart"]["metadata"]["name"] == release.chart.as_str()
            && status["chart"]["metadata"]["version"] == release.version.as_str()
            && status["config"] == values)
    }

    /// Runs `helm upgrade --install` (or its `--dry-run=server`) with the values on stdin.
    pub async fn upgrade_install(
        &self,
        release: &HelmRelease,
        dry_run: bool,
        timeout: Duration,
        masker: &Masker,
    ) -> Result<String, ApplyError> {
        let args = self.upgrade_args(release, dry_run, timeout);
        let (ok, _, stderr) = self
            .run(&args, Some(&release.values_yaml()), masker)
            .await?;
        if !ok {
            return Err(ApplyError::HelmFailed {
                command: format!("upgrade --install {}", release.release_name),
                status: "non-zero exit".into(),
                stderr,
            });
        }
        Ok(format!(
            "Helm release {}/{} (chart {} {}) {}",
            release.namespace,
            release.release_name,
            release.chart,
            release.version,
            if dry_run {
                "validated (server dry run)"
            } else {
                "deployed"
            }
        ))
    }

    /// Runs `helm uninstall`; `None` when the release does not exist.
    pub async fn uninstall(
        &self,
        release: &HelmRelease,
        timeout: Duration,
        masker: &Masker,
    ) -> Result<Option<String>, ApplyError> {
        let mut args: Vec<String> = vec![
            "uninstall".into(),
            release.release_name.clone(),
            "--namespace".into(),
            release.namespace.clone(),
            "--wait".into(),
            "--timeout".into(),
            format!("{}s", timeout.as_secs()),
        ];
        args.extend(self.cluster_args());
        let (ok, _, stderr) = self.run(&args, None, masker).await?;
        if ok {
            Ok(Some(format!(
                "Helm release {}/{} uninstalled",
                release.namespace, release.release_name
            )))
        } else if stderr.contains("not found") {
            Ok(None)
        } else {
            Err(ApplyError::HelmFailed {
                command: format!("uninstall {}", release.release_name),
                status: "non-zero exit".into(),
                stderr,
            })
        }
    }
}
