//! What every handler shares: the store, file storage, accounts, the upload engine, the
//! job queue's bell and the usage recorder, and the Leptos context built from them.

use std::sync::Arc;

use app::{
    auth::{Accounts, CookiePolicy},
    store::Store,
    AppContext,
};
use axum::extract::FromRef;
use leptos::prelude::{provide_context, LeptosOptions};

use crate::{net::TrustedProxies, storage::FileStore, upload::UploadEngine};

/// How the server decides who a client is and how it sends cookies.
#[derive(Clone, Debug)]
pub struct Security {
    /// `Secure` cookies with the `__Host-` prefix (off only for plain-HTTP deployments).
    pub secure_cookies: bool,
    pub trusted_proxies: TrustedProxies,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            secure_cookies: true,
            trusted_proxies: TrustedProxies::default(),
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
    pub uploads: Arc<UploadEngine>,
    /// Wakes a processing worker when there is a new job.
    pub jobs: Arc<tokio::sync::Notify>,
    /// Where requests record usage events (stored in batches by the writer).
    pub usage: Arc<app::usage::Usage>,
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
        let usage = usage_recorder(&store);
        ServerState {
            leptos,
            uploads: Arc::new(
                UploadEngine::new(store.clone(), files.clone(), jobs.clone())
                    .with_usage(usage.clone()),
            ),
            jobs,
            usage,
            store,
            files,
            accounts: Arc::new(Accounts::new(CookiePolicy {
                secure: security.secure_cookies,
            })),
            proxies: security.trusted_proxies,
        }
    }

    /// The same state with another upload engine (a smaller chunk size in tests).
    pub fn with_uploads(mut self, configure: impl FnOnce(UploadEngine) -> UploadEngine) -> Self {
        self.uploads = Arc::new(configure(
            UploadEngine::new(self.store.clone(), self.files.clone(), self.jobs.clone())
                .with_usage(self.usage.clone()),
        ));
        self
    }

    /// Starts the processing workers for this state's jobs.
    pub async fn start_workers(&self, workers: usize) -> Vec<tokio::task::JoinHandle<()>> {
        crate::jobs::start_workers(
            self.store.clone(),
            self.files.clone(),
            self.jobs.clone(),
            workers,
        )
        .await
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

/// A usage recorder with its writer running, or one that records nothing when there is
/// no runtime to run the writer on.
fn usage_recorder(store: &Arc<dyn Store>) -> Arc<app::usage::Usage> {
    if tokio::runtime::Handle::try_current().is_err() {
        return app::usage::Usage::off();
    }
    let (usage, queue) = app::usage::Usage::channel(app::usage::QUEUE_CAPACITY);
    crate::usage::spawn_writer(store.clone(), usage.clone(), queue);
    usage
}
