//! Plugin URLs, parsed with the `url` crate: https only, a host, no credentials, no query or
//! fragment, a `.zip` file (any case). One error per cause, and never the URL itself in a
//! message (it may carry a token).

use std::collections::BTreeMap;

use super::Checker;
use crate::{Deployment, shown};

/// Characters the chart's `sh -c` takes literally (the part before any `?` or `#`).
fn is_safe_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~/:%+=@".contains(c)
}

impl Checker {
    pub(super) fn plugins(&mut self, d: &Deployment) {
        let mut seen_urls = BTreeMap::new();
        let mut seen_files = BTreeMap::new();
        for (index, plugin) in d.gateway.plugins.iter().enumerate() {
            let path = format!("gateway.plugins[{index}].url");
            self.plugin_url(&path, &plugin.url);
            let file = plugin.file_name();
            if let Some(first) = seen_urls.insert(plugin.url.clone(), index) {
                self.error(
                    &path,
                    format!("duplicate of gateway.plugins[{first}]"),
                    "list each plugin once",
                );
            } else if let Some(first) = seen_files.insert(file.to_ascii_lowercase(), index) {
                self.error(
                    &path,
                    format!(
                        "file name `{}` is also gateway.plugins[{first}]'s: one would overwrite \
                         the other",
                        shown(file)
                    ),
                    "list each plugin once",
                );
            }
            if let Some(sha) = &plugin.sha256
                && (sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()))
            {
                self.error(
                    format!("gateway.plugins[{index}].sha256"),
                    "is not a SHA-256 (64 hex digits)",
                    "use the output of `sha256sum <plugin>.zip`",
                );
            }
        }
    }

    fn plugin_url(&mut self, path: &str, text: &str) {
        let url = match url::Url::parse(text) {
            Ok(url) => url,
            Err(error) => {
                self.error(
                    path,
                    format!("is not a URL ({error})"),
                    "use https://<host>/<path>/<plugin>.zip",
                );
                return;
            }
        };
        if url.scheme() != "https" {
            self.error(
                path,
                format!("uses {}:, not https:", shown(url.scheme())),
                "serve plugins over https",
            );
        }
        // The URL standard repairs `https:///a.zip` into host `a.zip`: look at the text.
        let authority_written = text
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
        if !authority_written || url.host_str().is_none_or(str::is_empty) {
            self.error(
                path,
                "has no host",
                "use https://<host>/<path>/<plugin>.zip",
            );
            return;
        }
        if !url.username().is_empty() || url.password().is_some() {
            self.error(
                path,
                "contains credentials before `@`: they would be written into the Helm \
                 values and the pod spec",
                "remove them; serve plugins from a location the gateway can read without \
                 credentials in the URL",
            );
        }
        if url.query().is_some() || url.fragment().is_some() {
            self.error(
                path,
                "has a query string or fragment (`?…` or `#…`): it can carry a token, and the \
                 chart pastes plugin URLs into `sh -c`",
                "remove the `?…` and `#…` parts",
            );
        }
        let before_query = text.split(['?', '#']).next().unwrap_or_default();
        let after_userinfo = before_query
            .split_once('@')
            .filter(|_| !url.username().is_empty() || url.password().is_some())
            .map_or(before_query, |(_, rest)| rest);
        if after_userinfo.chars().any(|c| !is_safe_url_char(c)) {
            self.error(
                path,
                "contains a shell metacharacter, quote or space: the chart pastes plugin URLs \
                 into `sh -c`",
                "use a plain URL of letters, digits and `-._~/:%+=`",
            );
        }
        let file = url
            .path_segments()
            .and_then(|mut segments| segments.next_back())
            .unwrap_or_default();
        let lower = file.to_ascii_lowercase();
        if !lower.ends_with(".zip") || lower.len() <= ".zip".len() {
            self.error(
                path,
                "does not name a .zip file",
                "point at the plugin's .zip file",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Deployment, Problem, Severity};

    fn url_errors(url: &str) -> Vec<Problem> {
        Deployment::default()
            .with_plugin(url, None)
            .validate()
            .into_iter()
            .filter(|p| p.severity == Severity::Error && p.path == "gateway.plugins[0].url")
            .collect()
    }

    #[test]
    fn good_urls_pass_in_any_case() {
        for url in ["https://x.example/p/a-1.0.zip", "https://x.example/A.ZIP"] {
            assert_eq!(url_errors(url), vec![], "{url}");
        }
    }

    #[test]
    fn one_error_per_cause_and_never_the_url() {
        for (url, fragment) in [
            (
                "https://x.example.com/a.zip?token=s3cr3t-tok",
                "query string",
            ),
            ("https://user:pa55word@host.example/a.zip", "credentials"),
            ("https:///a.zip", "no host"),
            ("http://x.example/a.zip", "uses http:"),
            ("https://x.example/a.jar", "not name a .zip"),
            ("https://x.example/$(id)/a.zip", "shell metacharacter"),
            ("not a url", "is not a URL"),
        ] {
            let errors = url_errors(url);
            assert_eq!(errors.len(), 1, "{url}: {errors:?}");
            assert!(errors[0].message.contains(fragment), "{url}: {errors:?}");
            for secret in ["s3cr3t-tok", "pa55word"] {
                assert!(!errors[0].to_string().contains(secret), "{errors:?}");
            }
        }
    }
}
