//! The frame around every logged-in page: sidebar navigation, top bar, and the app's one event
//! stream (with its "reconnecting" banner) feeding the stores the pages read.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::api::{auth, use_api};
use crate::components::icons::{Icon, IconKind};
use crate::components::language_switch::LanguageSwitch;
use crate::i18n::use_i18n;
use crate::state::navigation::{app_href, LOGIN_PATH};
use crate::state::realtime::{provide_realtime, start_stream, use_realtime, StreamStatus};
use crate::state::session::use_session;

/// One entry of the sidebar: app path, i18n key of the label, test id, icon.
struct NavItem {
    path: &'static str,
    label_key: &'static str,
    testid: &'static str,
    icon: IconKind,
}

const NAV_ITEMS: [NavItem; 5] = [
    NavItem { path: "/onboarding", label_key: "nav.onboarding", testid: "nav-onboarding", icon: IconKind::Onboarding },
    NavItem { path: "/numbers", label_key: "nav.numbers", testid: "nav-numbers", icon: IconKind::Numbers },
    NavItem { path: "/inbox", label_key: "nav.inbox", testid: "nav-inbox", icon: IconKind::Inbox },
    NavItem { path: "/team", label_key: "nav.team", testid: "nav-team", icon: IconKind::Team },
    NavItem { path: "/settings", label_key: "nav.settings", testid: "nav-settings", icon: IconKind::Settings },
];

/// Sidebar + top bar around the page given as children.
#[component]
pub fn AppFrame(
    /// Called with a page's app path when the user is about to open it (pointer over or focus on
    /// its link), so its code can be fetched before the click.
    #[prop(optional)]
    on_intent: Option<Callback<&'static str>>,
    children: Children,
) -> impl IntoView {
    let realtime = provide_realtime();
    let session = use_session();
    Effect::new(move |_| {
        let me = session.with_user(|user| user.map(|user| user.id.clone()).unwrap_or_default());
        realtime.inbox.me.set(me);
    });
    start_stream(use_api(), realtime);
    view! {
        <div class="app-frame">
            <Sidebar on_intent />
            <div class="app-main">
                <TopBar />
                <RealtimeBanner />
                <main class="app-content">{children()}</main>
            </div>
        </div>
    }
}

/// The navigation; the router marks the current page's link with `aria-current="page"`.
#[component]
fn Sidebar(on_intent: Option<Callback<&'static str>>) -> impl IntoView {
    let i18n = use_i18n();
    let links = NAV_ITEMS
        .iter()
        .map(|item| {
            let label_key = item.label_key;
            let path = item.path;
            let intent = move || {
                if let Some(on_intent) = on_intent {
                    on_intent.run(path);
                }
            };
            view! {
                <li on:pointerenter=move |_| intent() on:focusin=move |_| intent()>
                    <A href=app_href(item.path) attr:class="nav-link" attr:data-testid=item.testid>
                        <span class="nav-icon"><Icon kind=item.icon /></span>
                        <span class="nav-label">{i18n.text(label_key)}</span>
                    </A>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav class="sidebar" aria-label=i18n.text("shell.navigation")>
            <A href=app_href("/onboarding") attr:class="brand">
                <span class="brand-mark" aria-hidden="true"></span>
                <span class="brand-name">"wadesk"</span>
            </A>
            <ul class="nav-list">{links}</ul>
        </nav>
    }
}

/// Account, user, role, language and logout.
#[component]
fn TopBar() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let api = use_api();
    let navigate = use_navigate();

    let logout = Action::new_local(move |_: &()| async move { auth::logout(api).await });
    // Leave once the server has ended the session. If it could not be reached, the local
    // session is still dropped: the user asked to leave, and the next request re-checks.
    Effect::new(move |_| {
        if let Some(result) = logout.value().get() {
            if let Err(error) = result {
                leptos::logging::warn!("logout failed: {error}");
            }
            navigate(LOGIN_PATH, leptos_router::NavigateOptions { replace: true, ..Default::default() });
            session.clear();
        }
    });

    let account_name = move || session.with_user(|user| user.map(|user| user.account_name.clone()).unwrap_or_default());
    let user_name = move || session.with_user(|user| user.map(|user| user.name.clone()).unwrap_or_default());
    let role_label = move || {
        session.with_user(|user| match user.map(|user| user.role) {
            Some(api_types::Role::Admin) => i18n.t("role.admin"),
            Some(api_types::Role::Agent) => i18n.t("role.agent"),
            None => "",
        })
    };
    let initial = move || user_name().chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default();

    view! {
        <header class="topbar">
            <div class="topbar-account">
                <span class="topbar-label">{i18n.text("shell.account")}</span>
                <span class="topbar-account-name" data-testid="topbar-account-name">{account_name}</span>
            </div>
            <div class="topbar-actions">
                <LanguageSwitch />
                <div class="topbar-user">
                    <span class="avatar" aria-hidden="true">{initial}</span>
                    <span class="topbar-user-text">
                        <span class="topbar-user-name" data-testid="topbar-user-name">{user_name}</span>
                        <span class="role-badge" data-testid="topbar-user-role">{role_label}</span>
                    </span>
                </div>
                <button
                    type="button"
                    class="button button-ghost"
                    data-testid="logout-button"
                    disabled=move || logout.pending().get()
                    on:click=move |_| {
                        logout.dispatch(());
                    }
                >
                    {move || if logout.pending().get() { i18n.t("shell.logging_out") } else { i18n.t("shell.logout") }}
                </button>
            </div>
        </header>
    }
}

/// "Reconnecting…" while the event stream is down after it was up: what is on screen may be
/// behind until it is back (then the pages reload their lists).
#[component]
pub fn RealtimeBanner() -> impl IntoView {
    let i18n = use_i18n();
    let realtime = use_realtime();
    move || {
        (realtime.status.get() == StreamStatus::Reconnecting).then(|| {
            view! {
                <div class="realtime-banner" role="status" data-testid="realtime-banner">
                    <span class="realtime-banner-dot" aria-hidden="true"></span>
                    {i18n.text("shell.reconnecting")}
                </div>
            }
        })
    }
}
