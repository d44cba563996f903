//! Typed calls of the team (`/intwa-api/team/...`).

use api_types::{Empty, TeamUserList};

use super::{ApiClient, ApiError};

/// The users of the caller's account, by name.
pub async fn list_users(api: ApiClient) -> Result<TeamUserList, ApiError> {
    api.post("/team/users/list", &Empty {}).await
}
