//! The one-time link that makes an instance's first admin. Registering never makes an
//! admin by itself (whoever found a fresh instance first would own it): `atelier user
//! create --admin` does, or this link, which `atelier serve` prints at start-up while no
//! admin can log in. It works once, and only until the server stops.

use std::sync::Mutex;

use super::{new_token, token_hash};

#[derive(Debug, Default)]
pub struct SetupLink {
    /// The SHA-256 of the link's token while it is unused.
    armed: Mutex<Option<[u8; 32]>>,
}

impl SetupLink {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<[u8; 32]>> {
        self.armed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes a new token (any earlier one stops working) and answers it, for the link
    /// `/register?setup=TOKEN`.
    pub fn arm(&self) -> String {
        let (token, hash) = new_token();
        *self.slot() = Some(hash);
        token
    }

    /// Takes the link when `offered` is its token: it works no more, unless
    /// [`SetupLink::give_back`] returns it (the account could not be made after all).
    pub fn claim(&self, offered: &str) -> Option<Claim> {
        let hash = token_hash(offered.trim())?;
        let mut slot = self.slot();
        if *slot == Some(hash) {
            *slot = None;
            Some(Claim(hash))
        } else {
            None
        }
    }

    /// Makes a claimed link work again.
    pub fn give_back(&self, claim: Claim) {
        let mut slot = self.slot();
        if slot.is_none() {
            *slot = Some(claim.0);
        }
    }

    pub fn is_armed(&self) -> bool {
        self.slot().is_some()
    }
}

/// A claimed setup link.
#[derive(Debug)]
pub struct Claim([u8; 32]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_works_once() {
        let link = SetupLink::default();
        assert!(!link.is_armed());
        assert!(link.claim("anything").is_none(), "nothing to claim yet");
        let token = link.arm();
        assert!(link.claim("not-the-token").is_none());
        let claim = link.claim(&token).expect("the right token");
        assert!(link.claim(&token).is_none(), "used up");
        link.give_back(claim);
        assert!(link.claim(&token).is_some(), "given back, it works again");
        assert!(!link.is_armed());
        // Arming again replaces the old token.
        let old = link.arm();
        let new = link.arm();
        assert!(link.claim(&old).is_none());
        assert!(link.claim(&new).is_some());
    }
}
