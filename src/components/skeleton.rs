//! Placeholders in the shape of a page, shown at once while the page's chunk downloads, so a
//! navigation never shows a blank screen. They are plain boxes (no text), announced to screen
//! readers as busy.

use leptos::prelude::*;

use crate::i18n::use_i18n;

/// The layout a page's skeleton imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageShape {
    /// A centred card with fields (sign-up).
    AuthForm,
    /// A page title and stacked cards (Numbers).
    Cards,
    /// A page title and numbered steps (Onboarding).
    Steps,
    /// A conversation list beside a message pane (Inbox).
    Inbox,
    /// A page title and table rows (Team).
    Table,
    /// A page title and a form (Settings).
    Form,
}

impl PageShape {
    fn name(self) -> &'static str {
        match self {
            PageShape::AuthForm => "auth-form",
            PageShape::Cards => "cards",
            PageShape::Steps => "steps",
            PageShape::Inbox => "inbox",
            PageShape::Table => "table",
            PageShape::Form => "form",
        }
    }
}

/// A page's skeleton on its own, or inside the skeleton of the app frame (sidebar and top bar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkeletonKind {
    Alone(PageShape),
    Framed(PageShape),
}

impl SkeletonKind {
    pub fn shape(self) -> PageShape {
        match self {
            SkeletonKind::Alone(shape) | SkeletonKind::Framed(shape) => shape,
        }
    }
}

#[component]
pub fn PageSkeleton(kind: SkeletonKind) -> impl IntoView {
    match kind {
        SkeletonKind::Alone(shape) => view! { <ShapeSkeleton shape /> }.into_any(),
        SkeletonKind::Framed(shape) => view! {
            <div class="app-frame" data-testid="app-frame-skeleton">
                <nav class="sidebar skeleton-sidebar" aria-hidden="true">
                    <span class="brand"><span class="brand-mark"></span><span class="brand-name">"wadesk"</span></span>
                    <ul class="nav-list">
                        {(0..5).map(|_| view! { <li class="skeleton-line skeleton-nav"></li> }).collect_view()}
                    </ul>
                </nav>
                <div class="app-main">
                    <header class="topbar" aria-hidden="true">
                        <span class="skeleton-line skeleton-short"></span>
                        <span class="skeleton-line skeleton-short"></span>
                    </header>
                    <main class="app-content"><ShapeSkeleton shape /></main>
                </div>
            </div>
        }
        .into_any(),
    }
}

#[component]
fn ShapeSkeleton(shape: PageShape) -> impl IntoView {
    let i18n = use_i18n();
    let blocks = match shape {
        PageShape::AuthForm => 3,
        PageShape::Cards | PageShape::Steps => 3,
        PageShape::Inbox => 6,
        PageShape::Table => 5,
        PageShape::Form => 4,
    };
    let block_class = match shape {
        PageShape::Cards | PageShape::Steps | PageShape::AuthForm => "skeleton-block skeleton-card",
        _ => "skeleton-block skeleton-row",
    };
    let body = (0..blocks).map(|_| view! { <div class=block_class></div> }).collect_view();
    let class = format!("page skeleton skeleton-{}", shape.name());
    view! {
        <section class=class data-testid="page-skeleton" data-shape=shape.name() aria-busy="true" role="status">
            <span class="visually-hidden">{i18n.text("shell.loading")}</span>
            <div class="skeleton-line skeleton-title" aria-hidden="true"></div>
            <div class="skeleton-body" aria-hidden="true">{body}</div>
        </section>
    }
}
