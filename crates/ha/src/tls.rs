//! Certificates for a TLS group, made at test time with the `openssl` command line (the tool a
//! person would use; no certificate-making crate is in the offline registry), laid out like the
//! Kubernetes Secret the pods mount: `ca.crt`, `tls.crt`, `tls.key` in one directory.
//!
//! One certificate serves every process, as one Secret mounted into every pod does: its subject
//! alternative names are every pod's loopback address (what clients dial here, and what a client
//! with hostname verification checks) and the DNS names given.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::HarnessError;

/// The files of one TLS Secret, on disk.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The directory (the Secret's mount).
    pub dir: PathBuf,
}

impl TlsFiles {
    /// `ca.crt`.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }
    /// `tls.crt`.
    pub fn cert(&self) -> PathBuf {
        self.dir.join("tls.crt")
    }
    /// `tls.key`.
    pub fn key(&self) -> PathBuf {
        self.dir.join("tls.key")
    }
    /// The CA's own key (kept beside, outside the Secret layout, to sign renewed certificates).
    fn ca_key(&self) -> PathBuf {
        self.dir.join("..").join("ca-private").join("ca.key")
    }
}

/// What a certificate is for.
#[derive(Debug, Clone)]
pub struct CertRequest<'a> {
    /// Subject common name.
    pub common_name: &'a str,
    /// IP subject alternative names.
    pub ips: &'a [Ipv4Addr],
    /// DNS subject alternative names.
    pub dns: &'a [String],
    /// Validity, in days from now; negative makes a certificate that has already expired.
    pub days: i64,
}

fn openssl(args: &[&str], what: &str) -> Result<(), HarnessError> {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => HarnessError::MissingTool {
                tool: "openssl".into(),
                why: "to make the test certificates of a TLS group (apt-get install openssl)"
                    .into(),
            },
            _ => HarnessError::Io {
                what: format!("run openssl to {what}"),
                source,
            },
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(HarnessError::State {
        message: format!(
            "openssl failed to {what}: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Makes a CA and a certificate signed by it in `dir` (created), in the Secret's layout.
pub fn generate(dir: &Path, request: &CertRequest<'_>) -> Result<TlsFiles, HarnessError> {
    let files = TlsFiles {
        dir: dir.to_path_buf(),
    };
    let ca_dir = files
        .ca_key()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    for d in [dir, ca_dir.as_path()] {
        std::fs::create_dir_all(d).map_err(|source| HarnessError::Io {
            what: format!("create {}", d.display()),
            source,
        })?;
    }
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=gatehouse test CA",
            "-keyout",
            &path(&files.ca_key()),
            "-out",
            &path(&files.ca()),
        ],
        "make the test CA",
    )?;
    sign(&files, &files.dir, request)?;
    Ok(files)
}

/// Makes a new key and certificate for `request`, signed by the CA of `files`, and writes them as
/// `tls.crt`/`tls.key` into `out` (the same directory renews the served certificate in place,
/// through a temporary file and a rename, as a Secret volume update does).
pub fn sign(
    files: &TlsFiles,
    out: &Path,
    request: &CertRequest<'_>,
) -> Result<TlsFiles, HarnessError> {
    std::fs::create_dir_all(out).map_err(|source| HarnessError::Io {
        what: format!("create {}", out.display()),
        source,
    })?;
    let work = out.join(".new");
    std::fs::create_dir_all(&work).map_err(|source| HarnessError::Io {
        what: format!("create {}", work.display()),
        source,
    })?;
    let san: Vec<String> = request
        .ips
        .iter()
        .map(|ip| format!("IP:{ip}"))
        .chain(request.dns.iter().map(|d| format!("DNS:{d}")))
        .collect();
    let ext = work.join("ext.cnf");
    std::fs::write(
        &ext,
        format!(
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName={}\n",
            san.join(",")
        ),
    )
    .map_err(|source| HarnessError::Io {
        what: "write the certificate extensions".into(),
        source,
    })?;
    let (key, csr, cert) = (
        work.join("tls.key"),
        work.join("tls.csr"),
        work.join("tls.crt"),
    );
    openssl(
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            &format!("/CN={}", request.common_name),
            "-keyout",
            &path(&key),
            "-out",
            &path(&csr),
        ],
        "make a certificate request",
    )?;
    // OpenSSL 3.0 takes a negative `-days`: the certificate ends before it is made.
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            &path(&csr),
            "-CA",
            &path(&files.ca()),
            "-CAkey",
            &path(&files.ca_key()),
            "-CAcreateserial",
            "-days",
            &request.days.to_string(),
            "-extfile",
            &path(&ext),
            "-out",
            &path(&cert),
        ],
        "sign a certificate",
    )?;
    let target = TlsFiles {
        dir: out.to_path_buf(),
    };
    if target.ca() != files.ca() {
        std::fs::copy(files.ca(), target.ca()).map_err(|source| HarnessError::Io {
            what: "copy the CA certificate".into(),
            source,
        })?;
    }
    for (from, to) in [(key, target.key()), (cert, target.cert())] {
        std::fs::rename(&from, &to).map_err(|source| HarnessError::Io {
            what: format!("move {} into place", to.display()),
            source,
        })?;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(target)
}

/// The `notAfter` of the certificate the TLS listener at `addr` (`host:port`) serves now, asked
/// with `openssl s_client`; `None` when no handshake completes.
pub fn served_not_after(addr: &str, files: &TlsFiles) -> Option<String> {
    let served = Command::new("openssl")
        .args(["s_client", "-connect", addr, "-CAfile", &path(&files.ca())])
        .args(["-cert", &path(&files.cert()), "-key", &path(&files.key())])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let mut x509 = Command::new("openssl")
        .args(["x509", "-noout", "-enddate"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write as _;
    x509.stdin.take()?.write_all(&served.stdout).ok()?;
    let out = x509.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}
