//! Login throttling: after too many failures in a window, from one client address or
//! against one account, further attempts are refused until the window has passed, even
//! with the right password.
//!
//! An attempt takes its place in the count *before* its password is checked
//! ([`LoginThrottle::reserve`]) and gives it back only when it succeeds
//! ([`LoginThrottle::forgive`]): a burst of parallel guesses cannot all pass the check
//! while the first ones are still being verified.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

pub const MAX_FAILURES: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(60);

/// Past this many tracked keys, keys whose failures have all left the window are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// What failures are counted against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// A client address; IPv6 by its /64, which one subscriber usually holds whole.
    Client(IpAddr),
    /// A username as typed (lower-case), whether or not the account exists.
    Account(String),
}

impl ThrottleKey {
    pub fn client(ip: IpAddr) -> ThrottleKey {
        match ip {
            IpAddr::V4(_) => ThrottleKey::Client(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ThrottleKey::Client(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    ThrottleKey::Client(IpAddr::V6(prefix.into()))
                }
            },
        }
    }

    pub fn account(username: &str) -> ThrottleKey {
        ThrottleKey::Account(username.trim().to_lowercase())
    }
}

pub struct LoginThrottle {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<ThrottleKey, VecDeque<Instant>>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(MAX_FAILURES, WINDOW)
    }
}

impl LoginThrottle {
    pub fn new(max_failures: usize, window: Duration) -> LoginThrottle {
        LoginThrottle {
            max_failures: max_failures.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<ThrottleKey, VecDeque<Instant>>> {
        // A panic while holding the lock cannot leave the table inconsistent.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// When any key has had too many failures in the window: how long until it has not.
    fn wait(
        &self,
        table: &HashMap<ThrottleKey, VecDeque<Instant>>,
        keys: &[ThrottleKey],
        now: Instant,
    ) -> Duration {
        let mut wait = Duration::ZERO;
        for key in keys {
            let Some(times) = table.get(key) else {
                continue;
            };
            let recent: Vec<&Instant> = times
                .iter()
                .filter(|t| now.saturating_duration_since(**t) < self.window)
                .collect();
            if recent.len() >= self.max_failures {
                // Allowed again when enough of the recent failures have aged out.
                let oldest_counting = recent[recent.len() - self.max_failures];
                let free_at = *oldest_counting + self.window;
                wait = wait.max(free_at.saturating_duration_since(now));
            }
        }
        wait
    }

    /// `Err(wait)` when any key has had too many failures in the window: try again after
    /// `wait`.
    pub fn check(&self, keys: &[ThrottleKey], now: Instant) -> Result<(), Duration> {
        let wait = self.wait(&self.table(), keys, now);
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait)
        }
    }

    /// Checks `keys` and, when the attempt may go ahead, counts it as a failure at once,
    /// under the same lock: `Ok(at)` names the attempt for [`LoginThrottle::forgive`].
    /// Of N attempts made together, at most the allowed number get through.
    pub fn reserve(&self, keys: &[ThrottleKey], now: Instant) -> Result<Instant, Duration> {
        let mut table = self.table();
        let wait = self.wait(&table, keys, now);
        if !wait.is_zero() {
            return Err(wait);
        }
        self.push(&mut table, keys, now);
        Ok(now)
    }

    /// Takes back the failure a [`LoginThrottle::reserve`] at `at` counted, for an attempt
    /// that turned out not to be one (the password was right).
    pub fn forgive(&self, keys: &[ThrottleKey], at: Instant) {
        let mut table = self.table();
        for key in keys {
            if let Some(times) = table.get_mut(key) {
                if let Some(index) = times.iter().rposition(|t| *t == at) {
                    times.remove(index);
                }
                if times.is_empty() {
                    table.remove(key);
                }
            }
        }
    }

    fn push(
        &self,
        table: &mut HashMap<ThrottleKey, VecDeque<Instant>>,
        keys: &[ThrottleKey],
        now: Instant,
    ) {
        if table.len() > PRUNE_ABOVE {
            let window = self.window;
            table.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < window)
            });
        }
        for key in keys {
            let times = table.entry(key.clone()).or_default();
            times.push_back(now);
            while times.len() > self.max_failures {
                times.pop_front();
            }
        }
    }

    /// Forgets the failures of `key` (an account after a successful login).
    pub fn clear(&self, key: &ThrottleKey) {
        self.table().remove(key);
    }
}

/// Whole seconds for `Retry-After`, rounded up, at least one.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_attempt_in_a_minute_waits_until_the_window_passes() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        let keys = [
            ThrottleKey::client("192.0.2.7".parse().expect("ip")),
            ThrottleKey::account("Alice"),
        ];
        for i in 0..10 {
            let at = start + Duration::from_secs(i);
            assert_eq!(throttle.reserve(&keys, at), Ok(at), "attempt {i}");
        }
        let at = start + Duration::from_secs(10);
        let wait = throttle.check(&keys, at).expect_err("throttled");
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(retry_after_secs(wait), 50);
        // Another address trying the same account is refused too; the first address trying
        // another account as well.
        assert!(throttle
            .check(
                &[
                    ThrottleKey::client("198.51.100.1".parse().expect("ip")),
                    ThrottleKey::account("alice")
                ],
                at
            )
            .is_err());
        assert!(throttle
            .check(&[keys[0].clone(), ThrottleKey::account("bob")], at)
            .is_err());
        // Once the first failure is a minute old, one more attempt is allowed.
        assert_eq!(
            throttle.check(&keys, start + Duration::from_secs(60)),
            Ok(())
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_bit_prefix() {
        let a = ThrottleKey::client("2001:db8:1:2::1".parse().expect("ip"));
        let b = ThrottleKey::client("2001:db8:1:2:ffff::9".parse().expect("ip"));
        let c = ThrottleKey::client("2001:db8:1:3::1".parse().expect("ip"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            ThrottleKey::client("::ffff:192.0.2.1".parse().expect("ip")),
            ThrottleKey::client("192.0.2.1".parse().expect("ip"))
        );
    }

    #[test]
    fn clearing_an_account_keeps_the_address_count() {
        let throttle = LoginThrottle::new(2, WINDOW);
        let now = Instant::now();
        let ip = ThrottleKey::client("192.0.2.9".parse().expect("ip"));
        let account = ThrottleKey::account("carol");
        for _ in 0..2 {
            throttle
                .reserve(&[ip.clone(), account.clone()], now)
                .expect("allowed");
        }
        throttle.clear(&account);
        assert_eq!(throttle.check(&[account], now), Ok(()));
        assert!(throttle.check(&[ip], now).is_err());
    }

    #[test]
    fn a_burst_of_attempts_reserves_places_so_only_the_allowed_number_go_ahead() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        let keys = [
            ThrottleKey::client("192.0.2.8".parse().expect("ip")),
            ThrottleKey::account("dave"),
        ];
        // A hundred guesses arrive before any has been verified.
        let passed = (0..100)
            .filter(|_| throttle.reserve(&keys, now).is_ok())
            .count();
        assert_eq!(passed, MAX_FAILURES);
        assert!(throttle.check(&keys, now).is_err());
    }

    #[test]
    fn a_successful_attempt_gives_its_place_back() {
        let throttle = LoginThrottle::new(2, WINDOW);
        let now = Instant::now();
        let keys = [ThrottleKey::client("192.0.2.10".parse().expect("ip"))];
        let first = throttle.reserve(&keys, now).expect("first attempt");
        throttle.forgive(&keys, first);
        let later = now + Duration::from_secs(1);
        throttle.reserve(&keys, later).expect("second attempt");
        throttle
            .reserve(&keys, later)
            .expect("third attempt: the first was forgiven");
        assert!(throttle.reserve(&keys, later).is_err());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
