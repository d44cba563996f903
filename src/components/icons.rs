//! Small line icons drawn inline, so they look the same everywhere (emoji fonts vary by system).

use leptos::prelude::*;

/// The icons of the shell, by purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IconKind {
    Onboarding,
    Numbers,
    Inbox,
    Team,
    Settings,
    Language,
    Construction,
}

/// A 20px stroke icon in the current text colour; decorative (hidden from screen readers).
#[component]
pub fn Icon(kind: IconKind) -> impl IntoView {
    let shapes = match kind {
        IconKind::Onboarding => view! {
            <path d="M5 21V4" />
            <path d="M5 4h12l-2.5 4.5L17 13H5" />
        }
        .into_any(),
        IconKind::Numbers => view! {
            <rect x="6.5" y="2.5" width="11" height="19" rx="2.5" />
            <path d="M10.5 18h3" />
        }
        .into_any(),
        IconKind::Inbox => view! {
            <path d="M20.5 11.5a8.5 8.5 0 0 1-12.4 7.6L3.5 20.5l1.4-4.4A8.5 8.5 0 1 1 20.5 11.5z" />
        }
        .into_any(),
        IconKind::Team => view! {
            <circle cx="9" cy="8" r="3.5" />
            <path d="M2.5 20a6.5 6.5 0 0 1 13 0" />
            <circle cx="17" cy="9" r="2.5" />
            <path d="M16.5 14a5 5 0 0 1 5 6" />
        }
        .into_any(),
        IconKind::Settings => view! {
            <path d="M4 6h9M17 6h3M4 12h3M11 12h9M4 18h11M19 18h1" />
            <circle cx="15" cy="6" r="2" />
            <circle cx="9" cy="12" r="2" />
            <circle cx="17" cy="18" r="2" />
        }
        .into_any(),
        IconKind::Language => view! {
            <circle cx="12" cy="12" r="9" />
            <path d="M3 12h18M12 3c2.5 2.7 3.6 5.7 3.6 9s-1.1 6.3-3.6 9c-2.5-2.7-3.6-5.7-3.6-9S9.5 5.7 12 3z" />
        }
        .into_any(),
        IconKind::Construction => view! {
            <rect x="3" y="10" width="18" height="6" rx="1" />
            <path d="M7 10l-3 6M13 10l-3 6M19 10l-3 6M6 16v4M18 16v4M6 10V7M18 10V7" />
        }
        .into_any(),
    };
    view! {
        <svg
            class="icon"
            viewBox="0 0 24 24"
            width="20"
            height="20"
            fill="none"
            stroke="currentColor"
            stroke-width="1.8"
            stroke-linecap="round"
            stroke-linejoin="round"
            aria-hidden="true"
            focusable="false"
        >
            {shapes}
        </svg>
    }
}
