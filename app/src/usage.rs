//! Recording usage events off the request's path: a request hands its event to a bounded
//! queue and goes on; the server's writer (`server/src/usage.rs`) stores them in batches.
//! A full queue drops the event (and counts it) rather than make a request wait.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

use crate::stats::Feature;
use crate::store::{UsageEvent, UserId};

/// Events waiting for the writer before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 16_384;
/// The longest detail stored with an event.
pub const MAX_DETAIL: usize = 200;

/// What the queue carries to the writer.
#[derive(Debug)]
pub enum Message {
    Event(UsageEvent),
    /// A view to count on the asset (public id): the writer turns the viewer into the key
    /// the database keeps (see [`crate::store::ViewEvent`]).
    View {
        at: chrono::DateTime<Utc>,
        asset: String,
        viewer: crate::recent_views::Viewer,
    },
    /// Answered once everything queued before it is stored.
    Flush(oneshot::Sender<()>),
}

/// The handle requests record events through.
#[derive(Debug)]
pub struct Usage {
    queue: mpsc::Sender<Message>,
    enabled: AtomicBool,
    dropped: AtomicU64,
    /// Who viewed what lately: one view per viewer, asset and window.
    views: crate::recent_views::RecentViews,
}

impl Usage {
    /// A recorder and the receiving end its writer reads.
    pub fn channel(capacity: usize) -> (Arc<Usage>, mpsc::Receiver<Message>) {
        let (queue, receiver) = mpsc::channel(capacity);
        let usage = Usage {
            queue,
            enabled: AtomicBool::new(true),
            dropped: AtomicU64::new(0),
            views: Default::default(),
        };
        (Arc::new(usage), receiver)
    }

    /// A recorder that records nothing (no writer reads it), for tools that serve no one.
    pub fn off() -> Arc<Usage> {
        let (usage, _) = Usage::channel(1);
        usage.set_enabled(false);
        usage
    }

    /// Records that `viewer` looked at `asset` (someone else's): a view for the asset's
    /// counts, which the database takes once per viewer and day, and an `asset_viewed`
    /// usage event while usage tracking is on. A viewer seen on it within
    /// [`crate::recent_views::VIEW_WINDOW`] is not queued again, which spares the database
    /// reloads. A viewer the server cannot tell apart (no address) leaves only the event.
    pub fn record_view(
        &self,
        viewer: Option<crate::recent_views::Viewer>,
        user: Option<UserId>,
        asset: &str,
    ) {
        let first = viewer.as_ref().is_none_or(|viewer| {
            self.views
                .count(viewer.clone(), asset, std::time::Instant::now())
        });
        if !first {
            return;
        }
        self.record(Feature::AssetViewed, user, asset);
        if let Some(viewer) = viewer {
            let view = Message::View {
                at: Utc::now(),
                asset: asset.to_string(),
                viewer,
            };
            if self.queue.try_send(view).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Queues one use of `feature` by `user` (`None`: not logged in). Never waits.
    pub fn record(&self, feature: Feature, user: Option<UserId>, detail: &str) {
        if !self.enabled() {
            return;
        }
        let event = UsageEvent {
            at: Utc::now(),
            feature,
            user,
            detail: cut(detail, MAX_DETAIL).to_string(),
        };
        if self.queue.try_send(Message::Event(event)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until everything recorded so far is stored (tests, shutdown).
    pub async fn flush(&self) {
        let (done, stored) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            let _ = stored.await;
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Follows the `usage_tracking` setting.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// Events lost since start: the queue was full, or the database refused a batch.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn count_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (usage, mut receiver) = Usage::channel(2);
        for _ in 0..5 {
            usage.record(Feature::Search, None, "q");
        }
        assert_eq!(usage.dropped(), 3);
        let mut got = 0;
        while let Ok(Message::Event(event)) = receiver.try_recv() {
            assert_eq!(
                (event.feature, event.detail.as_str()),
                (Feature::Search, "q")
            );
            got += 1;
        }
        assert_eq!(got, 2);
    }

    #[tokio::test]
    async fn nothing_is_queued_while_tracking_is_off() {
        let (usage, mut receiver) = Usage::channel(8);
        usage.set_enabled(false);
        usage.record(Feature::Login, Some(UserId(1)), "");
        assert!(receiver.try_recv().is_err());
        assert_eq!(usage.dropped(), 0);
    }

    #[test]
    fn details_are_cut_at_a_character_boundary() {
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("héllo", 3), "hé");
        assert_eq!(cut("abc", 10), "abc");
    }
}
