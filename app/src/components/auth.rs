//! Who is logged in, for every component: one resource, refreshed after login and logout.

use leptos::prelude::*;

use crate::account::Me;

#[derive(Clone, Copy)]
pub struct Auth {
    /// The logged-in user, `None` for visitors.
    pub me: Resource<Option<Me>>,
    version: RwSignal<u32>,
}

impl Auth {
    /// Asks the server again (after logging in or out, or revoking this session).
    pub fn refresh(&self) {
        self.version.update(|v| *v += 1);
    }

    /// Changes whenever who is logged in may have changed: a resource that reads it asks
    /// the server again then (a private asset's page must not outlive its owner's session).
    pub fn version(&self) -> u32 {
        self.version.get()
    }
}

pub fn provide_auth() {
    let version = RwSignal::new(0u32);
    let me = Resource::new(
        move || version.get(),
        |_| async {
            #[cfg(feature = "ssr")]
            return crate::api::current_me().await;
            #[cfg(not(feature = "ssr"))]
            return crate::api::me().await.ok();
        },
    );
    provide_context(Auth { me, version });
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}
