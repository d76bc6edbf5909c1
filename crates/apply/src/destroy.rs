//! Removing what gatehouse deployed.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use gatehouse_render::Rendered;

use crate::events::{Event, emit};
use crate::secrets::Masker;
use crate::{ApplyError, Cluster, DeployOptions, Plan, ReleaseMode, applyset, helm};

impl Cluster {
    /// Deletes everything gatehouse deployed: the gateway release, every ApplySet member (in
    /// reverse apply order, never objects with ownerReferences) and the parent. The Namespace and
    /// the PersistentVolumeClaims of the StatefulSets (Redis data) are kept.
    pub async fn destroy(
        &self,
        rendered: &Rendered,
        options: &DeployOptions,
    ) -> Result<Vec<String>, ApplyError> {
        let masker = Masker::default();
        let plan = Plan::new(rendered, Vec::new(), options.release);
        let mut removed = Vec::new();
        if options.release == ReleaseMode::Helm && !options.skip_release {
            let helm = helm::Helm::locate(
                options.helm.clone(),
                self.context.clone(),
                self.kubeconfig.clone(),
            )?;
            if let Some(line) = helm
                .uninstall(&rendered.helm, options.timeout, &masker)
                .await?
            {
                removed.push(line);
            }
        }
        let parent = self.live_parent(&plan, &masker).await?;
        let Some(parent) = parent else {
            return Ok(removed);
        };
        let kinds: BTreeSet<String> = applyset::listed_group_kinds(&parent)
            .union(&plan.group_kinds())
            .cloned()
            .collect();
        let empty = Plan {
            objects: Vec::new(),
            ..plan.clone()
        };
        let stale = self.stale_members(&empty, &kinds, &masker).await?;
        // `stale` is in reverse apply order: one stage at a time, its objects concurrently.
        for objects in stale.chunk_by(|a, b| a.0.tier == b.0.tier) {
            let names: Vec<String> = futures::stream::iter(objects)
                .map(|(kind, object)| {
                    let masker = &masker;
                    async move {
                        let name = self.delete(kind, object, options.dry_run, masker).await?;
                        emit(&options.events, || Event::Deleted {
                            object: name.clone(),
                        });
                        Ok::<_, ApplyError>(name)
                    }
                })
                .buffered(options.concurrency.max(1))
                .try_collect()
                .await?;
            removed.extend(names);
        }
        let secret = crate::plan::secret_kind();
        removed.push(
            self.delete(secret, &parent, options.dry_run, &masker)
                .await?,
        );
        Ok(removed)
    }
}
