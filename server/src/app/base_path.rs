//! Serving the whole site under a base path such as `/console`: requests under it reach the site
//! with the prefix removed, `/` and `/console` redirect to `/console/`, anything else is 404.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::uri::PathAndQuery;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use tower::ServiceExt as _;

pub fn mount(site: Router, base_path: &str) -> Router {
    if base_path.is_empty() {
        return site;
    }
    let base_path: Arc<str> = Arc::from(base_path);
    Router::new().fallback(move |request: Request| {
        let site = site.clone();
        let base_path = base_path.clone();
        async move { route(site, &base_path, request).await }
    })
}

async fn route(site: Router, base_path: &str, mut request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/" || path == base_path {
        let query = request.uri().query().map(|query| format!("?{query}")).unwrap_or_default();
        return Redirect::temporary(&format!("{base_path}/{query}")).into_response();
    }
    let Some(rest) = path.strip_prefix(base_path).filter(|rest| rest.starts_with('/')) else {
        return (StatusCode::NOT_FOUND, format!("Not found: this server serves everything under {base_path}/")).into_response();
    };
    let rest_and_query = match request.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let Ok(path_and_query) = PathAndQuery::try_from(rest_and_query) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut parts = request.uri().clone().into_parts();
    parts.path_and_query = Some(path_and_query);
    match Uri::from_parts(parts) {
        Ok(uri) => *request.uri_mut() = uri,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    }
    match site.oneshot(request).await {
        Ok(response) => response,
        Err(infallible) => match infallible {},
    }
}
