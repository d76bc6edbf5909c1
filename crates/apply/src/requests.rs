//! Counting the HTTP requests a connection sends to the API server, by what each asks for.
//!
//! [`Cluster::connect`](crate::Cluster::connect) puts a tower `MapRequest` layer (tower's own
//! middleware, no hand-written service) on top of kube's client stack; it sees every request kube
//! sends (discovery and `/version` included) before the request leaves the process, classifies it
//! ([`RequestKind::classify`]) and counts it. The counts are data: [`Cluster::requests`]
//! (everything since connecting) and [`DeployReport::requests`](crate::DeployReport::requests)
//! (one deploy). Requests made by other processes (the Helm CLI) are not seen.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::Cluster;

/// What one request asks of the API server, in kubectl's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiVerb {
    /// `GET /version`.
    Version,
    /// Other discovery: `/api`, `/apis`, a group or group version, `/openapi/...`.
    Discovery,
    /// GET of one object.
    Get,
    /// GET of a collection.
    List,
    /// GET with `watch=true`.
    Watch,
    /// POST.
    Create,
    /// PATCH (server-side apply).
    Patch,
    /// PUT.
    Update,
    /// DELETE.
    Delete,
    /// Any other method.
    Other,
}

/// A request's verb and whether it was a server dry-run (`dryRun=All`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestKind {
    /// What it asks for.
    pub verb: ApiVerb,
    /// `dryRun=All`: the server checks and answers, and writes nothing.
    pub dry_run: bool,
}

impl RequestKind {
    /// The kind of a request from its method, path and query string, as the API server reads
    /// them (`/apis/<group>/<version>/namespaces/<ns>/<plural>[/<name>[/<subresource>]]`).
    ///
    /// ```
    /// use gatehouse_apply::{ApiVerb, RequestKind};
    /// let list = RequestKind::classify("GET", "/api/v1/namespaces/ns/secrets", Some("limit=500"));
    /// assert_eq!(list, RequestKind { verb: ApiVerb::List, dry_run: false });
    /// let apply = RequestKind::classify(
    ///     "PATCH",
    ///     "/apis/apps/v1/namespaces/ns/statefulsets/redis",
    ///     Some("dryRun=All&fieldManager=gatehouse"),
    /// );
    /// assert_eq!(apply.to_string(), "PATCH (dry-run)");
    /// assert_eq!(RequestKind::classify("GET", "/api/v1/namespaces/ns", None).verb, ApiVerb::Get);
    /// assert_eq!(RequestKind::classify("GET", "/version", None).verb, ApiVerb::Version);
    /// ```
    pub fn classify(method: &str, path: &str, query: Option<&str>) -> RequestKind {
        let param = |name: &str| {
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let dry_run = param("dryRun").as_deref() == Some("All");
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        // The segments after `/api/<version>` or `/apis/<group>/<version>`.
        let resource = match segments.first() {
            Some(&"api") if segments.len() > 2 => &segments[2..],
            Some(&"apis") if segments.len() > 3 => &segments[3..],
            _ => {
                let verb = if segments == ["version"] {
                    ApiVerb::Version
                } else {
                    ApiVerb::Discovery
                };
                return RequestKind { verb, dry_run };
            }
        };
        // `namespaces/<ns>/<plural>...` addresses a namespaced resource; `namespaces/<ns>` alone
        // is the Namespace object itself.
        let resource = match resource {
            ["namespaces", _, rest @ ..] if !rest.is_empty() => rest,
            other => other,
        };
        let collection = resource.len() == 1;
        let verb = match method {
            "GET" if matches!(param("watch").as_deref(), Some("true" | "1")) => ApiVerb::Watch,
            "GET" if collection => ApiVerb::List,
            "GET" => ApiVerb::Get,
            "POST" => ApiVerb::Create,
            "PATCH" => ApiVerb::Patch,
            "PUT" => ApiVerb::Update,
            "DELETE" => ApiVerb::Delete,
            _ => ApiVerb::Other,
        };
        RequestKind { verb, dry_run }
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.verb {
            ApiVerb::Version => "version",
            ApiVerb::Discovery => "discovery",
            ApiVerb::Get => "GET",
            ApiVerb::List => "LIST",
            ApiVerb::Watch => "WATCH",
            ApiVerb::Create => "POST",
            ApiVerb::Patch => "PATCH",
            ApiVerb::Update => "PUT",
            ApiVerb::Delete => "DELETE",
            ApiVerb::Other => "other",
        })?;
        if self.dry_run {
            f.write_str(" (dry-run)")?;
        }
        Ok(())
    }
}

/// Requests counted by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// How many of each kind.
    pub by_kind: BTreeMap<RequestKind, usize>,
}

impl RequestCounts {
    /// Counts the requests given as `(method, path, query)`, e.g. those a server recorded.
    pub fn of<'a>(requests: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>) -> Self {
        let mut counts = RequestCounts::default();
        for (method, path, query) in requests {
            counts.record(RequestKind::classify(method, path, query));
        }
        counts
    }

    fn record(&mut self, kind: RequestKind) {
        *self.by_kind.entry(kind).or_default() += 1;
    }

    /// Every request.
    pub fn total(&self) -> usize {
        self.by_kind.values().sum()
    }

    /// Requests of one verb, dry-run or not.
    pub fn verb(&self, verb: ApiVerb) -> usize {
        self.matching(|k| k.verb == verb)
    }

    /// Requests that change the cluster: POST, PATCH, PUT or DELETE without `dryRun`.
    pub fn writes(&self) -> usize {
        self.matching(|k| {
            !k.dry_run
                && matches!(
                    k.verb,
                    ApiVerb::Create | ApiVerb::Patch | ApiVerb::Update | ApiVerb::Delete
                )
        })
    }

    /// Server dry-runs.
    pub fn dry_runs(&self) -> usize {
        self.matching(|k| k.dry_run)
    }

    /// `/version` and other discovery.
    pub fn discovery(&self) -> usize {
        self.matching(|k| matches!(k.verb, ApiVerb::Version | ApiVerb::Discovery))
    }

    fn matching(&self, keep: impl Fn(&RequestKind) -> bool) -> usize {
        self.by_kind
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(_, n)| n)
            .sum()
    }

    /// What was counted here and not in `earlier` (counts of one connection at two moments).
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        let by_kind = self
            .by_kind
            .iter()
            .map(|(k, n)| (*k, n - earlier.by_kind.get(k).copied().unwrap_or(0).min(*n)))
            .filter(|(_, n)| *n > 0)
            .collect();
        RequestCounts { by_kind }
    }
}

/// Both counts together.
impl std::ops::Add for RequestCounts {
    type Output = RequestCounts;

    fn add(mut self, other: RequestCounts) -> RequestCounts {
        for (kind, n) in other.by_kind {
            *self.by_kind.entry(kind).or_default() += n;
        }
        self
    }
}

/// `22 requests: 13 PATCH (dry-run), 7 LIST, 1 GET, 1 version`, most frequent first.
impl fmt::Display for RequestCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kinds: Vec<(&RequestKind, &usize)> = self.by_kind.iter().collect();
        kinds.sort_by_key(|(k, n)| (std::cmp::Reverse(**n), **k));
        let parts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let total = self.total();
        let noun = if total == 1 { "request" } else { "requests" };
        if parts.is_empty() {
            write!(f, "0 requests")
        } else {
            write!(f, "{total} {noun}: {}", parts.join(", "))
        }
    }
}

/// The counts one connection shares with the layer that feeds them.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestCounter(Arc<Mutex<RequestCounts>>);

impl RequestCounter {
    /// The layer to put on top of kube's client stack.
    pub(crate) fn layer<B>(
        &self,
    ) -> tower::util::MapRequestLayer<impl Fn(http::Request<B>) -> http::Request<B> + Clone + use<B>>
    {
        let counter = self.clone();
        tower::util::MapRequestLayer::new(move |request: http::Request<B>| {
            counter.count(&request);
            request
        })
    }

    fn count<B>(&self, request: &http::Request<B>) {
        let kind = RequestKind::classify(
            request.method().as_str(),
            request.uri().path(),
            request.uri().query(),
        );
        self.0
            .lock()
            .expect("the counts are never poisoned")
            .record(kind);
    }

    pub(crate) fn snapshot(&self) -> RequestCounts {
        self.0
            .lock()
            .expect("the counts are never poisoned")
            .clone()
    }
}

impl Cluster {
    /// Every request this connection sent since [`Cluster::connect`], by kind (the `/version`
    /// check of `connect` included). Empty for a cluster made with [`Cluster::from_client`],
    /// whose client gatehouse did not build.
    pub fn requests(&self) -> RequestCounts {
        self.requests.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verb(method: &str, path: &str, query: Option<&str>) -> ApiVerb {
        RequestKind::classify(method, path, query).verb
    }

    #[test]
    fn paths_are_classified_like_the_api_server_reads_them() {
        use ApiVerb::*;
        for (method, path, query, expected) in [
            ("GET", "/version", None, Version),
            ("GET", "/api", None, Discovery),
            ("GET", "/apis", None, Discovery),
            ("GET", "/api/v1", None, Discovery),
            ("GET", "/apis/helm.toolkit.fluxcd.io/v2", None, Discovery),
            ("GET", "/openapi/v3", None, Discovery),
            ("GET", "/api/v1/namespaces", None, List),
            ("GET", "/api/v1/namespaces/ns", None, Get),
            ("PATCH", "/api/v1/namespaces/ns", None, Patch),
            ("GET", "/api/v1/namespaces/ns/secrets", None, List),
            ("GET", "/api/v1/namespaces/ns/secrets/s", None, Get),
            ("GET", "/apis/apps/v1/statefulsets", None, List),
            (
                "GET",
                "/apis/apps/v1/namespaces/ns/statefulsets/r/status",
                None,
                Get,
            ),
            (
                "GET",
                "/apis/apps/v1/namespaces/ns/statefulsets",
                Some("watch=true&fieldSelector=metadata.name%3Dr"),
                Watch,
            ),
            ("POST", "/api/v1/namespaces/ns/secrets", None, Create),
            ("PUT", "/api/v1/namespaces/ns/secrets/s", None, Update),
            ("DELETE", "/api/v1/namespaces/ns/secrets/s", None, Delete),
            ("OPTIONS", "/api/v1/namespaces/ns/secrets/s", None, Other),
        ] {
            assert_eq!(verb(method, path, query), expected, "{method} {path}");
        }
        assert!(
            RequestKind::classify(
                "DELETE",
                "/api/v1/namespaces/ns/secrets/s",
                Some("dryRun=All")
            )
            .dry_run
        );
        assert!(
            !RequestKind::classify(
                "PATCH",
                "/api/v1/namespaces/ns/secrets/s",
                Some("fieldManager=All")
            )
            .dry_run
        );
    }

    #[test]
    fn counts_sum_subtract_and_read_most_frequent_first() {
        let counts = RequestCounts::of([
            ("GET", "/version", None),
            ("GET", "/api/v1/namespaces/ns/secrets", None),
            (
                "PATCH",
                "/api/v1/namespaces/ns/secrets/a",
                Some("dryRun=All"),
            ),
            (
                "PATCH",
                "/api/v1/namespaces/ns/secrets/b",
                Some("dryRun=All"),
            ),
            ("PATCH", "/api/v1/namespaces/ns/secrets/b", None),
        ]);
        assert_eq!(counts.total(), 5);
        assert_eq!(
            (counts.dry_runs(), counts.writes(), counts.discovery()),
            (2, 1, 1)
        );
        assert_eq!(counts.verb(ApiVerb::Patch), 3);
        assert_eq!(
            counts.to_string(),
            "5 requests: 2 PATCH (dry-run), 1 version, 1 LIST, 1 PATCH"
        );
        let earlier = RequestCounts::of([("GET", "/version", None)]);
        let later = counts.since(&earlier);
        assert_eq!(later.total(), 4);
        assert_eq!(later.discovery(), 0);
        assert_eq!(later + earlier, counts);
        assert_eq!(RequestCounts::default().to_string(), "0 requests");
    }
}
