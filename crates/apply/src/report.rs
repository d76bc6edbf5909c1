//! What a deploy did and what a diff found, as data a caller can print or inspect.

use std::fmt;

use gatehouse_model::SecretSource;
use gatehouse_render::Rendered;

use crate::deploy::plan_with_env;
use crate::error::ForeignObject;
use crate::preflight::ForeignPolicy;
use crate::{Action, ApplyError, Cluster, DeployOptions, ObjectDiff, ReleaseMode, RequestCounts};

/// The result of a deploy.
#[derive(Debug, Clone, Default)]
pub struct DeployReport {
    /// Dry-run only.
    pub dry_run: bool,
    /// Each object and what happened to it (in a dry-run: would happen), in apply order, with
    /// kubectl's words: created, configured, unchanged, pruned.
    pub objects: Vec<(String, Action)>,
    /// Objects whose namespace did not exist yet, so the server could not dry-run them.
    pub not_dry_run: Vec<String>,
    /// Objects that belonged to another ApplySet or to none and were taken over (`adopt`/`force`).
    pub taken_over: Vec<ForeignObject>,
    /// The release step's summary.
    pub release: Option<String>,
    /// The requests the connection sent to the API server during this deploy, by kind (not the
    /// Helm CLI's own; a concurrent call on a clone of the same `Cluster` would be counted too).
    pub requests: RequestCounts,
    /// Password rotation steps written (one per changed password Secret; names and keys, never a
    /// value). Each needs its roll, then another deploy, until step 3.
    pub rotations: Vec<crate::rotation::Rotation>,
    /// Rotation steps not written because readers of the Secret had not rolled out the step
    /// before (this deploy rolls them out; the next one writes the step).
    pub rotations_held: Vec<crate::rotation::HeldRotation>,
}

impl fmt::Display for DeployReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (object, action) in &self.objects {
            if !self.dry_run {
                writeln!(f, "{object} {action}")?;
            } else if self.not_dry_run.contains(object) {
                // One line per object, saying exactly what the server checked.
                let namespace = object
                    .split_once(' ')
                    .and_then(|(_, rest)| rest.split_once('/'))
                    .map(|(ns, _)| ns)
                    .unwrap_or_default();
                writeln!(
                    f,
                    "{object} {action} (dry run; not checked by the server: namespace {namespace} does not exist yet)"
                )?;
            } else {
                writeln!(f, "{object} {action} (server dry run)")?;
            }
        }
        for foreign in &self.taken_over {
            let verb = if self.dry_run { "would be" } else { "was" };
            writeln!(f, "note: {foreign}; it {verb} taken over")?;
        }
        if let Some(release) = &self.release {
            writeln!(f, "{release}")?;
        }
        for rotation in &self.rotations {
            if self.dry_run {
                writeln!(f, "{rotation} (dry run: nothing written)")?;
            } else {
                writeln!(f, "{rotation}")?;
            }
        }
        for held in &self.rotations_held {
            writeln!(f, "{held}")?;
        }
        Ok(())
    }
}

/// The value `diff` plans with for a Secret whose variable is unset; it is never shown or written.
pub(crate) const PLACEHOLDER: &str = "gatehouse-diff-placeholder-value-not-compared";

/// A Secret `diff` could not compare because its value's environment variable is unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedSecret {
    /// `Secret namespace/name`.
    pub object: String,
    /// The variable deploy will read its value from.
    pub variable: String,
    /// Whether the Secret exists in the cluster (deploy re-applies it; otherwise creates it).
    pub exists: bool,
}

impl fmt::Display for UnverifiedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exists {
            write!(
                f,
                "{}: exists; deploy re-applies it from {} (not set now, so its value is not compared)",
                self.object, self.variable
            )
        } else {
            write!(
                f,
                "{}: would be created from {} (not set now; set it before deploy)",
                self.object, self.variable
            )
        }
    }
}

/// The result of [`Cluster::diff`].
#[derive(Debug, Clone, Default)]
pub struct DiffReport {
    /// One entry per object that differs.
    pub diffs: Vec<ObjectDiff>,
    /// Members that `deploy --prune` would delete.
    pub prunable: Vec<String>,
    /// Notes (objects the server could not dry-run, the Helm release).
    pub notes: Vec<String>,
    /// Secrets whose value could not be compared (variable unset); new ones count as changes.
    pub unverified: Vec<UnverifiedSecret>,
    /// Objects that exist and belong to another ApplySet or to none: deploy refuses them, or
    /// takes them over with `--adopt`/`--force` (see `adopt`).
    pub foreign: Vec<ForeignObject>,
    /// The diff was made for `--adopt`/`--force`: the foreign objects would be taken over.
    pub adopt: bool,
}

impl DiffReport {
    /// Whether anything differs.
    pub fn has_changes(&self) -> bool {
        !self.diffs.is_empty()
            || !self.prunable.is_empty()
            || self.unverified.iter().any(|u| !u.exists)
            || !self.foreign.is_empty()
    }

    /// The report as text; `color` adds ANSI colors.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for d in &self.diffs {
            out.push_str(&d.render(color));
        }
        for p in &self.prunable {
            out.push_str(&format!("{p}: would be pruned (deploy --prune)\n"));
        }
        for u in &self.unverified {
            out.push_str(&format!("{u}\n"));
        }
        for f in &self.foreign {
            let fate = if self.adopt {
                "take it over"
            } else {
                "refuse it (take it over with --adopt or --force)"
            };
            out.push_str(&format!("{f}: deploy would {fate}\n"));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }
}

impl Cluster {
    /// Compares the server dry-run of every object with the live object.
    pub async fn diff(
        &self,
        rendered: &Rendered,
        options: &DeployOptions,
    ) -> Result<DiffReport, ApplyError> {
        self.diff_with_env(rendered, options, &|v| std::env::var(v).ok())
            .await
    }

    /// [`Cluster::diff`] with an explicit environment lookup.
    pub async fn diff_with_env(
        &self,
        rendered: &Rendered,
        options: &DeployOptions,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DiffReport, ApplyError> {
        // A Secret whose value comes from an unset variable is planned with a placeholder (so the
        // server still dry-runs it and prune still knows it), then reported without comparing it.
        let missing = std::cell::RefCell::new(Vec::new());
        let lenient = |variable: &str| match env(variable).filter(|v| !v.is_empty()) {
            Some(value) => Some(value),
            None => {
                missing.borrow_mut().push(variable.to_string());
                Some(PLACEHOLDER.to_string())
            }
        };
        let (mut masker, mut plan) = plan_with_env(rendered, options, &lenient)?;
        let missing = missing.into_inner();
        let unverified: Vec<(String, String)> = rendered
            .secrets
            .iter()
            .filter_map(|req| match &req.source {
                SecretSource::Env { variable } if missing.contains(variable) => Some((
                    format!("Secret {}/{}", req.namespace, req.secret.name),
                    variable.clone(),
                )),
                _ => None,
            })
            .collect();
        let checked = self
            .preflight(
                &mut plan,
                options,
                &mut masker,
                Vec::new(),
                ForeignPolicy::Report,
            )
            .await?;
        let mut report = DiffReport {
            adopt: options.adopt || options.force,
            foreign: checked.foreign,
            ..Default::default()
        };
        for r in &checked.dry_runs {
            if let Some((object, variable)) = unverified
                .iter()
                .find(|(object, _)| *object == r.desired.display())
            {
                if !report.unverified.iter().any(|u| u.object == *object) {
                    report.unverified.push(UnverifiedSecret {
                        object: object.clone(),
                        variable: variable.clone(),
                        exists: r.live.is_some(),
                    });
                }
                continue;
            }
            if r.action == Action::Unchanged {
                continue;
            }
            if let Some(d) =
                ObjectDiff::new(&r.desired.display(), r.live.as_ref(), &r.result, &masker)
            {
                report.diffs.push(d);
            }
            if !r.validated {
                report.notes.push(format!(
                    "{}: namespace does not exist yet, the server could not dry-run it",
                    r.desired.display()
                ));
            }
        }
        for (kind, object) in &checked.stale {
            report
                .prunable
                .push(crate::deploy::display_of(kind, object));
        }
        if options.release == ReleaseMode::Helm {
            report.notes.push(format!(
                "the Helm release {} is not diffed (use the helm-diff plugin, or --flux to diff it as objects)",
                rendered.helm.release_name
            ));
        }
        Ok(report)
    }
}
