//! The account's team: its users, as the inbox's assignment picker and (issue 11) the Team page
//! read them.

use serde::{Deserialize, Serialize};

use crate::auth::Role;

/// One user of the caller's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TeamUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
}

/// `POST /intwa-api/team/users/list`: every user of the caller's account, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TeamUserList {
    pub items: Vec<TeamUser>,
}
