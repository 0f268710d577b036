//! What every handler shares: the store, file storage, accounts, the upload engine, the
//! job queue's bell and the usage recorder, and the Leptos context built from them.
//! Building it starts no task; `crate::background` runs the workers and the usage writer.

use std::sync::Arc;

use app::{
    auth::{Accounts, CookiePolicy},
    store::Store,
    AppContext,
};
use axum::extract::FromRef;
use leptos::prelude::{provide_context, LeptosOptions};

use super::rate::{RateLimiters, RateLimits};
use super::timeouts::{RequestLimits, Timing, UploadCut};
use crate::{net::TrustedProxies, storage::FileStore, upload::UploadEngine};

/// How the server decides who a client is, how it sends cookies, and how often one client
/// may do what costs the server most.
#[derive(Clone, Debug)]
pub struct Security {
    /// `Secure` cookies with the `__Host-` prefix (off only for plain-HTTP deployments).
    pub secure_cookies: bool,
    pub trusted_proxies: TrustedProxies,
    pub rate_limits: RateLimits,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            secure_cookies: true,
            trusted_proxies: TrustedProxies::default(),
            rate_limits: RateLimits::default(),
        }
    }
}

#[derive(Clone)]
pub struct ServerState {
    pub leptos: LeptosOptions,
    pub store: Arc<dyn Store>,
    pub files: FileStore,
    pub accounts: Arc<Accounts>,
    pub proxies: TrustedProxies,
    /// Per-client limits on registering, starting uploads and searching.
    pub rates: Arc<RateLimiters>,
    pub uploads: Arc<UploadEngine>,
    /// Wakes a processing worker when there is a new job.
    pub jobs: Arc<tokio::sync::Notify>,
    /// Where requests record usage events (stored in batches by the writer).
    pub usage: Arc<app::usage::Usage>,
    /// The usage queue's receiving end, until `crate::background` starts the writer.
    pub(crate) usage_queue: crate::usage::Queue,
    /// How long requests may take, and the switch that cuts upload bodies at shutdown.
    pub timing: Timing,
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(state: &ServerState) -> Self {
        state.leptos.clone()
    }
}

impl ServerState {
    pub fn new(store: Arc<dyn Store>, files: FileStore) -> Self {
        ServerState::with_security(store, files, Security::default())
    }

    pub fn with_security(store: Arc<dyn Store>, files: FileStore, security: Security) -> Self {
        let leptos = LeptosOptions::builder()
            .output_name("atelier")
            .site_pkg_dir("pkg")
            .build();
        let jobs = Arc::new(tokio::sync::Notify::new());
        // Nothing is started here: `crate::background` runs the writer and the workers.
        let (usage, usage_queue) = crate::usage::recorder();
        ServerState {
            leptos,
            uploads: Arc::new(
                UploadEngine::new(store.clone(), files.clone(), jobs.clone())
                    .with_usage(usage.clone()),
            ),
            jobs,
            usage,
            usage_queue,
            store,
            files,
            accounts: Arc::new(Accounts::new(CookiePolicy {
                secure: security.secure_cookies,
            })),
            proxies: security.trusted_proxies,
            rates: Arc::new(RateLimiters::new(security.rate_limits)),
            timing: Timing {
                limits: RequestLimits::default(),
                cut: UploadCut::default(),
            },
        }
    }

    /// The same state with other request time limits.
    pub fn with_request_limits(mut self, limits: RequestLimits) -> Self {
        self.timing.limits = limits;
        self
    }

    /// The same state with another upload engine (a smaller chunk size in tests).
    pub fn with_uploads(mut self, configure: impl FnOnce(UploadEngine) -> UploadEngine) -> Self {
        self.uploads = Arc::new(configure(
            UploadEngine::new(self.store.clone(), self.files.clone(), self.jobs.clone())
                .with_usage(self.usage.clone()),
        ));
        self
    }

    /// Provides the app's context to a page render or a server function call.
    pub(super) fn context(&self) -> impl Fn() + Clone + Send + Sync + 'static {
        let ctx = AppContext {
            store: self.store.clone(),
            accounts: self.accounts.clone(),
            uploads: self.uploads.clone(),
            usage: self.usage.clone(),
        };
        move || provide_context(ctx.clone())
    }
}
