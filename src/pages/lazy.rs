//! Pages loaded on first use: each page behind the login (and the app frame around them) is a
//! split point of the wasm bundle, so the first load carries only the login page (issue 8).
//!
//! [`lazy_page!`] declares a [`LazyPage`]: with the `split` cargo feature (release bundles, see
//! `xtask/src/split.rs`) its view lives in a separate `.wasm` chunk that is fetched the first time
//! it is needed, or earlier by [`LazyPage::preload`]; without it (tests, `trunk serve`) the view is
//! compiled into the one module and "loads" at once. [`Lazy`] renders a page: its skeleton while
//! the chunk downloads, then the page; a download that fails shows "could not load this page"
//! with a retry (a failed load is not remembered, so the retry fetches again).

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use leptos::prelude::*;

use crate::components::skeleton::{PageSkeleton, SkeletonKind};
use crate::i18n::use_i18n;

/// Builds a page's view. The function itself lives in the page's chunk.
pub type PageView = fn() -> AnyView;

/// A page's chunk could not be downloaded or instantiated (the browser console has the cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLoadError;

impl From<leptos::wasm_split::SplitLoaderError> for ChunkLoadError {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> ChunkLoadError {
        ChunkLoadError
    }
}

type LoadFuture = Pin<Box<dyn Future<Output = Result<PageView, ChunkLoadError>>>>;

/// A page whose code is loaded on first use; declare one with [`lazy_page!`].
pub struct LazyPage {
    /// For logs and tests: `numbers`, `app_frame`...
    pub name: &'static str,
    /// What is shown while the chunk downloads.
    pub skeleton: SkeletonKind,
    #[doc(hidden)]
    pub loaded: OnceLock<PageView>,
    #[doc(hidden)]
    pub load: fn() -> LoadFuture,
    /// Without the `split` feature the view is compiled in: it is ready at once, as before.
    #[doc(hidden)]
    pub built_in: Option<PageView>,
}

impl LazyPage {
    /// The page's view builder when its chunk is already here.
    pub fn ready(&'static self) -> Option<PageView> {
        self.loaded.get().copied().or(self.built_in)
    }

    /// Download (once) and instantiate the page's chunk.
    pub async fn fetch(&'static self) -> Result<PageView, ChunkLoadError> {
        if let Some(view) = self.ready() {
            return Ok(view);
        }
        let view = (self.load)().await?;
        let _ = self.loaded.set(view);
        Ok(view)
    }

    /// Start downloading the chunk in the background (a failure is only logged: the page shows
    /// its retry when it is visited).
    pub fn preload(&'static self) {
        if self.ready().is_some() {
            return;
        }
        leptos::task::spawn_local(async move {
            if self.fetch().await.is_err() {
                leptos::logging::warn!("could not prefetch the {} page", self.name);
            }
        });
    }
}

/// `lazy_page!(pub NUMBERS_PAGE, numbers_page, SkeletonKind::Cards, || view! { <NumbersPage /> }.into_any());`
///
/// The second name is the split point's (the chunk's) name and must be unique in the crate.
#[macro_export]
macro_rules! lazy_page {
    ($vis:vis $page:ident, $chunk:ident, $skeleton:expr, $view:expr) => {
        $vis static $page: $crate::pages::lazy::LazyPage = {
            #[cfg(feature = "split")]
            #[::leptos::wasm_split::wasm_split($chunk, wasm_split_path = ::leptos::wasm_split, fallible)]
            fn $chunk() -> ::core::result::Result<$crate::pages::lazy::PageView, $crate::pages::lazy::ChunkLoadError> {
                ::core::result::Result::Ok($view)
            }
            #[cfg(not(feature = "split"))]
            async fn $chunk() -> ::core::result::Result<$crate::pages::lazy::PageView, $crate::pages::lazy::ChunkLoadError> {
                ::core::result::Result::Ok($view)
            }
            fn load() -> ::std::pin::Pin<
                ::std::boxed::Box<
                    dyn ::core::future::Future<
                        Output = ::core::result::Result<$crate::pages::lazy::PageView, $crate::pages::lazy::ChunkLoadError>,
                    >,
                >,
            > {
                ::std::boxed::Box::pin($chunk())
            }
            $crate::pages::lazy::LazyPage {
                name: ::core::stringify!($chunk),
                skeleton: $skeleton,
                loaded: ::std::sync::OnceLock::new(),
                load,
                #[cfg(feature = "split")]
                built_in: ::core::option::Option::None,
                #[cfg(not(feature = "split"))]
                built_in: ::core::option::Option::Some($view),
            }
        };
    };
}

#[derive(Clone, Copy)]
enum LoadState {
    Loading,
    Ready(PageView),
    Failed,
}

/// A lazily loaded page: at once when its chunk is here, else its skeleton until it arrives, or
/// the retry notice when the download fails.
#[component]
pub fn Lazy(
    page: &'static LazyPage,
    /// Instead of the page's own skeleton (the app frame shows the skeleton of the page inside).
    #[prop(optional)]
    skeleton: Option<SkeletonKind>,
) -> impl IntoView {
    let skeleton = skeleton.unwrap_or(page.skeleton);
    let state = RwSignal::new(match page.ready() {
        Some(view) => LoadState::Ready(view),
        None => LoadState::Loading,
    });
    let fetch = move || {
        state.set(LoadState::Loading);
        leptos::task::spawn_local(async move {
            let outcome = page.fetch().await;
            // The user may have left the page meanwhile: then there is nothing to update.
            let _ = state.try_set(match outcome {
                Ok(view) => LoadState::Ready(view),
                Err(ChunkLoadError) => LoadState::Failed,
            });
        });
    };
    if page.ready().is_none() {
        fetch();
    }
    move || match state.get() {
        LoadState::Ready(view) => view(),
        LoadState::Loading => view! { <PageSkeleton kind=skeleton /> }.into_any(),
        LoadState::Failed => view! { <ChunkFailed on_retry=Callback::new(move |_| fetch()) /> }.into_any(),
    }
}

/// "Could not load this page", with a retry: a failed download never breaks the app.
#[component]
fn ChunkFailed(on_retry: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="page chunk-failed" data-testid="page-load-error" role="alert">
            <p class="chunk-failed-title">{i18n.text("shell.page_load_failed")}</p>
            <p class="muted">{i18n.text("shell.page_load_failed_hint")}</p>
            <button type="button" class="button button-primary" data-testid="page-load-retry" on:click=move |_| on_retry.run(())>
                {i18n.text("shell.retry")}
            </button>
        </section>
    }
}
