//! The server side of accounts: password hashing, login throttling, session tokens and
//! cookies, and finding who is asking.

pub mod device;
mod hash_threads;
pub mod password;
pub mod setup;
pub mod throttle;

use std::net::IpAddr;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::store::{ActiveSession, Store};

pub use password::Passwords;
pub use throttle::{LoginThrottle, ThrottleKey};

/// A session ends after this long unused…
pub const IDLE_LIFETIME: Duration = Duration::days(30);
/// …and this long after the login, however much it is used.
pub const ABSOLUTE_LIFETIME: Duration = Duration::days(365);
/// `last_seen_at` is written at most this often per session.
pub const TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// The client's address, as the server worked it out (the socket peer, or a forwarded
/// address when the peer is a trusted proxy). The server puts it in each request's
/// extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// How the session cookie is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookiePolicy {
    /// `Secure` and the `__Host-` prefix; off only for plain-HTTP deployments.
    pub secure: bool,
}

impl CookiePolicy {
    pub fn name(self) -> &'static str {
        if self.secure {
            "__Host-atelier_session"
        } else {
            "atelier_session"
        }
    }

    /// The `Set-Cookie` value that stores `token`.
    pub fn set(self, token: &str) -> String {
        format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
            self.name(),
            ABSOLUTE_LIFETIME.num_seconds(),
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` value that removes it.
    pub fn clear(self) -> String {
        format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
            self.name(),
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The session token in a request's `Cookie` headers, if any.
    pub fn token_in(self, headers: &http::HeaderMap) -> Option<String> {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name())
            .map(|(_, value)| value.trim().to_string())
    }

    /// The SHA-256 of the session token the request carries, if it carries one of ours.
    pub fn token_hash_in(self, headers: &http::HeaderMap) -> Option<[u8; 32]> {
        self.token_in(headers).as_deref().and_then(token_hash)
    }
}

/// A new random session token (what the cookie carries) and its SHA-256 (what the
/// database keeps).
pub fn new_token() -> (String, [u8; 32]) {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    (URL_SAFE_NO_PAD.encode(raw), Sha256::digest(raw).into())
}

/// The SHA-256 of a token from a cookie; `None` when it is not one of ours.
pub fn token_hash(token: &str) -> Option<[u8; 32]> {
    let raw = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
    (raw.len() == 32).then(|| Sha256::digest(&raw).into())
}

/// Everything accounts need that lives as long as the server.
pub struct Accounts {
    pub passwords: Passwords,
    pub throttle: LoginThrottle,
    pub cookies: CookiePolicy,
    /// The one-time link that makes the first admin (armed by `atelier serve`).
    pub setup: setup::SetupLink,
}

impl Accounts {
    pub fn new(cookies: CookiePolicy) -> Accounts {
        Accounts {
            passwords: Passwords::for_this_machine(),
            throttle: LoginThrottle::default(),
            cookies,
            setup: setup::SetupLink::default(),
        }
    }

    /// The live session named by the request's cookie. Slides its idle expiry forward (at
    /// most once a minute, so most requests only read).
    pub async fn session(
        &self,
        store: &dyn Store,
        headers: &http::HeaderMap,
        now: DateTime<Utc>,
    ) -> Result<Option<ActiveSession>, ApiError> {
        let Some(hash) = self.cookies.token_hash_in(headers) else {
            return Ok(None);
        };
        let Some(mut session) = store.find_session(&hash, now).await? else {
            return Ok(None);
        };
        if now - session.last_seen_at >= TOUCH_INTERVAL {
            let expires_at = (now + IDLE_LIFETIME).min(session.absolute_expires_at);
            store.touch_session(session.id, now, expires_at).await?;
            session.last_seen_at = now;
            session.expires_at = expires_at;
        }
        Ok(Some(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes in base64url");
        assert_eq!(token_hash(&a), Some(hash_a));
        assert_eq!(token_hash("short"), None);
        assert_eq!(token_hash("not base64!"), None);
    }

    #[test]
    fn cookies_are_host_only_http_only_and_lax() {
        let secure = CookiePolicy { secure: true };
        let set = secure.set("tok");
        assert!(set.starts_with("__Host-atelier_session=tok; Path=/; HttpOnly; SameSite=Lax"));
        assert!(set.ends_with("; Secure"));
        assert!(secure.clear().contains("Max-Age=0"));
        let plain = CookiePolicy { secure: false };
        assert!(plain.set("tok").starts_with("atelier_session=tok;"));
        assert!(!plain.set("tok").contains("Secure"));

        let mut headers = http::HeaderMap::new();
        headers.append(
            http::header::COOKIE,
            "theme=dark; atelier_session=abc".parse().expect("v"),
        );
        assert_eq!(plain.token_in(&headers), Some("abc".into()));
        assert_eq!(secure.token_in(&headers), None, "the other cookie name");
    }
}
