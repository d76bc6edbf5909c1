//! Progress as typed events: the library reports, the caller decides whether and how to draw.

use std::fmt;
use std::sync::Arc;

use crate::Action;

/// One step of a deploy, diff or destroy, in the order it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The checks before the first write started (existing Secrets, Flux APIs, server dry-run).
    Preflight {
        /// Objects that will be dry-run.
        objects: usize,
    },
    /// The server dry-run of one object finished: what the write would do.
    Planned {
        /// `Kind namespace/name`.
        object: String,
        /// What deploy would do.
        action: Action,
    },
    /// One object was written, left alone because it is unchanged, or pruned (action `Pruned`).
    Applied {
        /// `Kind namespace/name`.
        object: String,
        /// What happened.
        action: Action,
    },
    /// A workload is not ready yet.
    Waiting {
        /// `Kind namespace/name`.
        object: String,
        /// Replicas ready (1 for a ready HelmRelease).
        ready: u64,
        /// Replicas wanted.
        wanted: u64,
        /// Why it is not ready (secret values masked).
        reason: String,
    },
    /// A workload is ready.
    Ready {
        /// `Kind namespace/name`.
        object: String,
    },
    /// The gateway release step finished.
    Released {
        /// What the release step did.
        summary: String,
    },
    /// An object was deleted by destroy.
    Deleted {
        /// `Kind namespace/name`.
        object: String,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Preflight { objects } => {
                write!(
                    f,
                    "checking: secrets, APIs, server dry-run of {objects} objects"
                )
            }
            Event::Planned { object, action } => write!(f, "{object}: would be {action}"),
            Event::Applied { object, action } => write!(f, "{object} {action}"),
            Event::Waiting {
                object,
                ready,
                wanted,
                reason,
            } => write!(f, "{object}: waiting ({ready}/{wanted}): {reason}"),
            Event::Ready { object } => write!(f, "{object}: ready"),
            Event::Released { summary } => f.write_str(summary),
            Event::Deleted { object } => write!(f, "{object} deleted"),
        }
    }
}

/// Where events go: a callback, called from the task that made progress (keep it short; send to
/// a channel for anything slow).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = {
///     let seen = seen.clone();
///     gatehouse_apply::EventSink::new(move |e| seen.lock().unwrap().push(e.to_string()))
/// };
/// sink.emit(gatehouse_apply::Event::Ready { object: "StatefulSet a/b".into() });
/// assert_eq!(*seen.lock().unwrap(), ["StatefulSet a/b: ready"]);
/// ```
#[derive(Clone)]
pub struct EventSink(Arc<dyn Fn(&Event) + Send + Sync>);

impl EventSink {
    /// A sink calling `f` with every event.
    pub fn new(f: impl Fn(&Event) + Send + Sync + 'static) -> EventSink {
        EventSink(Arc::new(f))
    }

    /// Delivers one event.
    pub fn emit(&self, event: Event) {
        (self.0)(&event)
    }
}

impl fmt::Debug for EventSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventSink(..)")
    }
}

/// Delivers `event` to the sink, if there is one.
pub(crate) fn emit(sink: &Option<EventSink>, event: impl FnOnce() -> Event) {
    if let Some(sink) = sink {
        sink.emit(event())
    }
}
