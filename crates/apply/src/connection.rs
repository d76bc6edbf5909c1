//! The connection to one cluster: kubeconfig and context resolved like kubectl, and the typed
//! requests every other step sends (GET, server-side apply, create).

use std::path::PathBuf;

use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::Value;

use crate::requests::RequestCounter;
use crate::secrets::Masker;
use crate::{ApplyError, Desired, FIELD_MANAGER, ObjectKind, Verb, WriteMode, error};

/// The HTTP `User-Agent` of every request, so that API server audit logs name gatehouse.
pub const USER_AGENT: &str = concat!("gatehouse/", env!("CARGO_PKG_VERSION"));

/// Where the cluster is: kubeconfig file and context, resolved like kubectl.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// A kubeconfig file; otherwise `KUBECONFIG` (merged list) or `~/.kube/config`, then the
    /// in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig; otherwise its `current-context`.
    pub context: Option<String>,
}

/// A connection to one cluster.
#[derive(Clone)]
pub struct Cluster {
    pub(crate) client: Client,
    pub(crate) server: String,
    pub(crate) context: Option<String>,
    pub(crate) kubeconfig: Option<PathBuf>,
    /// Every request the client sent, by kind (fed by a layer on the client built in `connect`).
    pub(crate) requests: RequestCounter,
}

impl Cluster {
    /// Connects like kubectl (the kubeconfig file, else `KUBECONFIG`, else `~/.kube/config`,
    /// then in-cluster) and checks that the API server answers.
    pub async fn connect(options: &ConnectOptions) -> Result<Cluster, ApplyError> {
        let kubeconfig = match &options.kubeconfig {
            Some(path) => {
                Some(
                    Kubeconfig::read_from(path).map_err(|e| ApplyError::Kubeconfig {
                        path: path.display().to_string(),
                        message: error::error_chain(&e),
                    })?,
                )
            }
            None => match Kubeconfig::from_env() {
                Ok(Some(k)) => Some(k),
                Ok(None) => Kubeconfig::read().ok(),
                Err(e) => {
                    return Err(ApplyError::Kubeconfig {
                        path: "KUBECONFIG".into(),
                        message: error::error_chain(&e),
                    });
                }
            },
        };
        let config = match kubeconfig {
            Some(kubeconfig) => {
                if let Some(context) = &options.context
                    && !kubeconfig.contexts.iter().any(|c| &c.name == context)
                {
                    return Err(ApplyError::UnknownContext {
                        context: context.clone(),
                        available: kubeconfig
                            .contexts
                            .iter()
                            .map(|c| c.name.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
                let opts = KubeConfigOptions {
                    context: options.context.clone(),
                    ..Default::default()
                };
                Config::from_custom_kubeconfig(kubeconfig, &opts)
                    .await
                    .map_err(|e| ApplyError::Kubeconfig {
                        path: options
                            .kubeconfig
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| "KUBECONFIG / ~/.kube/config".into()),
                        message: error::error_chain(&e),
                    })?
            }
            None => Config::incluster().map_err(|_| ApplyError::NoKubeconfig {
                searched: "KUBECONFIG unset, ~/.kube/config missing, not running in a cluster"
                    .into(),
            })?,
        };
        let mut config = config;
        config.headers.push((
            http::header::USER_AGENT,
            http::HeaderValue::from_static(USER_AGENT),
        ));
        let server = config.cluster_url.to_string();
        let requests = RequestCounter::default();
        let client = ClientBuilder::try_from(config)
            .map_err(|e| ApplyError::Unreachable {
                server: server.clone(),
                message: error::error_chain(&e),
            })?
            .with_layer(&requests.layer())
            .build();
        let cluster = Cluster {
            client,
            server: server.clone(),
            context: options.context.clone(),
            kubeconfig: options.kubeconfig.clone(),
            requests,
        };
        cluster.client.apiserver_version().await.map_err(|e| {
            ApplyError::from_kube(e, "API server", Verb::Get, "version", &server, &|s| {
                s.into()
            })
        })?;
        Ok(cluster)
    }

    /// A cluster from an existing client (tests, embedding).
    pub fn from_client(client: Client, server: &str) -> Cluster {
        Cluster {
            client,
            server: server.into(),
            context: None,
            kubeconfig: None,
            requests: RequestCounter::default(),
        }
    }

    /// The API server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    pub(crate) fn api(&self, kind: &ObjectKind, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = api_resource(kind);
        match (kind.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        }
    }

    pub(crate) fn kube_err(
        &self,
        e: kube::Error,
        object: &str,
        verb: Verb,
        kind: &ObjectKind,
        masker: &Masker,
    ) -> ApplyError {
        // `plural[.group]`, as RBAC names the resource.
        let resource = match kind.group {
            "" => kind.plural.to_string(),
            group => format!("{}.{group}", kind.plural),
        };
        ApplyError::from_kube(e, object, verb, &resource, &self.server, &|s| {
            masker.mask(s)
        })
    }

    pub(crate) async fn get_live(
        &self,
        d: &Desired,
        masker: &Masker,
    ) -> Result<Option<Value>, ApplyError> {
        self.get_object(d.kind, d.namespace(), d.name(), masker)
            .await
    }

    /// One live object of `kind` by namespace and name, `None` when it does not exist; an error
    /// names the object (`Kind namespace/name`).
    pub(crate) async fn get_object(
        &self,
        kind: &ObjectKind,
        namespace: Option<&str>,
        name: &str,
        masker: &Masker,
    ) -> Result<Option<Value>, ApplyError> {
        let object = match namespace {
            Some(ns) => format!("{} {ns}/{name}", kind.kind),
            None => format!("{} {name}", kind.kind),
        };
        self.api(kind, namespace)
            .get_opt(name)
            .await
            .map(|o| o.map(|o| list_item(kind, o)))
            .map_err(|e| self.kube_err(e, &object, Verb::Get, kind, masker))
    }

    pub(crate) async fn write(
        &self,
        d: &Desired,
        dry_run: bool,
        force: bool,
        masker: &Masker,
    ) -> Result<Value, ApplyError> {
        let api = self.api(d.kind, d.namespace());
        match d.mode {
            WriteMode::Apply | WriteMode::TakeOver => {
                let params = PatchParams {
                    dry_run,
                    force: force || d.mode == WriteMode::TakeOver,
                    ..PatchParams::apply(FIELD_MANAGER)
                };
                api.patch(d.name(), &params, &Patch::Apply(&d.body))
                    .await
                    .map(to_value)
                    .map_err(|e| self.kube_err(e, &d.display(), Verb::Patch, d.kind, masker))
            }
            WriteMode::CreateOnce => {
                let params = PostParams {
                    dry_run,
                    field_manager: Some(FIELD_MANAGER.into()),
                };
                let object: DynamicObject =
                    serde_json::from_value(d.body.clone()).expect("apply bodies are objects");
                api.create(&params, &object)
                    .await
                    .map(to_value)
                    .map_err(|e| self.kube_err(e, &d.display(), Verb::Create, d.kind, masker))
            }
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }
}

/// The kube `ApiResource` of a kind, for a dynamic `Api`.
pub fn api_resource(kind: &ObjectKind) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(kind.group, kind.version, kind.kind),
        kind.plural,
    )
}

/// A dynamic object as JSON.
pub(crate) fn to_value(object: DynamicObject) -> Value {
    serde_json::to_value(object).expect("objects serialize")
}

/// An item of a LIST of `kind`, with its kind set (list items carry none; dry-run results do).
pub(crate) fn list_item(kind: &ObjectKind, item: DynamicObject) -> Value {
    let mut value = to_value(item);
    value["kind"] = Value::from(kind.kind);
    value["apiVersion"] = Value::from(kind.api_version);
    value
}

/// The object has an owner (a controller made it): never a stale member to prune.
pub(crate) fn has_owner(object: &Value) -> bool {
    object["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|o| !o.is_empty())
}
