//! The one rule for input values in errors and warnings, enforced here and nowhere else.
//!
//! Every message a person reads about a config (validation problems, config-file errors) passes
//! through [`Redactor::scrub`] before it leaves the model: a value that could be a secret never
//! appears, and no value appears with more than [`MAX_SHOWN`] characters.
//!
//! Could be a secret: every value under a secret-source field (`redis.password`,
//! `gateway.licenseKey`, `gateway.cloudToken`), every gateway env value, and the userinfo, query
//! and fragment of a plugin URL (the whole URL when it cannot be parsed).

/// The most characters of one input value an error or warning shows; longer values are cut with `…`.
pub const MAX_SHOWN: usize = 80;

/// Secrets shorter than this are not searched for in messages (they would match ordinary words);
/// messages never quote the fields that hold them, so they cannot appear there anyway.
const MIN_SECRET: usize = 4;

/// Field paths whose values could be secrets (a trailing `.` matches the whole subtree).
pub(crate) const SECRET_PATHS: [&str; 3] =
    ["redis.password", "gateway.licenseKey", "gateway.cloudToken"];

/// `value` as a message shows it: at most [`MAX_SHOWN`] characters, control characters escaped.
///
/// ```
/// let long = "x".repeat(500);
/// let shown = gatehouse_model::shown(&long);
/// assert_eq!(shown.chars().count(), 80);
/// assert!(shown.ends_with('…'));
/// ```
pub fn shown(value: &str) -> String {
    let escaped: String = value
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if escaped.chars().count() <= MAX_SHOWN {
        return escaped;
    }
    let mut cut: String = escaped.chars().take(MAX_SHOWN - 1).collect();
    cut.push('…');
    cut
}

/// Whether the value at this field path could be a secret.
pub(crate) fn is_secret_path(path: &str) -> bool {
    // In a fleet file, a deployment's fields sit under `base` and each cluster's `overrides`.
    let path = path.strip_prefix("base.").unwrap_or(path);
    let path = match (path.strip_prefix("clusters["), path.find("].overrides.")) {
        (Some(_), Some(at)) => &path[at + "].overrides.".len()..],
        _ => path,
    };
    SECRET_PATHS
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}.")))
        || (path.starts_with("gateway.env[") && path.ends_with("].value"))
}

/// The fields of a secret source that name where the value is, not the value: shown when they are
/// well-formed (a literal secret pasted there is almost never a valid name, and messages quote
/// only malformed ones, which stay hidden).
fn is_harmless_secret_field(path: &str, text: &str) -> bool {
    let field = path.rsplit('.').next().unwrap_or_default();
    let name_like = |extra: &str| {
        !text.is_empty()
            && text.len() <= 253
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(c))
    };
    match field {
        "from" => ["env", "existingSecret", "generated"].contains(&text),
        "name" => name_like("-."),
        "key" => {
            !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
                && !text.chars().any(|c| c.is_ascii_uppercase())
        }
        "variable" => {
            !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        }
        _ => false,
    }
}

/// The known field names of a secret source.
pub(crate) const SECRET_SOURCE_FIELDS: [&str; 4] = ["from", "name", "key", "variable"];

/// The parts of a plugin URL that could carry credentials: userinfo, query and fragment, or the
/// whole URL when it does not parse or still contains one of `@?#`.
pub(crate) fn secret_parts_of_url(text: &str) -> Vec<String> {
    let Ok(url) = url::Url::parse(text) else {
        return if text.contains(['@', '?', '#']) {
            vec![text.to_string()]
        } else {
            Vec::new()
        };
    };
    let mut parts: Vec<String> = [
        Some(url.username().to_string()),
        url.password().map(str::to_string),
        url.query().map(str::to_string),
        url.fragment().map(str::to_string),
    ]
    .into_iter()
    .flatten()
    .filter(|p| !p.is_empty())
    .collect();
    if !parts.is_empty() {
        parts.push(text.to_string());
    }
    parts
}

/// Scrubs messages about one input: knows its secret values and its long values.
#[derive(Debug, Default, Clone)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
    long: Vec<String>,
}

impl Redactor {
    /// Collects the values of a JSON view of the input (a model or a parsed config file).
    pub(crate) fn of_json(value: &serde_json::Value) -> Redactor {
        let mut redactor = Redactor::default();
        redactor.walk("", value);
        redactor.finish();
        redactor
    }

    /// Adds one value found at `path`.
    pub(crate) fn add(&mut self, path: &str, text: &str) {
        if is_secret_path(path) && !is_harmless_secret_field(path, text) {
            self.secrets.push(text.to_string());
        } else if path.starts_with("gateway.plugins[") && path.ends_with("].url") {
            self.secrets.extend(secret_parts_of_url(text));
        }
        if text.chars().count() > MAX_SHOWN {
            self.long.push(text.to_string());
        }
    }

    /// Sorts the values so that longer ones are replaced first (a secret containing another).
    pub(crate) fn finish(&mut self) {
        for list in [&mut self.secrets, &mut self.long] {
            list.retain(|s| s.chars().count() >= MIN_SECRET);
            list.sort_by_key(|s| std::cmp::Reverse(s.len()));
            list.dedup();
        }
    }

    fn walk(&mut self, path: &str, value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    let child = gatehouse_chart_contract::join_path(path, key);
                    if key.chars().count() > MAX_SHOWN {
                        self.long.push(key.clone());
                    }
                    self.walk(&child, value);
                }
            }
            serde_json::Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.walk(&format!("{path}[{index}]"), item);
                }
            }
            serde_json::Value::String(text) => self.add(path, text),
            _ => {}
        }
    }

    /// `text` with every secret replaced by `***` and every long value cut to [`MAX_SHOWN`].
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        for long in &self.long {
            if out.contains(long.as_str()) {
                out = out.replace(long.as_str(), &shown(long));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_and_secrets_hidden() {
        let long = "v".repeat(1000);
        let json = serde_json::json!({
            "namespace": long,
            "redis": {"password": {"from": "env", "variable": "hunter2-pass"}},
            "gateway": {
                "env": [{"name": "A", "value": "sekret-value"}],
                "plugins": [{"url": "https://u:pw-123@h.example/a.zip?token=abcd"}]
            }
        });
        let r = Redactor::of_json(&json);
        let text = r.scrub(&format!(
            "`{long}` and hunter2-pass and sekret-value and pw-123 and token=abcd"
        ));
        assert!(
            !text.contains("hunter2-pass") && !text.contains("sekret-value"),
            "{text}"
        );
        assert!(
            !text.contains("pw-123") && !text.contains("token=abcd"),
            "{text}"
        );
        assert!(text.len() < 200, "{text}");
        assert!(text.contains('…'));
    }

    #[test]
    fn secret_paths() {
        assert!(is_secret_path("redis.password.variable"));
        assert!(is_secret_path("gateway.env[3].value"));
        assert!(!is_secret_path("gateway.env[3].name"));
        assert!(!is_secret_path("redis.passwordless"));
    }

    #[test]
    fn shown_escapes_control_characters() {
        assert_eq!(shown("a\nb"), "a\\nb");
        assert_eq!(shown("short"), "short");
    }
}
