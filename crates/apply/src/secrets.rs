//! Secret values: where they come from, the Secrets gatehouse writes, and masking.
//!
//! Values are read (environment) or generated here, only ever go into Secret objects sent to the
//! API server, and are registered with a [`Masker`] so that no message, error or diff shows them.

use base64::Engine;
use gatehouse_model::{SecretRole, SecretSource};
use gatehouse_render::SecretRequirement;
use serde_json::{Value, json};

/// Replaces every known secret value (and its base64 form) with `***`.
///
/// ```
/// let mut m = gatehouse_apply::secrets::Masker::default();
/// m.add("hunter22");
/// assert_eq!(m.mask("password is hunter22"), "password is ***");
/// ```
#[derive(Debug, Default, Clone)]
pub struct Masker {
    values: Vec<String>,
}

impl Masker {
    /// Registers a secret value. Values shorter than 4 characters are masked too, but they are
    /// then likely to hide unrelated text as well.
    pub fn add(&mut self, value: &str) {
        if value.is_empty() {
            return;
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
        for v in [value.to_string(), encoded] {
            if !self.values.contains(&v) {
                self.values.push(v);
            }
        }
        // Longest first, so a value containing another is masked whole.
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// The text with every registered value replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        let mut text = text.to_string();
        for v in &self.values {
            if text.contains(v.as_str()) {
                text = text.replace(v.as_str(), "***");
            }
        }
        text
    }
}

/// What the apply step does for one secret requirement.
#[derive(Debug, Clone, PartialEq)]
pub enum SecretAction {
    /// Check that an existing Secret has the key.
    CheckExisting {
        /// Model field.
        field: String,
        /// Namespace.
        namespace: String,
        /// Secret name.
        name: String,
        /// Key.
        key: String,
    },
    /// Server-side apply this Secret (value from the environment).
    Apply(Value),
    /// Create this Secret if it does not exist; never overwrite it (generated value).
    CreateOnce(Value),
}

/// The Secret object holding one value.
fn secret_object(req: &SecretRequirement, value: &str) -> Value {
    let encode = |v: &str| base64::engine::general_purpose::STANDARD.encode(v.as_bytes());
    let mut data = serde_json::Map::new();
    for (key, fixed) in req.role.fixed_entries() {
        data.insert((*key).to_string(), json!(encode(fixed)));
    }
    data.insert(req.secret.key.clone(), json!(encode(value)));
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": req.secret.name,
            "namespace": req.namespace,
            "labels": {"app.kubernetes.io/managed-by": "gatehouse"},
        },
        "data": data,
    })
}

/// A random value for a generated secret: 32 random bytes, base64url without padding.
pub fn generate_value() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decides what to do for each requirement. `env` looks up environment variables (the process
/// environment in the CLI). Every value read or generated is registered with `masker`.
pub fn plan_secrets(
    requirements: &[SecretRequirement],
    env: &dyn Fn(&str) -> Option<String>,
    masker: &mut Masker,
) -> Result<Vec<SecretAction>, crate::ApplyError> {
    let mut actions = Vec::new();
    let mut missing = Vec::new();
    for req in requirements {
        let field = req.role.field_path().to_string();
        match &req.source {
            SecretSource::ExistingSecret { name, key } => {
                for (fixed, _) in req.role.fixed_entries() {
                    actions.push(SecretAction::CheckExisting {
                        field: field.clone(),
                        namespace: req.namespace.clone(),
                        name: name.clone(),
                        key: (*fixed).to_string(),
                    });
                }
                actions.push(SecretAction::CheckExisting {
                    field,
                    namespace: req.namespace.clone(),
                    name: name.clone(),
                    key: key.clone(),
                })
            }
            SecretSource::Env { variable } => match env(variable).filter(|v| !v.is_empty()) {
                Some(value) => {
                    masker.add(&value);
                    actions.push(SecretAction::Apply(secret_object(req, &value)));
                }
                None => missing.push(crate::ApplyError::EnvMissing {
                    field,
                    variable: variable.clone(),
                }),
            },
            SecretSource::Generated => {
                let value = generate_value();
                masker.add(&value);
                actions.push(SecretAction::CreateOnce(secret_object(req, &value)));
            }
        }
    }
    match missing.len() {
        0 => Ok(actions),
        1 => Err(missing.remove(0)),
        _ => Err(crate::ApplyError::EnvsMissing(missing)),
    }
}

/// `deploy --rotate`: the roles of the generated passwords whose rotation starts, from Redis ACL
/// user names (`default` is the gateway's; `all`: every generated one). A user this deployment
/// does not have, or whose password is not `from: generated`, is a problem saying what to do
/// instead; all are reported at once.
pub fn rotation_targets(
    requirements: &[SecretRequirement],
    users: &[String],
) -> Result<std::collections::BTreeSet<SecretRole>, crate::ApplyError> {
    use crate::RotateProblem;
    let here: Vec<(&str, &SecretRequirement)> = requirements
        .iter()
        .filter_map(|r| Some((r.role.acl_user()?, r)))
        .collect();
    let known = here.iter().map(|(u, _)| *u).collect::<Vec<_>>().join(", ");
    let mut roles = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for user in users {
        if user == "all" {
            let generated: Vec<SecretRole> = here
                .iter()
                .filter(|(_, r)| r.source == SecretSource::Generated)
                .map(|(_, r)| r.role)
                .collect();
            if generated.is_empty() {
                problems.push(RotateProblem::NothingGenerated {
                    known: known.clone(),
                });
            }
            roles.extend(generated);
            continue;
        }
        let Some((_, req)) = here.iter().find(|(u, _)| u == user) else {
            problems.push(RotateProblem::UnknownUser {
                user: user.clone(),
                known: known.clone(),
            });
            continue;
        };
        let field = req.role.field_path().to_string();
        let (source_kind, instead) = match &req.source {
            SecretSource::Generated => {
                roles.insert(req.role);
                continue;
            }
            SecretSource::Env { variable } => (
                "`from: env`",
                format!(
                    "set {variable} to the new password and run `gatehouse deploy` without \
                     --rotate, once per step (three times)"
                ),
            ),
            SecretSource::ExistingSecret { name, key } => (
                "`from: existingSecret`",
                format!(
                    "write the new password as `{key}.next` into Secret {name} and run \
                     `gatehouse deploy`, then the next two states (README, \"Rotating a password\")"
                ),
            ),
        };
        problems.push(RotateProblem::NotGenerated {
            user: user.clone(),
            field,
            source_kind: source_kind.into(),
            instead,
        });
    }
    if problems.is_empty() {
        Ok(roles)
    } else {
        Err(crate::ApplyError::RotateRefused(problems))
    }
}

/// Replaces the values of a Secret's `data`/`stringData` with `***` for display. When `other`
/// is given (the object it is compared with), differing values read `*** (<side>)` (`before` /
/// `after`) so that a diff still shows that something changed without showing what.
pub fn mask_secret_data(object: &mut Value, other: Option<&Value>, side: &str) {
    if object["kind"] != json!("Secret") {
        return;
    }
    for field in ["data", "stringData"] {
        if let Some(map) = object[field].as_object_mut() {
            for (k, v) in map.iter_mut() {
                let changed = other.is_some_and(|o| o[field][k] != *v);
                *v = json!(if changed {
                    format!("*** ({side})")
                } else {
                    "***".to_string()
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_model::SecretKeyRef;

    #[test]
    fn every_missing_variable_is_reported_with_a_fix_valid_for_its_field() {
        let mut requirements = vec![req(SecretSource::Env {
            variable: "GH_TEST_UNSET_PASSWORD".into(),
        })];
        let mut token = req(SecretSource::Env {
            variable: "GH_TEST_UNSET_TOKEN".into(),
        });
        token.role = SecretRole::CloudToken;
        requirements.push(token);
        let err = plan_secrets(&requirements, &|_| None, &mut Masker::default()).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, crate::ApplyError::EnvsMissing(ref all) if all.len() == 2),
            "{text}"
        );
        assert!(
            text.contains("redis.password: environment variable GH_TEST_UNSET_PASSWORD"),
            "{text}"
        );
        assert!(
            text.contains("gateway.cloudToken: environment variable GH_TEST_UNSET_TOKEN"),
            "{text}"
        );
        let token_line = text
            .lines()
            .find(|l| l.contains("gateway.cloudToken"))
            .unwrap();
        assert!(
            !token_line.contains("from: generated"),
            "a cloud token cannot be generated: {token_line}"
        );
        let one = plan_secrets(
            &requirements[..1],
            &|_| Some(String::new()),
            &mut Masker::default(),
        );
        assert!(
            matches!(one, Err(crate::ApplyError::EnvMissing { .. })),
            "an empty value counts as unset"
        );
    }

    fn req(source: SecretSource) -> SecretRequirement {
        SecretRequirement {
            role: SecretRole::RedisPassword,
            namespace: "ns".into(),
            secret: SecretKeyRef {
                name: "gh-redis-password".into(),
                key: "password".into(),
            },
            source,
        }
    }

    #[test]
    fn env_source_becomes_an_applied_secret_and_is_masked() {
        let mut masker = Masker::default();
        let actions = plan_secrets(
            &[req(SecretSource::Env {
                variable: "PW".into(),
            })],
            &|v| (v == "PW").then(|| "s3cret-value".to_string()),
            &mut masker,
        )
        .unwrap();
        let SecretAction::Apply(secret) = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(
            secret["data"]["password"],
            json!(base64::engine::general_purpose::STANDARD.encode("s3cret-value"))
        );
        let text = secret.to_string();
        assert_eq!(masker.mask(&text).matches("***").count(), 1, "{text}");
        assert!(!masker.mask("x s3cret-value y").contains("s3cret"));
    }

    #[test]
    fn missing_env_variable_names_variable_and_field() {
        let err = plan_secrets(
            &[req(SecretSource::Env {
                variable: "PW".into(),
            })],
            &|_| None,
            &mut Masker::default(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("PW") && text.contains("redis.password"),
            "{text}"
        );
    }

    #[test]
    fn generated_values_differ_and_are_masked() {
        let mut masker = Masker::default();
        let a = plan_secrets(&[req(SecretSource::Generated)], &|_| None, &mut masker).unwrap();
        let b = plan_secrets(&[req(SecretSource::Generated)], &|_| None, &mut masker).unwrap();
        assert_ne!(a, b);
        let SecretAction::CreateOnce(secret) = &a[0] else {
            panic!()
        };
        assert_eq!(
            masker.mask(&secret.to_string()),
            secret
                .to_string()
                .replace(secret["data"]["password"].as_str().unwrap(), "***")
        );
    }

    #[test]
    fn secret_data_is_masked_with_change_marker() {
        let mut live = json!({"kind": "Secret", "data": {"a": "eA==", "b": "eQ=="}});
        let desired = json!({"kind": "Secret", "data": {"a": "eA==", "b": "eg=="}});
        mask_secret_data(&mut live, Some(&desired), "before");
        assert_eq!(live["data"], json!({"a": "***", "b": "*** (before)"}));
    }
}
