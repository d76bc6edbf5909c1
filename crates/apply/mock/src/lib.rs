//! An in-memory Kubernetes API server on 127.0.0.1, for tests and request-count benchmarks.
//!
//! It speaks plain HTTP/1.1 and JSON, enough of the API for server-side apply tooling: discovery
//! (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`, `/version`), GET, LIST (label and
//! `metadata.name` field selectors), WATCH (a stream of events, `resourceVersion`-aware), PATCH
//! (server-side apply, `dryRun=All`, `force`), POST (create) and DELETE. Every request is
//! recorded, so a test can assert the exact sequence a client sent; failures (conflicts,
//! validation errors, RBAC denials) are injected per method and path.
//!
//! It is NOT a Kubernetes implementation: an applied object replaces the previous content (no
//! field-level merge between managers), there is no defaulting or schema validation, and workloads
//! become ready according to [`Readiness`].
//!
//! ```
//! let server = gatehouse_apply_mock::MockApiServer::start();
//! let kubeconfig = server.kubeconfig();
//! assert!(kubeconfig.contains(&server.url()));
//! assert_eq!(server.request_count(), 0);
//! ```

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::{broadcast, oneshot};

/// How StatefulSets and Deployments report readiness after they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Ready as soon as applied (status written with the object).
    Immediate,
    /// Not ready when applied; ready after the delay (a MODIFIED event is sent to watchers).
    After(Duration),
    /// Never ready: `readyReplicas` stays 0 and the update revision is never rolled out.
    Never,
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method (`GET`, `PATCH`, ...).
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Query parameters.
    pub query: BTreeMap<String, String>,
    /// The query string as sent (`dryRun=All&fieldManager=gatehouse`), when there was one.
    pub raw_query: Option<String>,
    /// The JSON body, when there was one.
    pub body: Option<Value>,
    /// The `User-Agent` header, when there was one.
    pub user_agent: Option<String>,
}

impl RecordedRequest {
    /// `dryRun=All` was set.
    pub fn is_dry_run(&self) -> bool {
        dry_run(&self.query)
    }

    /// A WATCH (a GET with `watch=true`).
    pub fn is_watch(&self) -> bool {
        self.query
            .get("watch")
            .is_some_and(|v| v == "true" || v == "1")
    }

    /// The `fieldManager` parameter.
    pub fn field_manager(&self) -> Option<&str> {
        self.query.get("fieldManager").map(String::as_str)
    }

    /// A request that changes the cluster: PATCH, POST, PUT or DELETE without `dryRun`.
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "PATCH" | "POST" | "PUT" | "DELETE") && !self.is_dry_run()
    }

    /// `METHOD path` plus ` (dry-run)` for dry-run requests, for readable assertions.
    pub fn summary(&self) -> String {
        format!(
            "{} {}{}",
            self.method,
            self.path,
            if self.is_dry_run() { " (dry-run)" } else { "" }
        )
    }
}

/// A resource type the server serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group (empty for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name used in paths.
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
}

impl ResourceType {
    /// A resource type.
    pub fn new(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        ResourceType {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
        }
    }

    fn api_version(&self) -> String {
        group_version(&self.group, &self.version)
    }

    fn of(kind: &gatehouse_render::ObjectKind) -> Self {
        ResourceType::new(
            kind.group,
            kind.version,
            kind.kind,
            kind.plural,
            kind.namespaced,
        )
    }

    /// The built-in types the server knows from the start: every built-in kind gatehouse writes
    /// (from the renderer's one table of kinds), and the ones it only reads (Pods, Events,
    /// PersistentVolumeClaims).
    pub fn builtin() -> Vec<ResourceType> {
        let written = gatehouse_render::KINDS.iter().filter(|k| !k.custom);
        let read_only = [
            ("Pod", "pods"),
            ("Event", "events"),
            ("PersistentVolumeClaim", "persistentvolumeclaims"),
        ]
        .map(|(kind, plural)| ResourceType::new("", "v1", kind, plural, true));
        written.map(ResourceType::of).chain(read_only).collect()
    }

    /// Flux's custom types gatehouse writes (`HelmRepository`, `HelmRelease`), for
    /// [`MockApiServer::add_resource`] (as if their CRDs were installed).
    pub fn flux() -> Vec<ResourceType> {
        Self::custom_of("fluxcd.io")
    }

    /// The Prometheus Operator's custom types gatehouse writes with `metrics` (`PodMonitor`,
    /// `ServiceMonitor`, `PrometheusRule`), for [`MockApiServer::add_resource`].
    pub fn prometheus_operator() -> Vec<ResourceType> {
        Self::custom_of("monitoring.coreos.com")
    }

    fn custom_of(group_suffix: &str) -> Vec<ResourceType> {
        gatehouse_render::KINDS
            .iter()
            .filter(|k| k.custom && k.group.ends_with(group_suffix))
            .map(ResourceType::of)
            .collect()
    }

    /// cert-manager's types: the `Certificate` gatehouse writes and the `Issuer` and
    /// `ClusterIssuer` it looks up (the renderer's `KINDS` and `REFERENCED_KINDS` of the
    /// Certificate's group), for [`MockApiServer::add_resource`] (as if cert-manager were
    /// installed).
    pub fn cert_manager() -> Vec<ResourceType> {
        let group = gatehouse_render::KINDS
            .iter()
            .find(|k| k.kind == "Certificate")
            .expect("the renderer writes Certificates")
            .group;
        gatehouse_render::KINDS
            .iter()
            .chain(gatehouse_render::REFERENCED_KINDS)
            .filter(|k| k.group == group)
            .map(ResourceType::of)
            .collect()
    }
}

/// An error the server answers instead of handling a request.
#[derive(Debug, Clone)]
pub struct Failure {
    method: String,
    path: String,
    dry_run: Option<bool>,
    unless_force: bool,
    status: u16,
    body: Value,
}

/// `group/version`, or `version` alone for the core group.
fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// `dryRun=All` is among the query parameters.
fn dry_run(query: &BTreeMap<String, String>) -> bool {
    query.get("dryRun").is_some_and(|v| v == "All")
}

fn status_body(code: u16, reason: &str, message: &str, details: Value) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "details": details, "code": code,
    })
}

impl Failure {
    /// A server-side apply conflict (409, `FieldManagerConflict` causes) with `manager` on `fields`
    /// for PATCH requests to `path`, unless the request sets `force=true`.
    pub fn conflict(path: &str, manager: &str, fields: &[&str]) -> Failure {
        let causes: Vec<Value> = fields
            .iter()
            .map(|f| {
                json!({"reason": "FieldManagerConflict",
                       "message": format!("conflict with \"{manager}\" using apps/v1"),
                       "field": f})
            })
            .collect();
        let message = format!(
            "Apply failed with {} conflict(s): conflict with \"{manager}\": {}",
            fields.len(),
            fields.join(", ")
        );
        Failure {
            method: "PATCH".into(),
            path: path.into(),
            dry_run: None,
            unless_force: true,
            status: 409,
            body: status_body(409, "Conflict", &message, json!({"causes": causes})),
        }
    }

    /// A validation error (422 `Invalid`) on `field` for PATCH requests to `path`.
    pub fn invalid(path: &str, field: &str, message: &str) -> Failure {
        Failure {
            method: "PATCH".into(),
            path: path.into(),
            dry_run: None,
            unless_force: false,
            status: 422,
            body: status_body(
                422,
                "Invalid",
                &format!("object is invalid: {field}: {message}"),
                json!({"causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}]}),
            ),
        }
    }

    /// An RBAC denial (403 `Forbidden`) of `method` on `path`.
    pub fn forbidden(method: &str, path: &str, verb: &str, resource: &str) -> Failure {
        Failure {
            method: method.into(),
            path: path.into(),
            dry_run: None,
            unless_force: false,
            status: 403,
            body: status_body(
                403,
                "Forbidden",
                &format!(
                    "{resource} is forbidden: User \"ci\" cannot {verb} resource \"{resource}\""
                ),
                json!({"kind": resource}),
            ),
        }
    }

    /// Only for requests with (`true`) or without (`false`) `dryRun=All`.
    pub fn only_dry_run(mut self, dry_run: bool) -> Failure {
        self.dry_run = Some(dry_run);
        self
    }

    fn matches(&self, method: &str, path: &str, query: &BTreeMap<String, String>) -> bool {
        let force = query.get("force").is_some_and(|v| v == "true");
        self.method == method
            && self.path == path
            && self.dry_run.is_none_or(|d| d == dry_run(query))
            && !(self.unless_force && force)
    }
}

#[derive(Debug, Clone)]
struct Event {
    kind: String,
    key: Key,
    object: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    group: String,
    plural: String,
    namespace: String,
    name: String,
}

impl Key {
    fn new(resource: &ResourceType, namespace: &str, name: &str) -> Key {
        Key {
            group: resource.group.clone(),
            plural: resource.plural.clone(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

struct State {
    objects: BTreeMap<Key, Value>,
    requests: Vec<RecordedRequest>,
    resources: Vec<ResourceType>,
    failures: Vec<Failure>,
    readiness: Readiness,
    revision: u64,
}

struct Shared {
    state: Mutex<State>,
    events: broadcast::Sender<Event>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells the watchers (none listening is fine).
    fn emit(&self, kind: &str, key: Key, object: Value) {
        let kind = kind.into();
        let _ = self.events.send(Event { kind, key, object });
    }
}

/// The server. Dropping it stops it.
pub struct MockApiServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockApiServer {
    /// Starts a server on a free port of 127.0.0.1, on its own thread and runtime (usable from
    /// sync and async tests alike).
    pub fn start() -> MockApiServer {
        let (events, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                objects: BTreeMap::new(),
                requests: Vec::new(),
                resources: ResourceType::builtin(),
                failures: Vec::new(),
                readiness: Readiness::Immediate,
                revision: 1000,
            }),
            events,
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let (stop, mut stopped) = oneshot::channel();
        let server_shared = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let shared = server_shared.clone();
                            tokio::spawn(async move {
                                let io = hyper_util::rt::TokioIo::new(stream);
                                let service = hyper::service::service_fn(move |req| {
                                    let shared = shared.clone();
                                    async move { Ok::<_, Infallible>(handle(shared, req).await) }
                                });
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(io, service)
                                    .await;
                            });
                        }
                    }
                }
            });
            runtime.shutdown_background();
        });
        MockApiServer {
            shared,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig with one context, `mock`, pointing at the server.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: mock\nclusters:\n- name: mock\n  cluster:\n    server: {}\ncontexts:\n- name: mock\n  context:\n    cluster: mock\n    user: mock\n    namespace: default\nusers:\n- name: mock\n  user:\n    token: mock-token\n",
            self.url()
        )
    }

    /// Writes [`MockApiServer::kubeconfig`] to `dir/kubeconfig` and returns the path.
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(&path, self.kubeconfig()).expect("write kubeconfig");
        path
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// Forgets the recorded requests (objects stay).
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Serves another resource type (e.g. [`ResourceType::flux`], as if its CRD were installed).
    pub fn add_resource(&self, resource: ResourceType) {
        self.shared.lock().resources.push(resource);
    }

    /// Answers matching requests with this failure from now on.
    pub fn fail(&self, failure: Failure) {
        self.shared.lock().failures.push(failure);
    }

    /// Removes every injected failure.
    pub fn clear_failures(&self) {
        self.shared.lock().failures.clear();
    }

    /// Sets how workloads become ready.
    pub fn set_readiness(&self, readiness: Readiness) {
        self.shared.lock().readiness = readiness;
    }

    /// Stores an object as if someone else had created it (it must carry apiVersion, kind and
    /// metadata.name). Returns its path.
    pub fn insert(&self, object: Value) -> String {
        let mut state = self.shared.lock();
        let (api_version, kind) = (text(&object["apiVersion"]), text(&object["kind"]));
        let resource = state
            .resources
            .iter()
            .find(|r| r.api_version() == api_version && r.kind == kind)
            .cloned()
            .unwrap_or_else(|| panic!("mock: unknown type {api_version} {kind}"));
        let namespace = text(&object["metadata"]["namespace"]);
        let name = object["metadata"]["name"]
            .as_str()
            .expect("metadata.name")
            .to_string();
        let key = Key::new(&resource, &namespace, &name);
        let mut object = object;
        state.revision += 1;
        let rv = state.revision;
        let meta = object["metadata"].as_object_mut().expect("metadata");
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        meta.insert("uid".into(), json!(format!("uid-{rv}")));
        meta.entry("generation").or_insert(json!(1));
        state.objects.insert(key, object);
        object_path(&resource, &namespace, &name)
    }

    /// The stored object at an API path (`/api/v1/namespaces/ns/configmaps/name`).
    pub fn get(&self, path: &str) -> Option<Value> {
        let state = self.shared.lock();
        let target = parse_path(&state.resources, path).ok()?;
        let key = target.key()?;
        state.objects.get(&key).cloned()
    }

    /// Every stored object's path, sorted.
    pub fn paths(&self) -> Vec<String> {
        let state = self.shared.lock();
        let mut paths: Vec<String> = state
            .objects
            .keys()
            .filter_map(|k| {
                let r = state
                    .resources
                    .iter()
                    .find(|r| r.group == k.group && r.plural == k.plural)?;
                Some(object_path(r, &k.namespace, &k.name))
            })
            .collect();
        paths.sort();
        paths
    }
}

impl Drop for MockApiServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The API path of an object.
pub fn object_path(resource: &ResourceType, namespace: &str, name: &str) -> String {
    let api = if resource.group.is_empty() {
        "api"
    } else {
        "apis"
    };
    let base = format!("/{api}/{}", resource.api_version());
    if resource.namespaced {
        format!("{base}/namespaces/{namespace}/{}/{name}", resource.plural)
    } else {
        format!("{base}/{}/{name}", resource.plural)
    }
}

struct Target {
    resource: ResourceType,
    namespace: String,
    name: Option<String>,
}

impl Target {
    fn key(&self) -> Option<Key> {
        Some(Key::new(
            &self.resource,
            &self.namespace,
            self.name.as_ref()?,
        ))
    }
}

enum Route {
    Discovery(Value),
    Resource(Target),
}

fn parse_path(resources: &[ResourceType], path: &str) -> Result<Target, ()> {
    match route(resources, path) {
        Some(Route::Resource(t)) => Ok(t),
        _ => Err(()),
    }
}

fn route(resources: &[ResourceType], path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segments.as_slice() {
        ["version"] => {
            return Some(Route::Discovery(
                json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-gatehouse-mock"}),
            ));
        }
        ["api"] => {
            return Some(Route::Discovery(
                json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
            ));
        }
        ["apis"] => {
            let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for r in resources.iter().filter(|r| !r.group.is_empty()) {
                let versions = groups.entry(&r.group).or_default();
                // Each group version once, as a real API server lists them (kubectl refuses duplicates).
                if !versions.contains(&r.version.as_str()) {
                    versions.push(&r.version);
                }
            }
            let groups: Vec<Value> = groups
                .into_iter()
                .map(|(g, vs)| {
                    let versions: Vec<Value> = vs
                        .iter()
                        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                        .collect();
                    json!({"name": g, "versions": versions, "preferredVersion": versions[0]})
                })
                .collect();
            return Some(Route::Discovery(
                json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            ));
        }
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    if rest.is_empty() {
        let listed: Vec<Value> = resources
            .iter()
            .filter(|r| r.group == group && r.version == version)
            .map(|r| {
                json!({"name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced,
                       "kind": r.kind, "verbs": ["create","delete","get","list","patch","update","watch"]})
            })
            .collect();
        if listed.is_empty() {
            return None;
        }
        let gv = group_version(group, version);
        return Some(Route::Discovery(
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": listed}),
        ));
    }
    let (namespace, plural, name) = match rest {
        ["namespaces", ns, plural, tail @ ..] => (*ns, *plural, tail.first().copied()),
        [plural, tail @ ..] => ("", *plural, tail.first().copied()),
        [] => return None,
    };
    let resource = resources
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)?
        .clone();
    Some(Route::Resource(Target {
        resource,
        namespace: namespace.to_string(),
        name: name.map(str::to_string),
    }))
}

type Body = BoxBody<Bytes, Infallible>;

fn respond(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .expect("response")
}

/// A JSON string's text; empty when it is not a string.
fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// A `Status` failure without details.
fn refuse(code: u16, reason: &str, message: &str) -> Response<Body> {
    respond(code, &status_body(code, reason, message, json!({})))
}

fn not_found(what: &str, name: &str) -> Response<Body> {
    respond(
        404,
        &status_body(
            404,
            "NotFound",
            &format!("{what} \"{name}\" not found"),
            json!({"name": name, "kind": what}),
        ),
    )
}

fn parse_query(query: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// Whether an object's labels satisfy a selector of `k=v`, `k==v`, `k!=v` and `k` terms.
fn labels_match(object: &Value, selector: &str) -> bool {
    let labels = &object["metadata"]["labels"];
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        if let Some((k, v)) = term.split_once("!=") {
            labels[k.trim()].as_str() != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            labels[k.trim()].as_str() == Some(v.trim())
        } else {
            !labels[term.trim()].is_null()
        }
    })
}

fn fields_match(object: &Value, selector: &str) -> bool {
    selector
        .split(',')
        .filter(|t| !t.is_empty())
        .all(|term| match term.split_once('=') {
            Some(("metadata.name", v)) => object["metadata"]["name"].as_str() == Some(v),
            Some(("metadata.namespace", v)) => object["metadata"]["namespace"].as_str() == Some(v),
            Some(("involvedObject.name", v)) => {
                object["involvedObject"]["name"].as_str() == Some(v)
            }
            _ => true,
        })
}

/// The object without server-set fields, for change detection.
fn content(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in [
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
                "managedFields",
            ] {
                meta.remove(field);
            }
        }
    }
    object
}

/// Like a real API server: writing a namespaced object into a Namespace that does not exist
/// (dry-run or not) is `404 namespaces "<ns>" not found`.
fn missing_namespace(
    state: &State,
    resource: &ResourceType,
    namespace: &str,
) -> Option<Response<Body>> {
    if !resource.namespaced || namespace.is_empty() {
        return None;
    }
    let key = Key {
        group: String::new(),
        plural: "namespaces".into(),
        namespace: String::new(),
        name: namespace.into(),
    };
    (!state.objects.contains_key(&key)).then(|| not_found("namespaces", namespace))
}

fn workload_status(object: &Value, ready: bool) -> Value {
    let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
    let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
    let update = format!("rev-{generation}");
    if object["kind"] == "HelmRelease" {
        let (status, reason) = if ready {
            ("True", "InstallSucceeded")
        } else {
            ("False", "Progressing")
        };
        return json!({"observedGeneration": generation,
                      "conditions": [{"type": "Ready", "status": status, "reason": reason,
                                      "message": format!("mock: {reason}")}]});
    }
    if ready {
        json!({"observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
               "availableReplicas": replicas, "updatedReplicas": replicas,
               "currentRevision": update, "updateRevision": update})
    } else {
        json!({"observedGeneration": generation, "replicas": replicas, "readyReplicas": 0,
               "availableReplicas": 0, "updatedReplicas": 0,
               "currentRevision": "rev-0", "updateRevision": update})
    }
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let query = parse_query(request.uri().query());
    let raw_query = request.uri().query().map(str::to_string);
    let user_agent = request
        .headers()
        .get(hyper::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = request
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let body: Option<Value> = if bytes.is_empty() {
        None
    } else {
        serde_json::from_slice(&bytes).ok()
    };
    let mut state = shared.lock();
    state.requests.push(RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        raw_query,
        body: body.clone(),
        user_agent,
    });
    if let Some(failure) = state
        .failures
        .iter()
        .find(|f| f.matches(method.as_str(), &path, &query))
    {
        return respond(failure.status, &failure.body);
    }
    let target = match route(&state.resources, &path) {
        None => return not_found("path", &path),
        Some(Route::Discovery(value)) => {
            return if method == Method::GET {
                respond(200, &value)
            } else {
                refuse(405, "MethodNotAllowed", "")
            };
        }
        Some(Route::Resource(target)) => target,
    };
    let dry_run = dry_run(&query);
    let resource = target.resource.clone();
    match (method, target.key()) {
        (method @ (Method::GET | Method::DELETE), Some(key)) => {
            let delete = method == Method::DELETE && !dry_run;
            let found = if delete {
                state.objects.remove(&key)
            } else {
                state.objects.get(&key).cloned()
            };
            let Some(object) = found else {
                return not_found(&resource.plural, &key.name);
            };
            if delete {
                shared.emit("DELETED", key, object.clone());
            }
            respond(200, &object)
        }
        (Method::GET, None) => {
            let label_selector = query.get("labelSelector").cloned().unwrap_or_default();
            let field_selector = query.get("fieldSelector").cloned().unwrap_or_default();
            let (group, plural) = (resource.group.clone(), resource.plural.clone());
            let selected = move |key: &Key, object: &Value| {
                key.group == group
                    && key.plural == plural
                    && (target.namespace.is_empty() || key.namespace == target.namespace)
                    && labels_match(object, &label_selector)
                    && fields_match(object, &field_selector)
            };
            if query.get("watch").is_some_and(|v| v == "true" || v == "1") {
                let since: u64 = query
                    .get("resourceVersion")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let initial: Vec<Value> = state
                    .objects
                    .iter()
                    .filter(|(k, o)| selected(k, o))
                    .filter(|(_, o)| {
                        o["metadata"]["resourceVersion"]
                            .as_str()
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(0)
                            > since
                    })
                    .map(|(_, o)| json!({"type": "MODIFIED", "object": o}))
                    .collect();
                let receiver = shared.events.subscribe();
                drop(state);
                return watch_response(initial, receiver, selected);
            }
            let items: Vec<Value> = state
                .objects
                .iter()
                .filter(|(k, o)| selected(k, o))
                .map(|(_, o)| o.clone())
                .collect();
            let rv = state.revision.to_string();
            respond(
                200,
                &json!({"apiVersion": resource.api_version(), "kind": format!("{}List", resource.kind),
                        "metadata": {"resourceVersion": rv}, "items": items}),
            )
        }
        (Method::POST, None) => {
            if let Some(missing) = missing_namespace(&state, &resource, &target.namespace) {
                return missing;
            }
            let Some(mut object) = body else {
                return refuse(400, "BadRequest", "no body");
            };
            let name = text(&object["metadata"]["name"]);
            let key = Key::new(&resource, &target.namespace, &name);
            if state.objects.contains_key(&key) {
                return respond(
                    409,
                    &status_body(
                        409,
                        "AlreadyExists",
                        &format!("{} \"{name}\" already exists", resource.plural),
                        json!({"name": name, "kind": resource.plural}),
                    ),
                );
            }
            stamp(&mut state, &mut object, None, &target.namespace, "");
            if !dry_run {
                state.objects.insert(key.clone(), object.clone());
                shared.emit("ADDED", key, object.clone());
            }
            respond(201, &object)
        }
        (Method::PATCH, Some(key)) => {
            if let Some(missing) = missing_namespace(&state, &resource, &target.namespace) {
                return missing;
            }
            let Some(mut object) = body else {
                return refuse(400, "BadRequest", "no body");
            };
            let manager = query.get("fieldManager").cloned().unwrap_or_default();
            let existing = state.objects.get(&key).cloned();
            let readiness = state.readiness;
            stamp(
                &mut state,
                &mut object,
                existing.as_ref(),
                &target.namespace,
                &manager,
            );
            let workload = matches!(
                resource.kind.as_str(),
                "StatefulSet" | "Deployment" | "HelmRelease"
            );
            if workload {
                let ready = readiness == Readiness::Immediate;
                let status = match &existing {
                    Some(e) if content(e) == content(&object) => e["status"].clone(),
                    _ => workload_status(&object, ready),
                };
                object["status"] = status;
            }
            let changed = existing.as_ref() != Some(&object);
            if !dry_run && changed {
                state.objects.insert(key.clone(), object.clone());
                let kind = if existing.is_some() {
                    "MODIFIED"
                } else {
                    "ADDED"
                };
                shared.emit(kind, key.clone(), object.clone());
                if let (true, Readiness::After(delay)) = (workload, readiness) {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let mut state = shared.lock();
                        state.revision += 1;
                        let rv = state.revision.to_string();
                        if let Some(o) = state.objects.get_mut(&key) {
                            o["status"] = workload_status(o, true);
                            o["metadata"]["resourceVersion"] = json!(rv);
                            shared.emit("MODIFIED", key, o.clone());
                        }
                    });
                }
            }
            respond(if existing.is_some() { 200 } else { 201 }, &object)
        }
        _ => refuse(405, "MethodNotAllowed", "not supported by the mock"),
    }
}

/// Sets server-owned metadata on an object being created or applied: keeps identity fields of
/// the existing object, bumps `resourceVersion` only when something changed.
fn stamp(
    state: &mut State,
    object: &mut Value,
    existing: Option<&Value>,
    namespace: &str,
    manager: &str,
) {
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    if !namespace.is_empty() {
        object["metadata"]["namespace"] = json!(namespace);
    }
    let mut managers: Vec<Value> = existing
        .and_then(|e| e["metadata"]["managedFields"].as_array().cloned())
        .unwrap_or_default();
    if !manager.is_empty() && !managers.iter().any(|m| m["manager"] == json!(manager)) {
        managers.push(json!({"manager": manager, "operation": "Apply",
                             "apiVersion": object["apiVersion"], "fieldsType": "FieldsV1", "fieldsV1": {}}));
    }
    match existing {
        Some(e) if content(e) == content(object) => {
            let same_managers = e["metadata"]["managedFields"]
                .as_array()
                .map(|a| a.len())
                .unwrap_or(0)
                == managers.len();
            let mut kept = e.clone();
            if !same_managers {
                state.revision += 1;
                kept["metadata"]["resourceVersion"] = json!(state.revision.to_string());
                kept["metadata"]["managedFields"] = json!(managers);
            }
            *object = kept;
        }
        _ => {
            state.revision += 1;
            let rv = state.revision;
            let spec_changed = existing.is_none_or(|e| e["spec"] != object["spec"]);
            let generation = existing
                .and_then(|e| e["metadata"]["generation"].as_i64())
                .map(|g| if spec_changed { g + 1 } else { g })
                .unwrap_or(1);
            let meta = object["metadata"].as_object_mut().expect("metadata object");
            meta.insert("resourceVersion".into(), json!(rv.to_string()));
            meta.insert("generation".into(), json!(generation));
            meta.insert(
                "uid".into(),
                existing
                    .map(|e| e["metadata"]["uid"].clone())
                    .unwrap_or_else(|| json!(format!("uid-{rv}"))),
            );
            meta.insert(
                "creationTimestamp".into(),
                existing
                    .map(|e| e["metadata"]["creationTimestamp"].clone())
                    .unwrap_or_else(|| json!("2026-01-01T00:00:00Z")),
            );
            meta.insert("managedFields".into(), json!(managers));
            if let Some(status) = existing
                .map(|e| e["status"].clone())
                .filter(|s| !s.is_null())
            {
                object["status"] = status;
            }
        }
    }
}

/// One watch event: a JSON document and a newline.
fn line(v: &Value) -> Result<Frame<Bytes>, Infallible> {
    Ok(Frame::data(Bytes::from(format!("{v}\n"))))
}

fn watch_response(
    initial: Vec<Value>,
    receiver: broadcast::Receiver<Event>,
    selected: impl Fn(&Key, &Value) -> bool + Send + Sync + 'static,
) -> Response<Body> {
    let first = futures::stream::iter(initial.iter().map(line).collect::<Vec<_>>());
    let selected = Arc::new(selected);
    let rest = futures::stream::unfold(receiver, move |mut receiver| {
        let selected = selected.clone();
        async move {
            loop {
                match receiver.recv().await {
                    Ok(event) if selected(&event.key, &event.object) => {
                        let v = json!({"type": event.kind, "object": event.object});
                        return Some((line(&v), receiver));
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    use futures::StreamExt;
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(BodyExt::boxed(StreamBody::new(first.chain(rest))))
        .expect("response")
}
