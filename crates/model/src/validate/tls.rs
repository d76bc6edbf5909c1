//! `redis.tls`: a certificate source when TLS is on, and a cert-manager source cert-manager would
//! accept (issuer, durations and key as cert-manager itself validates them).

use super::Checker;
use crate::{CertificatePrivateKey, KeyAlgorithm, RedisTls, TlsCertificateSource, TlsClientAuth};

/// cert-manager refuses a `Certificate` whose `duration` is shorter than this
/// (`MinimumCertificateDuration`, one hour).
const MIN_DURATION_SECONDS: f64 = 3600.0;
/// cert-manager refuses a `renewBefore` shorter than this (`MinimumRenewBefore`, five minutes).
const MIN_RENEW_BEFORE_SECONDS: f64 = 300.0;
/// cert-manager's `duration` when none is given: 90 days.
const DEFAULT_DURATION_SECONDS: f64 = 90.0 * 24.0 * 3600.0;

/// Seconds of a Go duration (`2160h`, `1h30m`, `90m`, `0.5h`), the syntax cert-manager reads
/// with Go's `time.ParseDuration`; `None` when it is not one. Signs are refused: a negative
/// certificate lifetime means nothing.
pub(crate) fn go_duration_seconds(text: &str) -> Option<f64> {
    const UNITS: [(&str, f64); 7] = [
        ("ns", 1e-9),
        ("us", 1e-6),
        ("µs", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
    ];
    if text == "0" {
        return Some(0.0);
    }
    let mut rest = text;
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        // Longest unit first, so `ms` is not read as `m` + `s…`.
        let (unit, factor) = UNITS
            .iter()
            .filter(|(unit, _)| rest.starts_with(unit))
            .max_by_key(|(unit, _)| unit.len())?;
        rest = &rest[unit.len()..];
        total += number * factor;
    }
    (!text.is_empty()).then_some(total)
}

impl Checker {
    pub(super) fn tls(&mut self, tls: &RedisTls) {
        match (&tls.certificate, tls.enabled) {
            (None, true) => self.error(
                "redis.tls.certificate",
                "TLS is enabled but no certificate source is given: the Redis and Sentinel \
                 processes would have no certificate to serve",
                "add `certificate: {kind: certManager, issuerRef: {name: <issuer>, kind: \
                 ClusterIssuer}}` (gatehouse renders the Certificate) or `certificate: {kind: \
                 secret, name: <Secret with tls.crt, tls.key and ca.crt>}`, or set `enabled: false`",
            ),
            (Some(TlsCertificateSource::Secret { name, client_secret }), _) => {
                self.dns_subdomain("redis.tls.certificate.name", name);
                self.client_secret(tls, name, client_secret.as_deref());
            }
            (
                Some(TlsCertificateSource::CertManager {
                    issuer_ref,
                    duration,
                    renew_before,
                    private_key,
                }),
                _,
            ) => {
                if issuer_ref.name.is_empty() {
                    self.error(
                        "redis.tls.certificate.issuerRef.name",
                        "the issuer has no name: cert-manager would not know who signs the \
                         certificate",
                        "name the Issuer (in this namespace) or ClusterIssuer that signs it",
                    );
                } else {
                    self.dns_subdomain("redis.tls.certificate.issuerRef.name", &issuer_ref.name);
                }
                if let Some(group) = &issuer_ref.group {
                    self.dns_subdomain("redis.tls.certificate.issuerRef.group", group);
                }
                self.durations(duration.as_deref(), renew_before.as_deref());
                if let Some(key) = private_key {
                    self.private_key(key);
                }
            }
            (None, false) => {}
        }
    }

    /// Mutual TLS gives the gateway a key pair of its own: from an existing Secret, a second one.
    fn client_secret(&mut self, tls: &RedisTls, name: &str, client_secret: Option<&str>) {
        let path = "redis.tls.certificate.clientSecret";
        match (tls.client_auth, client_secret) {
            (TlsClientAuth::Required, None) if tls.enabled => self.error(
                path,
                "mutual TLS (`clientAuth: required`) needs a client certificate for the gateway, \
                 and the gateway must not hold the servers' private key",
                "add `clientSecret: <Secret with tls.crt and tls.key, a client certificate signed \
                 by the CA of ca.crt>`, or set `clientAuth: optional`",
            ),
            (TlsClientAuth::Required, Some(client)) => {
                self.dns_subdomain(path, client);
                if client == name {
                    self.error(
                        path,
                        "the same Secret as the servers' certificate: the gateway would hold \
                         the servers' private key",
                        "name a Secret with a client certificate of the gateway's own",
                    );
                }
            }
            (TlsClientAuth::Optional, Some(_)) => self.error(
                path,
                "a client certificate with `clientAuth: optional`: the gateway presents none \
                 then, so the Secret would not be used",
                "set `clientAuth: required`, or leave `clientSecret` out",
            ),
            _ => {}
        }
    }

    fn durations(&mut self, duration: Option<&str>, renew_before: Option<&str>) {
        let mut parse = |path: &str, text: &str| {
            let seconds = go_duration_seconds(text);
            if seconds.is_none() {
                self.error(
                    path,
                    format!("`{text}` is not a duration cert-manager reads"),
                    "write hours, minutes or seconds such as `2160h`, `720h`, `1h30m`",
                );
            }
            seconds
        };
        let duration_seconds = duration.and_then(|d| parse("redis.tls.certificate.duration", d));
        let renew_seconds =
            renew_before.and_then(|r| parse("redis.tls.certificate.renewBefore", r));
        if let Some(seconds) = duration_seconds
            && seconds < MIN_DURATION_SECONDS
        {
            self.error(
                "redis.tls.certificate.duration",
                "shorter than one hour: cert-manager refuses the Certificate",
                "use at least `1h` (certificates of days, e.g. `2160h`, renew calmly)",
            );
        }
        if let Some(renew) = renew_seconds {
            if renew < MIN_RENEW_BEFORE_SECONDS {
                self.error(
                    "redis.tls.certificate.renewBefore",
                    "shorter than five minutes: cert-manager refuses the Certificate",
                    "use at least `5m`, e.g. a third of the duration",
                );
            }
            if renew >= duration_seconds.unwrap_or(DEFAULT_DURATION_SECONDS) {
                self.error(
                    "redis.tls.certificate.renewBefore",
                    "not shorter than the certificate's duration: cert-manager would renew it \
                     without end",
                    "use less than `duration` (cert-manager's default duration is `2160h`)",
                );
            }
        }
    }

    fn private_key(&mut self, key: &CertificatePrivateKey) {
        let path = "redis.tls.certificate.privateKey.size";
        match (key.algorithm.unwrap_or(KeyAlgorithm::Rsa), key.size) {
            (_, None) => {}
            (KeyAlgorithm::Rsa, Some(size)) if !(2048..=8192).contains(&size) => self.error(
                path,
                format!("{size} bits: cert-manager issues RSA keys of 2048 to 8192 bits"),
                "use 2048, 3072 or 4096",
            ),
            (KeyAlgorithm::Ecdsa, Some(size)) if ![256, 384, 521].contains(&size) => self.error(
                path,
                format!("{size} bits: cert-manager issues ECDSA keys of 256, 384 or 521 bits"),
                "use 256, 384 or 521",
            ),
            (KeyAlgorithm::Ed25519, Some(_)) => self.error(
                path,
                "Ed25519 keys have no size to choose",
                "leave `size` out",
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::errors_of;
    use crate::{Deployment, IssuerKind, IssuerRef};

    fn secret(name: &str, client: Option<&str>) -> TlsCertificateSource {
        TlsCertificateSource::Secret {
            name: name.into(),
            client_secret: client.map(Into::into),
        }
    }

    #[test]
    fn mutual_tls_from_a_secret_needs_a_client_secret_of_its_own() {
        let mut d = Deployment::default();
        d.redis.tls.enabled = true;
        let path = "redis.tls.certificate.clientSecret";
        for (auth, client, error) in [
            (
                TlsClientAuth::Required,
                None,
                Some("needs a client certificate"),
            ),
            (
                TlsClientAuth::Required,
                Some("redis-tls"),
                Some("servers' private key"),
            ),
            (TlsClientAuth::Required, Some("redis-tls-gateway"), None),
            (
                TlsClientAuth::Optional,
                Some("redis-tls-gateway"),
                Some("would not be used"),
            ),
            (TlsClientAuth::Optional, None, None),
        ] {
            d.redis.tls.client_auth = auth;
            d.redis.tls.certificate = Some(secret("redis-tls", client));
            let problems = errors_of(&d);
            match error {
                None => assert_eq!(problems, vec![], "{auth:?} {client:?}"),
                Some(message) => {
                    assert_eq!(problems.len(), 1, "{problems:?}");
                    assert_eq!(problems[0].path, path);
                    assert!(problems[0].message.contains(message), "{problems:?}");
                }
            }
        }
    }

    fn cert_manager(name: &str) -> TlsCertificateSource {
        TlsCertificateSource::CertManager {
            issuer_ref: IssuerRef::new(name, IssuerKind::ClusterIssuer),
            duration: None,
            renew_before: None,
            private_key: None,
        }
    }

    #[test]
    fn tls_needs_a_certificate_source() {
        let mut d = Deployment::default();
        d.redis.tls.enabled = true;
        let problems = errors_of(&d);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "redis.tls.certificate");
        for source in ["kind: secret", "kind: certManager"] {
            assert!(problems[0].fix.contains(source), "{}", problems[0].fix);
        }
        d.redis.tls.certificate = Some(secret("redis-tls", None));
        assert_eq!(errors_of(&d), vec![]);
        d.redis.tls.certificate = Some(secret("Redis_TLS", None));
        assert_eq!(errors_of(&d)[0].path, "redis.tls.certificate.name");
        d.redis.tls.certificate = Some(cert_manager("internal-ca"));
        assert_eq!(errors_of(&d), vec![]);
    }

    #[test]
    fn a_cert_manager_source_needs_an_issuer_name() {
        let mut d = Deployment::default();
        d.redis.tls.enabled = true;
        for (name, message) in [("", "no name"), ("Internal_CA", "DNS-1123")] {
            d.redis.tls.certificate = Some(cert_manager(name));
            let problems = errors_of(&d);
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].path, "redis.tls.certificate.issuerRef.name");
            assert!(problems[0].message.contains(message), "{problems:?}");
        }
    }

    #[test]
    fn durations_are_what_cert_manager_accepts() {
        assert_eq!(go_duration_seconds("2160h"), Some(2160.0 * 3600.0));
        assert_eq!(go_duration_seconds("1h30m"), Some(5400.0));
        assert_eq!(go_duration_seconds("1.5h"), Some(5400.0));
        assert_eq!(go_duration_seconds("300ms"), Some(0.3));
        assert_eq!(go_duration_seconds(".5h"), Some(1800.0));
        for bad in ["", "90d", "90days", "h", "-1h", "1h ", "1 h", "1e3s"] {
            assert_eq!(go_duration_seconds(bad), None, "{bad:?}");
        }
        let mut d = Deployment::default();
        d.redis.tls.enabled = true;
        let with =
            |duration: Option<&str>, renew: Option<&str>| TlsCertificateSource::CertManager {
                issuer_ref: IssuerRef::new("ca", IssuerKind::Issuer),
                duration: duration.map(Into::into),
                renew_before: renew.map(Into::into),
                private_key: None,
            };
        for (duration, renew, path) in [
            (Some("90d"), None, "redis.tls.certificate.duration"),
            (Some("30m"), None, "redis.tls.certificate.duration"),
            (None, Some("1m"), "redis.tls.certificate.renewBefore"),
            (
                Some("24h"),
                Some("24h"),
                "redis.tls.certificate.renewBefore",
            ),
            (None, Some("2200h"), "redis.tls.certificate.renewBefore"),
        ] {
            d.redis.tls.certificate = Some(with(duration, renew));
            let problems = errors_of(&d);
            assert!(
                problems.iter().any(|p| p.path == path),
                "{duration:?} {renew:?}: {problems:?}"
            );
        }
        d.redis.tls.certificate = Some(with(Some("2160h"), Some("720h")));
        assert_eq!(errors_of(&d), vec![]);
    }

    #[test]
    fn key_sizes_fit_the_algorithm() {
        let mut d = Deployment::default();
        d.redis.tls.enabled = true;
        for (algorithm, size, ok) in [
            (None, 4096, true),
            (None, 1024, false),
            (Some(KeyAlgorithm::Ecdsa), 384, true),
            (Some(KeyAlgorithm::Ecdsa), 2048, false),
            (Some(KeyAlgorithm::Ed25519), 256, false),
        ] {
            let mut key = CertificatePrivateKey::default();
            key.algorithm = algorithm;
            key.size = Some(size);
            d.redis.tls.certificate = Some(TlsCertificateSource::CertManager {
                issuer_ref: IssuerRef::new("ca", IssuerKind::Issuer),
                duration: None,
                renew_before: None,
                private_key: Some(key),
            });
            let problems = errors_of(&d);
            assert_eq!(
                problems.is_empty(),
                ok,
                "{algorithm:?} {size}: {problems:?}"
            );
            if !ok {
                assert_eq!(problems[0].path, "redis.tls.certificate.privateKey.size");
            }
        }
    }
}
