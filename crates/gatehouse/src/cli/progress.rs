//! Drawing the apply library's progress events on a terminal with indicatif.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_apply::{Event, EventSink};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// An event sink drawing on stderr: one line per applied or deleted object, a bar per workload
/// being waited for. `None` when stderr is not a terminal: then only the final report is printed.
pub fn terminal_sink(is_terminal: bool) -> Option<EventSink> {
    if !is_terminal {
        return None;
    }
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{spinner} {prefix:48} [{bar:20}] {pos}/{len} {msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    let waiting: Arc<Mutex<HashMap<String, ProgressBar>>> = Arc::default();
    Some(EventSink::new(move |event| match event {
        Event::Waiting {
            object,
            ready,
            wanted,
            reason,
        } => {
            let mut waiting = waiting.lock().expect("not poisoned");
            let bar = waiting.entry(object.clone()).or_insert_with(|| {
                let bar = bars.add(ProgressBar::new(*wanted).with_style(style.clone()));
                bar.set_prefix(object.clone());
                bar.enable_steady_tick(Duration::from_millis(200));
                bar
            });
            bar.set_length(*wanted);
            bar.set_position(*ready);
            bar.set_message(reason.clone());
        }
        Event::Ready { object } => {
            if let Some(bar) = waiting.lock().expect("not poisoned").get(object) {
                bar.finish_with_message("ready");
            } else {
                let _ = bars.println(format!("{object}: ready"));
            }
        }
        // The per-object dry-run results are in the final report; a line each would double it.
        Event::Planned { .. } => {}
        other => {
            let _ = bars.println(other.to_string());
        }
    }))
}
