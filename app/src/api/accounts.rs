//! Accounts over HTTP: register, log in and out, who am I, my sessions, my password.
//! Inputs are URL-encoded forms (so the pages work without JavaScript), outputs JSON.

use leptos::prelude::*;
use server_fn::codec::{GetUrl, Json, PostUrl};

use crate::account::{InstanceInfo, Me, SessionInfo};
use crate::error::ApiError;

/// `POST /api/register`: creates an account and logs it in. With the token of the setup
/// link the server printed at start-up, the account is the instance's admin.
#[server(name = Register, prefix = "/api", endpoint = "register", input = PostUrl, output = Json)]
pub async fn register(
    username: String,
    password: String,
    /// When given (the page's "repeat password" field), it must equal `password`.
    confirm: Option<String>,
    next: Option<String>,
    /// The setup link's token (`/register?setup=…`).
    setup: Option<String>,
) -> Result<Me, ApiError> {
    ssr::respond(ssr::register(username, password, confirm, next, setup)).await
}

/// `POST /api/login`: checks the password and starts a new session (a new cookie).
#[server(name = Login, prefix = "/api", endpoint = "login", input = PostUrl, output = Json)]
pub async fn login(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<Me, ApiError> {
    ssr::respond(ssr::login(username, password, next)).await
}

/// `POST /api/logout`: ends this session.
#[server(name = Logout, prefix = "/api", endpoint = "logout", input = PostUrl, output = Json)]
pub async fn logout() -> Result<(), ApiError> {
    ssr::respond(ssr::logout()).await
}

/// `GET /api/me`: the logged-in user, or `401`.
#[server(name = GetMe, prefix = "/api", endpoint = "me", input = GetUrl, output = Json)]
pub async fn me() -> Result<Me, ApiError> {
    ssr::respond(async {
        ssr::private();
        let session = super::ssr::require_session().await?;
        Ok(Me {
            username: session.user.username,
            role: session.user.role,
        })
    })
    .await
}

/// Who is logged in, for a page rendered on the server. Unlike [`me`], being a visitor is
/// not an error here: it must not turn the page into a `401`.
#[cfg(feature = "ssr")]
pub async fn current_me() -> Option<Me> {
    match super::ssr::current_session().await {
        Ok(session) => session.map(|s| Me {
            username: s.user.username,
            role: s.user.role,
        }),
        Err(err) => {
            tracing::warn!(%err, "cannot tell who is logged in");
            None
        }
    }
}

/// `GET /api/instance`: what anyone may know before logging in (is registration open?).
#[server(name = GetInstance, prefix = "/api", endpoint = "instance", input = GetUrl, output = Json)]
pub async fn instance() -> Result<InstanceInfo, ApiError> {
    ssr::respond(async {
        Ok(InstanceInfo {
            registration: ssr::registration_mode().await?,
        })
    })
    .await
}

/// `GET /api/sessions`: my live sessions, most recently used first.
#[server(name = ListSessions, prefix = "/api", endpoint = "sessions", input = GetUrl, output = Json)]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, ApiError> {
    ssr::respond(ssr::list_sessions()).await
}

/// `POST /api/sessions/revoke`: ends one of my sessions (`id` from `GET /api/sessions`).
#[server(name = RevokeSession, prefix = "/api", endpoint = "sessions/revoke", input = PostUrl, output = Json)]
pub async fn revoke_session(id: String) -> Result<(), ApiError> {
    ssr::respond(ssr::revoke_session(id)).await
}

/// `POST /api/sessions/revoke-others`: logs out everywhere but here; returns how many ended.
#[server(name = RevokeOtherSessions, prefix = "/api", endpoint = "sessions/revoke-others", input = PostUrl, output = Json)]
pub async fn revoke_other_sessions() -> Result<u64, ApiError> {
    ssr::respond(async {
        let session = super::ssr::require_session().await?;
        Ok(super::ssr::store()?
            .revoke_other_sessions(session.user.id, Some(session.id))
            .await?)
    })
    .await
}

/// `POST /api/password`: changes my password and ends my other sessions.
#[server(name = ChangePassword, prefix = "/api", endpoint = "password", input = PostUrl, output = Json)]
pub async fn change_password(
    current: String,
    password: String,
    confirm: Option<String>,
) -> Result<(), ApiError> {
    ssr::respond(ssr::change_password(current, password, confirm)).await
}

#[cfg(feature = "ssr")]
mod ssr {
    use std::time::Instant;

    use chrono::Utc;

    pub use super::super::ssr::respond;
    use super::super::ssr::{
        accounts, add_response_header, client_ip, request, require_session, store,
    };
    use crate::account::{
        check_password_length, normalize_username, safe_next, Me, RegistrationMode, Role,
        SessionInfo, UserStatus,
    };
    use crate::auth::{
        device::{clean_user_agent, device_label},
        new_token, password,
        throttle::retry_after_secs,
        ThrottleKey, ABSOLUTE_LIFETIME, IDLE_LIFETIME,
    };
    use crate::error::ApiError;
    use crate::ids::{is_public_id, new_public_id};
    use crate::stats::Feature;
    use crate::store::{EndSessions, NewSession, NewUser, User};

    /// The one answer for an unknown user and a wrong password.
    fn wrong_credentials() -> ApiError {
        ApiError::Unauthorized("wrong username or password".into())
    }

    pub async fn registration_mode() -> Result<RegistrationMode, ApiError> {
        let store = store()?;
        Ok(crate::settings::Settings::load(store.as_ref())
            .await?
            .registration_mode)
    }

    /// The new password is long enough, not a common one, and typed the same twice.
    fn check_new_password(password: &str, confirm: Option<&str>) -> Result<(), ApiError> {
        check_password_length(password).map_err(ApiError::BadRequest)?;
        if password::is_common(password) {
            return Err(ApiError::BadRequest(
                "this password is one of the most common ones, which attackers try first; \
                 choose another"
                    .into(),
            ));
        }
        if confirm.is_some_and(|c| c != password) {
            return Err(ApiError::BadRequest(
                "the two passwords differ; type the same one twice".into(),
            ));
        }
        Ok(())
    }

    /// Marks the answer as personal: no cache may keep it.
    pub fn private() {
        add_response_header(http::header::CACHE_CONTROL, "private, no-store");
    }

    /// What a password attempt counts against: the username, and the client's address.
    fn throttle_keys(username: &str, request: &http::request::Parts) -> Vec<ThrottleKey> {
        let mut keys = vec![ThrottleKey::account(username)];
        if let Some(ip) = client_ip(request) {
            keys.push(ThrottleKey::client(ip));
        }
        keys
    }

    /// Takes a place in the throttle for one password attempt (counted as a failure until
    /// [`LoginThrottle::forgive`](crate::auth::throttle::LoginThrottle::forgive) gives it
    /// back): a `429` with `Retry-After` while any of `keys` has had too many failures.
    fn reserve_attempt(
        accounts: &crate::auth::Accounts,
        keys: &[ThrottleKey],
        what: &str,
    ) -> Result<Instant, ApiError> {
        match accounts.throttle.reserve(keys, Instant::now()) {
            Ok(at) => Ok(at),
            Err(wait) => {
                let secs = retry_after_secs(wait);
                add_response_header(http::header::RETRY_AFTER, &secs.to_string());
                Err(ApiError::TooManyRequests(format!(
                    "{what}; try again in {secs} seconds"
                )))
            }
        }
    }

    /// Starts a session for `user`: a new token, its hash stored, the cookie set.
    async fn start_session(user: &User) -> Result<(), ApiError> {
        let request = request()?;
        let accounts = accounts()?;
        let user_agent = request
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let now = Utc::now();
        let (token, token_hash) = new_token();
        let session = NewSession {
            public_id: new_public_id(),
            token_hash,
            created_at: now,
            expires_at: now + IDLE_LIFETIME,
            absolute_expires_at: now + ABSOLUTE_LIFETIME,
            ip: client_ip(&request).map(|ip| ip.to_string()),
            user_agent: clean_user_agent(user_agent),
            device: device_label(user_agent),
        };
        store()?.start_session(user.id, &session).await?;
        add_response_header(http::header::SET_COOKIE, &accounts.cookies.set(&token));
        Ok(())
    }

    /// Sends a plain form post on to `next`; a hydrated page gets the same hint and
    /// navigates itself.
    fn go_to(next: Option<&str>) {
        leptos_axum::redirect(&safe_next(next));
    }

    pub async fn register(
        username: String,
        password: String,
        confirm: Option<String>,
        next: Option<String>,
        setup: Option<String>,
    ) -> Result<Me, ApiError> {
        let setup = setup.filter(|token| !token.trim().is_empty());
        // The setup link makes the admin even where registration is closed.
        if setup.is_none() && registration_mode().await? == RegistrationMode::Closed {
            return Err(ApiError::Forbidden(
                "registration is closed on this instance; ask its admin for an account".into(),
            ));
        }
        let username = normalize_username(&username).map_err(ApiError::BadRequest)?;
        check_new_password(&password, confirm.as_deref())?;
        let store = store()?;
        if store.find_user(&username).await?.is_some() {
            return Err(ApiError::Conflict(format!(
                "the username “{username}” is taken"
            )));
        }
        let accounts = accounts()?;
        // Claimed before the account is made, so two sign-ups cannot both use it; given
        // back if the account cannot be made.
        let claim = match &setup {
            None => None,
            Some(token) => Some(accounts.setup.claim(token).ok_or_else(|| {
                ApiError::Forbidden(
                    "this setup link has been used, or the server has restarted since it \
                     printed it; the server prints a new one at start-up while the instance \
                     has no admin"
                        .into(),
                )
            })?),
        };
        let made = async {
            let hash = accounts.passwords.hash(&password).await?;
            let role = if claim.is_some() {
                Role::Admin
            } else {
                Role::User
            };
            Ok::<_, ApiError>(
                store
                    .create_user(&NewUser {
                        public_id: new_public_id(),
                        username,
                        password_hash: Some(hash),
                        role,
                        created_at: Utc::now(),
                    })
                    .await?,
            )
        }
        .await;
        let user = match (made, claim) {
            (Ok(user), _) => user,
            (Err(err), Some(claim)) => {
                accounts.setup.give_back(claim);
                return Err(err);
            }
            (Err(err), None) => return Err(err),
        };
        tracing::info!(username = %user.username, role = user.role.as_str(), "account registered");
        start_session(&user).await?;
        crate::api::ssr::record(Feature::Register, Some(user.id), "");
        go_to(next.as_deref());
        Ok(Me {
            username: user.username,
            role: user.role,
        })
    }

    pub async fn login(
        username: String,
        password: String,
        next: Option<String>,
    ) -> Result<Me, ApiError> {
        let request = request()?;
        let accounts = accounts()?;
        let keys = throttle_keys(&username, &request);
        let attempt = reserve_attempt(&accounts, &keys, "too many failed logins")?;
        // A name that cannot exist is looked up anyway (it is not found), so it costs the
        // same as any unknown user.
        let name = normalize_username(&username).unwrap_or_default();
        let store = store()?;
        let credentials = if name.is_empty() {
            None
        } else {
            store.find_credentials(&name).await?
        };
        let stored = credentials
            .as_ref()
            .and_then(|c| c.password_hash.as_deref());
        let verdict = accounts.passwords.verify(stored, &password).await?;
        let credentials = match credentials {
            Some(credentials) if verdict.matches => credentials,
            // The reserved place stays counted as a failure.
            _ => return Err(wrong_credentials()),
        };
        let user = credentials.user;
        if user.status == UserStatus::Disabled {
            return Err(ApiError::Forbidden(
                "this account is disabled; ask the instance's admin".into(),
            ));
        }
        accounts.throttle.forgive(&keys, attempt);
        accounts.throttle.clear(&ThrottleKey::account(&username));
        if verdict.outdated {
            let hash = accounts.passwords.hash(&password).await?;
            store
                .set_password(user.id, &hash, EndSessions::None)
                .await?;
            tracing::info!(username = %user.username, "password rehashed with current parameters");
        }
        // Any session the browser had is replaced, never reused (no fixation).
        if let Some(old) = accounts.cookies.token_hash_in(&request.headers) {
            store.end_session(&old).await?;
        }
        start_session(&user).await?;
        crate::api::ssr::record(Feature::Login, Some(user.id), "");
        go_to(next.as_deref());
        Ok(Me {
            username: user.username,
            role: user.role,
        })
    }

    pub async fn logout() -> Result<(), ApiError> {
        let request = request()?;
        let accounts = accounts()?;
        if let Some(hash) = accounts.cookies.token_hash_in(&request.headers) {
            let store = store()?;
            let who = store
                .find_session(&hash, Utc::now())
                .await?
                .map(|session| session.user.id);
            if store.end_session(&hash).await? {
                crate::api::ssr::record(Feature::Logout, who, "");
            }
        }
        add_response_header(http::header::SET_COOKIE, &accounts.cookies.clear());
        go_to(Some("/"));
        Ok(())
    }

    pub async fn list_sessions() -> Result<Vec<SessionInfo>, ApiError> {
        private();
        let current = require_session().await?;
        let sessions = store()?.list_sessions(current.user.id, Utc::now()).await?;
        Ok(sessions
            .into_iter()
            .map(|s| SessionInfo {
                current: s.id == current.id,
                id: s.public_id,
                device: s.device,
                ip: s.ip,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
            })
            .collect())
    }

    pub async fn revoke_session(id: String) -> Result<(), ApiError> {
        let current = require_session().await?;
        let not_found = || ApiError::NotFound("no session of yours has this id".into());
        if !is_public_id(&id) {
            return Err(not_found());
        }
        if !store()?.revoke_session(current.user.id, &id).await? {
            return Err(not_found());
        }
        if id == current.public_id {
            // Revoking this very session is logging out.
            add_response_header(http::header::SET_COOKIE, &accounts()?.cookies.clear());
        }
        Ok(())
    }

    pub async fn change_password(
        current: String,
        password: String,
        confirm: Option<String>,
    ) -> Result<(), ApiError> {
        let session = require_session().await?;
        let accounts = accounts()?;
        let keys = throttle_keys(&session.user.username, &request()?);
        let attempt = reserve_attempt(&accounts, &keys, "too many wrong passwords")?;
        let store = store()?;
        let stored = store
            .find_credentials(&session.user.username)
            .await?
            .and_then(|c| c.password_hash);
        if !accounts
            .passwords
            .verify(stored.as_deref(), &current)
            .await?
            .matches
        {
            return Err(ApiError::Forbidden("the current password is wrong".into()));
        }
        accounts.throttle.forgive(&keys, attempt);
        check_new_password(&password, confirm.as_deref())?;
        let hash = accounts.passwords.hash(&password).await?;
        store
            .set_password(session.user.id, &hash, EndSessions::AllExcept(session.id))
            .await?;
        tracing::info!(username = %session.user.username, "password changed; other sessions ended");
        leptos_axum::redirect("/account?changed=password");
        Ok(())
    }
}
