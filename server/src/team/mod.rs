//! `/intwa-api/team/...`: the account's users. Today the list the inbox's assignment picker
//! reads; creating, changing and disabling users, and numbers per agent, are issue 11's.

use api_types::{Empty, Envelope, Role, TeamUser, TeamUserList};
use axum::extract::State;
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::state::AppState;
use crate::web::error::{ok, ApiError, ApiResult};
use crate::web::openapi::NotLoggedIn;

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users))
}

/// Every user of the caller's account (admins and agents alike may read it: agents assign
/// conversations to each other), by name.
#[utoipa::path(
    post,
    path = "/team/users/list",
    tag = "team",
    request_body(content = Empty, description = "`{}`; the body is not read"),
    responses(
        (status = 200, description = "The account's users, by name", body = Envelope<TeamUserList>),
        NotLoggedIn,
    )
)]
pub async fn list_users(State(state): State<AppState>, current_user: CurrentUser) -> ApiResult<TeamUserList> {
    let rows = sqlx::query("SELECT id, email, name, role FROM users WHERE account_id = $1 ORDER BY LOWER(name), email")
        .bind(&current_user.account_id)
        .fetch_all(&state.db)
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let read = |column: &str| row.try_get::<String, _>(column).map_err(ApiError::from);
        let role = read("role")?;
        items.push(TeamUser {
            id: read("id")?,
            email: read("email")?,
            name: read("name")?,
            // The schema allows only these two.
            role: Role::parse(&role).unwrap_or(Role::Agent),
        });
    }
    ok(TeamUserList { items })
}
