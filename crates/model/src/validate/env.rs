//! Gateway plain environment variables: names that look like secrets are errors pointing at the
//! secret sources (a plain value lands in the Helm values); values are never shown.

use std::collections::BTreeSet;

use super::Checker;
use crate::{Deployment, shown};

/// Words in a variable name that mark it as a secret, in any case.
const SECRET_WORDS: [&str; 6] = ["PASSWORD", "PASSWD", "TOKEN", "SECRET", "KEY", "CREDENTIAL"];

/// Whether `name` is a valid environment variable name.
pub(super) fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// The word that makes a variable name look like it holds a secret (`PASSWORD`, `TOKEN`, ... in
/// any case), if any.
pub(crate) fn looks_secret(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().copied().find(|w| upper.contains(w))
}

const SECRET_SOURCES: &str = "put secrets in a secret source (redis.password, gateway.licenseKey, \
     gateway.cloudToken: from env, existingSecret or generated); gateway.env is for plain settings";

impl Checker {
    pub(super) fn env(&mut self, d: &Deployment) {
        let mut seen = BTreeSet::new();
        for (index, var) in d.gateway.env.iter().enumerate() {
            let path = format!("gateway.env[{index}].name");
            if var.name.is_empty() {
                self.error(&path, "is empty", "give the variable a name");
                continue;
            }
            let name = shown(&var.name);
            if !is_env_name(&var.name) {
                self.error(
                    &path,
                    format!("`{name}` is not a valid environment variable name"),
                    "use letters, digits, `_`, `-` and `.`, not starting with a digit",
                );
            }
            // Set by gatehouse from Secrets, in every chart line's names: by hand it would bypass
            // the secret source.
            let reserved = gatehouse_chart_contract::secret_env_names();
            if reserved.contains(&var.name.to_ascii_lowercase().as_str()) {
                self.error(
                    &path,
                    format!(
                        "`{name}` is set by gatehouse from a Secret; a plain value would put a \
                         secret in the Helm values"
                    ),
                    SECRET_SOURCES,
                );
            } else if let Some(word) = looks_secret(&var.name) {
                self.error(
                    &path,
                    format!(
                        "`{name}` looks like a secret (its name contains {word}); a plain env \
                         value is written into the Helm values"
                    ),
                    SECRET_SOURCES,
                );
            }
            if !seen.insert(var.name.clone()) {
                self.error(&path, format!("`{name}` is set twice"), "set it once");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Deployment, EnvVar};

    #[test]
    fn secret_looking_names_are_errors_without_the_value() {
        for name in [
            "REDIS_PASSWORD",
            "my_api_token",
            "ClientSecret",
            "AWS_ACCESS_KEY_ID",
            "db_credentials",
        ] {
            let mut d = Deployment::default();
            d.gateway.env.push(EnvVar {
                name: name.into(),
                value: "plain-s3cret-value".into(),
            });
            let err = d.validated().unwrap_err();
            assert!(err.has_path("gateway.env[0].name"), "{name}");
            assert!(!err.to_string().contains("plain-s3cret-value"), "{err}");
            assert!(err.to_string().contains("redis.password"), "{err}");
        }
        let mut d = Deployment::default();
        d.gateway.env.push(EnvVar {
            name: "JAVA_OPTS".into(),
            value: "-Xmx512m".into(),
        });
        assert!(d.validated().is_ok());
    }
}
