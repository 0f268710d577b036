//! Which viewers saw which asset lately, so that a view is counted once per viewer and
//! window: reloading a page, or a script fetching it in a loop, does not inflate its
//! owner's "views received". Kept in memory (a restart forgets it, which costs at most one
//! extra view per viewer and asset) and bounded in size.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::auth::ThrottleKey;
use crate::store::UserId;

/// A viewer counts one view of an asset per this long.
pub const VIEW_WINDOW: Duration = Duration::from_secs(30 * 60);
/// Most (viewer, asset) pairs remembered. Past it, pairs older than the window are
/// dropped (at most once a second); if all are recent, new views are not counted until
/// some age out: under a flood, counts stop growing rather than memory.
pub const MAX_RECENT_VIEWS: usize = 200_000;

/// Who looked: an account, or else an address (IPv6 by its /64, as the throttle counts).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Viewer {
    User(UserId),
    Client(ThrottleKey),
}

impl Viewer {
    /// The account when logged in, else the address; `None` when neither is known.
    pub fn of(user: Option<UserId>, ip: Option<IpAddr>) -> Option<Viewer> {
        match (user, ip) {
            (Some(user), _) => Some(Viewer::User(user)),
            (None, Some(ip)) => Some(Viewer::Client(ThrottleKey::client(ip))),
            (None, None) => None,
        }
    }

    /// How the database knows this viewer on `day` (days since 1970-01-01): `u:{id}` for
    /// an account; for a visitor `v:` and 32 hex digits of SHA-256 over the instance's
    /// salt, the day and the address, so that no row names an address and the same visitor
    /// is someone else the next day.
    pub fn stored_key(&self, salt: &str, day: i32) -> String {
        use sha2::{Digest, Sha256};
        use std::fmt::Write;
        match self {
            Viewer::User(user) => format!("u:{}", user.0),
            Viewer::Client(client) => {
                let client = match client {
                    ThrottleKey::Client(ip) => ip.to_string(),
                    ThrottleKey::Account(name) => format!("account {name}"),
                };
                let digest = Sha256::digest(format!("{salt}\n{day}\n{client}"));
                let mut key = String::with_capacity(34);
                key.push_str("v:");
                for byte in &digest[..16] {
                    let _ = write!(key, "{byte:02x}");
                }
                key
            }
        }
    }
}

#[derive(Debug, Default)]
struct Seen {
    at: HashMap<(Viewer, String), Instant>,
    pruned: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct RecentViews {
    seen: Mutex<Seen>,
}

impl RecentViews {
    /// True when `viewer` has not been counted for `asset` within the window: the view
    /// counts, and is remembered from `now`.
    pub fn count(&self, viewer: Viewer, asset: &str, now: Instant) -> bool {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (viewer, asset.to_string());
        if let Some(at) = seen.at.get(&key) {
            if now.saturating_duration_since(*at) < VIEW_WINDOW {
                return false;
            }
        }
        if seen.at.len() >= MAX_RECENT_VIEWS {
            let due = seen
                .pruned
                .is_none_or(|last| now.saturating_duration_since(last) >= Duration::from_secs(1));
            if due {
                seen.pruned = Some(now);
                seen.at
                    .retain(|_, at| now.saturating_duration_since(*at) < VIEW_WINDOW);
            }
            if seen.at.len() >= MAX_RECENT_VIEWS {
                return false;
            }
        }
        seen.at.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_keys_name_accounts_and_hide_addresses() {
        let ip = "192.0.2.5".parse().expect("ip");
        let visitor = Viewer::of(None, Some(ip)).expect("viewer");
        let key = visitor.stored_key("salt", 20_000);
        assert!(key.starts_with("v:") && key.len() == 34, "{key}");
        assert!(!key.contains("192.0.2.5"));
        // The same visitor is one key a day, another the next day or on another instance.
        assert_eq!(key, visitor.stored_key("salt", 20_000));
        assert_ne!(key, visitor.stored_key("salt", 20_001));
        assert_ne!(key, visitor.stored_key("other salt", 20_000));
        let user = Viewer::of(Some(UserId(7)), Some(ip)).expect("viewer");
        assert_eq!(user.stored_key("salt", 20_000), "u:7");
    }

    #[test]
    fn reloading_counts_one_view_per_window() {
        let views = RecentViews::default();
        let start = Instant::now();
        let visitor = Viewer::of(None, Some("192.0.2.5".parse().expect("ip"))).expect("viewer");
        assert!(views.count(visitor.clone(), "asset1", start));
        for reload in 1..50 {
            let at = start + Duration::from_secs(reload);
            assert!(
                !views.count(visitor.clone(), "asset1", at),
                "reload {reload}"
            );
        }
        // Another asset, another viewer: counted.
        assert!(views.count(visitor.clone(), "asset2", start));
        let member = Viewer::of(Some(UserId(7)), Some("192.0.2.5".parse().expect("ip")));
        assert!(views.count(member.expect("viewer"), "asset1", start));
        // Once the window has passed, a view counts again.
        assert!(views.count(visitor, "asset1", start + VIEW_WINDOW));
        assert_eq!(Viewer::of(None, None), None);
    }

    #[test]
    fn an_ipv6_visitor_is_one_viewer_across_its_64() {
        let views = RecentViews::default();
        let now = Instant::now();
        let a = Viewer::of(None, Some("2001:db8:1:2::1".parse().expect("ip")));
        let b = Viewer::of(None, Some("2001:db8:1:2::2".parse().expect("ip")));
        assert!(views.count(a.expect("viewer"), "asset", now));
        assert!(!views.count(b.expect("viewer"), "asset", now));
    }
}
