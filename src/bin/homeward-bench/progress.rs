//! Progress on a terminal: one line per phase on stderr, so stdout (the
//! JSON, or the summary) stays clean. Nothing is drawn when stderr is not a
//! terminal.

use std::io::IsTerminal;
use std::time::Duration;

use homeward::ingest::ImportProgress;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    multi: MultiProgress,
}

impl Progress {
    pub fn new() -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
        }
    }

    /// A bar counting `total` things.
    pub fn bar(&self, label: &str, total: u64) -> Bar {
        let style = ProgressStyle::with_template(
            "{prefix:>24} {bar:30} {pos}/{len} {msg} ({per_sec}, {elapsed})",
        )
        .expect("the template is valid");
        let bar = ProgressBar::new(total).with_style(style);
        bar.set_prefix(label.to_owned());
        Bar(self.multi.add(bar))
    }

    /// A spinner for a phase with no count.
    pub fn spinner(&self, label: &str) -> Bar {
        let style = ProgressStyle::with_template("{prefix:>24} {spinner} {msg} ({elapsed})")
            .expect("the template is valid");
        let bar = ProgressBar::new_spinner().with_style(style);
        bar.set_prefix(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar(self.multi.add(bar))
    }

    pub fn clear(&self) {
        let _ = self.multi.clear();
    }
}

/// One phase's line.
#[derive(Clone)]
pub struct Bar(ProgressBar);

impl Bar {
    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    pub fn set_message(&self, message: impl Into<String>) {
        self.0.set_message(message.into());
    }

    /// Keep the bar at `count()` until it is finished.
    pub fn follow(&self, count: impl Fn() -> u64 + Send + 'static) {
        let bar = self.0.clone();
        if bar.is_hidden() {
            return;
        }
        tokio::spawn(async move {
            while !bar.is_finished() {
                bar.set_position(count());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }

    /// Leave the line on screen with what the phase found.
    pub fn done(&self, message: impl Into<String>) {
        self.0.finish_with_message(message.into());
    }
}

impl ImportProgress for Bar {
    fn rows_total(&self, rows: u64) {
        self.0.set_length(rows);
    }

    fn rows_done(&self, rows: u64) {
        self.0.set_position(rows);
    }
}
