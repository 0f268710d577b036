//! Password hashing: argon2id with the OWASP parameters (m = 19456 KiB, t = 2, p = 1),
//! stored as PHC strings. Hashing runs on a few threads of its own (`hash_threads`) behind
//! small semaphores, so a flood of logins queues up instead of starving page rendering or
//! growing memory. Verifying (logins) and
//! hashing new passwords (registration, password changes) queue separately: a flood of
//! registrations cannot keep people from logging in.

use std::{
    collections::HashSet,
    sync::atomic::{AtomicU64, Ordering},
    sync::Arc,
    sync::LazyLock,
    time::Duration,
};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use tokio::sync::Semaphore;

use super::hash_threads::HashThreads;

use crate::error::ApiError;

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

/// How long a login waits for a free hashing slot before the server says it is busy.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(15);

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .collect()
});

/// True when the password is on the shipped list of the most common passwords (ignoring
/// case).
pub fn is_common(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

/// Verified for unknown users, so they take as long as a wrong password. One per process,
/// made on first use (the server makes it in the background at start-up: [`warm_up`]).
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    hash_now("no account has this password, it only burns time")
        .unwrap_or_else(|_| String::from("$argon2id$v=19$m=19456,t=2,p=1$invalid"))
});

/// Makes the dummy hash now, so the first login of an unknown user costs what later ones
/// do. Blocking: call it from a blocking thread.
pub fn warm_up() {
    LazyLock::force(&DUMMY);
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's limits.
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .unwrap_or_else(|_| Params::default());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// A hash made with other argon2id parameters, as an older version (or another program)
/// would have stored it. For tests and imports; new hashes use [`Passwords::hash`].
pub fn hash_with_params(
    password: &str,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
) -> Result<String, argon2::password_hash::Error> {
    let params = Params::new(memory_kib, iterations, parallelism, None)?;
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// The outcome of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub matches: bool,
    /// The stored hash uses other parameters than today's: rehash it now that we know the
    /// password.
    pub outdated: bool,
}

fn verify_now(stored: &str, password: &str) -> Verdict {
    let Ok(parsed) = PasswordHash::new(stored) else {
        tracing::error!("a stored password hash is not a PHC string");
        return Verdict {
            matches: false,
            outdated: false,
        };
    };
    // Verify with the parameters the hash names, whatever today's are.
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let current = parsed.algorithm.as_str() == "argon2id"
        && parsed.version == Some(Version::V0x13.into())
        && Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == MEMORY_KIB && p.t_cost() == ITERATIONS && p.p_cost() == PARALLELISM
        });
    Verdict {
        matches,
        outdated: !current,
    }
}

/// One kind of hashing work: how many may run at once, and the threads they run on.
#[derive(Clone)]
struct Lane {
    slots: Arc<Semaphore>,
    threads: HashThreads,
}

impl Lane {
    fn new(name: &str, slots: usize) -> Lane {
        Lane {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            threads: HashThreads::start(name, slots.max(1)),
        }
    }

    /// Runs `work` when a slot is free (waiting at most [`QUEUE_TIMEOUT`]).
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let busy = || ApiError::Unavailable("the server is busy; try again in a moment".into());
        let _permit = tokio::time::timeout(QUEUE_TIMEOUT, self.slots.acquire())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        self.threads.run(work).await.ok_or_else(|| {
            tracing::error!("a password hashing job failed");
            ApiError::Internal
        })
    }
}

/// Hashes and verifies passwords off the async workers, on threads of their own.
#[derive(Clone)]
pub struct Passwords {
    /// For checking a password against a stored hash (logins, the current password).
    verify: Lane,
    /// For hashing a new password (registration, a changed or rehashed password).
    hash: Lane,
    /// How many verifications have run (real or dummy).
    verified: Arc<AtomicU64>,
}

impl Passwords {
    /// `slots`: how many verifications may run at once, and separately how many new
    /// hashes (each takes ~19 MiB and one core).
    pub fn new(slots: usize) -> Passwords {
        Passwords {
            verify: Lane::new("password-verify", slots),
            hash: Lane::new("password-hash", slots),
            verified: Arc::new(AtomicU64::new(0)),
        }
    }

    /// One slot per two cores, at least one.
    pub fn for_this_machine() -> Passwords {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Passwords::new((cores / 2).clamp(1, 8))
    }

    /// How many password verifications have run, real or dummy (every login attempt that
    /// passes the throttle costs exactly one).
    pub fn verifications(&self) -> u64 {
        self.verified.load(Ordering::Relaxed)
    }

    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let password = password.to_owned();
        self.hash
            .run(move || hash_now(&password))
            .await?
            .map_err(|err| {
                tracing::error!(%err, "cannot hash a password");
                ApiError::Internal
            })
    }

    /// Checks `password` against `stored`; with no stored hash (unknown user, or an account
    /// without a password) a dummy hash is verified so the answer takes as long.
    pub async fn verify(&self, stored: Option<&str>, password: &str) -> Result<Verdict, ApiError> {
        self.verified.fetch_add(1, Ordering::Relaxed);
        let password = password.to_owned();
        match stored {
            Some(stored) => {
                let stored = stored.to_owned();
                self.verify
                    .run(move || verify_now(&stored, &password))
                    .await
            }
            None => {
                self.verify
                    .run(move || verify_now(&DUMMY, &password))
                    .await?;
                Ok(Verdict {
                    matches: false,
                    outdated: false,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_with_the_chosen_parameters() {
        let hash = hash_now("correct horse battery staple").expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("correct horse"));
        let ok = verify_now(&hash, "correct horse battery staple");
        assert_eq!(
            ok,
            Verdict {
                matches: true,
                outdated: false
            }
        );
        assert!(!verify_now(&hash, "Correct horse battery staple").matches);
    }

    #[test]
    fn hashes_made_with_other_parameters_still_verify_and_ask_for_a_rehash() {
        let old = hash_with_params("an older password", 8192, 1, 1).expect("hash");
        let verdict = verify_now(&old, "an older password");
        assert!(verdict.matches && verdict.outdated, "{verdict:?}");
        assert!(!verify_now("not a hash", "x").matches);
    }

    #[test]
    fn the_most_common_passwords_are_known() {
        assert!(COMMON.len() > 10_000, "{}", COMMON.len());
        for common in ["password", "12345678", "Password", "iloveyou", "qwertyuiop"] {
            assert!(is_common(common), "{common}");
        }
        assert!(!is_common("violet-tractor-sings-at-dawn"));
    }

    /// On a runtime with a single async thread, anything hashed on that thread would freeze
    /// every other task (page rendering) for as long as the flood lasts.
    #[tokio::test(flavor = "current_thread")]
    async fn a_flood_of_hashes_leaves_the_async_thread_free() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let passwords = Passwords::new(1);
        let steps = Arc::new(AtomicU32::new(0));
        let counter = tokio::spawn({
            let steps = steps.clone();
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    steps.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let started = std::time::Instant::now();
        let mut flood = tokio::task::JoinSet::new();
        for i in 0..4 {
            let passwords = passwords.clone();
            flood.spawn(async move { passwords.hash(&format!("flood password {i}")).await });
        }
        while let Some(done) = flood.join_next().await {
            done.expect("task").expect("hash");
        }
        let elapsed = started.elapsed();
        counter.abort();
        let steps = steps.load(Ordering::Relaxed);
        // The other task kept running throughout: at least a tenth of the 2 ms steps the
        // flood lasted, even on a loaded machine (inline hashing allows none).
        let possible = u32::try_from(elapsed.as_millis() / 2).unwrap_or(u32::MAX);
        assert!(elapsed >= Duration::from_millis(20), "{elapsed:?}");
        assert!(
            steps >= possible / 10,
            "{steps} steps in {elapsed:?} of hashing (out of {possible})"
        );
    }

    #[tokio::test]
    async fn unknown_users_cost_a_verification_too() {
        let passwords = Passwords::new(1);
        // The dummy is as expensive as a real hash: the same algorithm and parameters.
        assert!(
            DUMMY.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            *DUMMY
        );
        let verdict = passwords.verify(None, "whatever1").await.expect("verify");
        assert!(!verdict.matches);
        let hash = passwords.hash("whatever1").await.expect("hash");
        assert!(
            passwords
                .verify(Some(&hash), "whatever1")
                .await
                .expect("verify")
                .matches
        );
    }
}
