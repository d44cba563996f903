//! Who is logged in. Loaded once at start (`auth/me`), set by login/sign-up, cleared by logout
//! and by the API client whenever the server answers "not logged in".

use api_types::SessionUser;
use leptos::prelude::*;

use crate::api::{auth, ApiClient, ApiError};

/// The current session, shared through context. `Copy`, so closures take it freely.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    user: RwSignal<Option<SessionUser>>,
    loading: RwSignal<bool>,
}

impl Session {
    /// A session whose state is not known yet: the guard waits until [`Session::load`] answers.
    pub fn unknown() -> Session {
        Session { user: RwSignal::new(None), loading: RwSignal::new(true) }
    }

    /// A settled session (tests, or after the start-up check).
    pub fn settled(user: Option<SessionUser>) -> Session {
        Session { user: RwSignal::new(user), loading: RwSignal::new(false) }
    }

    /// The logged-in user (reactive).
    pub fn user(&self) -> Option<SessionUser> {
        self.user.get()
    }

    /// Read part of the user without cloning it (reactive).
    pub fn with_user<T>(&self, read: impl FnOnce(Option<&SessionUser>) -> T) -> T {
        self.user.with(|user| read(user.as_ref()))
    }

    pub fn is_logged_in(&self) -> bool {
        self.user.with(Option::is_some)
    }

    /// True until the start-up `auth/me` check has answered.
    pub fn is_loading(&self) -> bool {
        self.loading.get()
    }

    pub fn set_user(&self, user: SessionUser) {
        self.user.set(Some(user));
        self.loading.set(false);
    }

    /// Forget the user; the route guard then sends them to the login page.
    pub fn clear(&self) {
        self.user.set(None);
        self.loading.set(false);
    }

    /// Ask the server who is logged in, once, at start.
    pub fn load(&self, api: ApiClient) {
        let session = *self;
        leptos::task::spawn_local(async move {
            match auth::me(api).await {
                Ok(user) => session.set_user(user),
                // The API client has cleared the session already.
                Err(ApiError::Unauthorized) => session.clear(),
                Err(error) => {
                    // The server is unreachable: show the login page, whose own request will
                    // then report the problem where the user can act on it.
                    leptos::logging::warn!("could not check the session: {error}");
                    session.clear();
                }
            }
        });
    }
}

/// The [`Session`] provided by the app root.
pub fn use_session() -> Session {
    expect_context::<Session>()
}
