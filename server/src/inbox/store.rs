//! The inbox's SQL (the same for SQLite and PostgreSQL): contacts, conversations, messages and
//! statuses waiting for their message. Every query binds the account ([`InboxDb::account_id`]),
//! and runs on the caller's connection (the delivery's transaction).

use std::collections::{HashMap, HashSet};

use api_types::{ConversationState, InboxEventData, MessageDirection, MessageStatus};
use sqlx::{AnyConnection, Row};

use super::{Customer, MessageError, MessageIn, StatusIn};
use crate::channels::store::DbResult;
use crate::db::{for_backend, new_id, now_millis, placeholders, value_rows};
use crate::realtime;

/// What a transaction changed in one account's inbox, for the events it records before it
/// commits ([`InboxDb::record_events`]). Each row once, in the order first changed. It also
/// keeps what the transaction has read of the account's contacts and conversations
/// ([`InboxDb::preload`]), so a batch of deliveries reads each once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    known: Known,
    /// (message id, business number).
    messages: Vec<(String, String)>,
    /// (conversation id, business number).
    conversations: Vec<(String, String)>,
    /// (conversation id, business number, the conversation it was merged into).
    removed_conversations: Vec<(String, String, String)>,
    /// Contacts merged so far (each moves conversations).
    merges: usize,
}

impl Changes {
    pub fn message(&mut self, message_id: &str, phone_number_id: &str) {
        if !self.messages.iter().any(|(id, _)| id == message_id) {
            self.messages.push((message_id.to_owned(), phone_number_id.to_owned()));
        }
    }

    pub fn conversation(&mut self, conversation_id: &str, phone_number_id: &str) {
        if !self.conversations.iter().any(|(id, _)| id == conversation_id) {
            self.conversations.push((conversation_id.to_owned(), phone_number_id.to_owned()));
        }
    }

    fn conversation_removed(&mut self, conversation_id: &str, phone_number_id: &str, merged_into: &str) {
        self.removed_conversations.push((conversation_id.to_owned(), phone_number_id.to_owned(), merged_into.to_owned()));
    }
}

/// What one transaction has read or written of an account's contacts and conversations, as they
/// stand in it. Only this transaction changes them while it holds its number (SQLite's write
/// lock, PostgreSQL's row lock on the number); a customer writing to two numbers at once on
/// PostgreSQL can race, and the loser's insert fails on the unique index and the batch is tried
/// again, as without the cache. A merge of two contacts empties it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Known {
    /// Contacts by id: (wa_id, user_id, profile name).
    contacts: HashMap<String, (Option<String>, Option<String>, String)>,
    /// The contact holding a wa_id, or `None` when there is none.
    by_wa_id: HashMap<String, Option<String>>,
    /// The contact holding a user id, or `None` when there is none.
    by_user_id: HashMap<String, Option<String>>,
    /// (number, contact) -> its conversation, or `None` when there is none.
    conversations: HashMap<(String, String), Option<String>>,
    /// Numbers with no status waiting for its message.
    no_pending: HashSet<String>,
}

impl Known {
    fn remember_contact(&mut self, id: &str, wa_id: Option<String>, user_id: Option<String>, name: String) {
        if let Some(wa_id) = &wa_id {
            self.by_wa_id.insert(wa_id.clone(), Some(id.to_owned()));
        }
        if let Some(user_id) = &user_id {
            self.by_user_id.insert(user_id.clone(), Some(id.to_owned()));
        }
        self.contacts.insert(id.to_owned(), (wa_id, user_id, name));
    }
}

/// How a status met its message.
enum Raised {
    /// The message's status moved up (its id).
    Changed(String),
    /// The message has this status or a higher one already.
    Unchanged,
    /// No such message (yet).
    Missing,
}

/// One account's inbox rows.
#[derive(Debug, Clone)]
pub struct InboxDb {
    account_id: String,
}

impl InboxDb {
    pub fn new(account_id: &str) -> InboxDb {
        InboxDb { account_id: account_id.to_owned() }
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// A write on the number's row: SQLite's write lock, PostgreSQL's row lock, taken before any read.
    pub async fn lock_number(&self, connection: &mut AnyConnection, phone_number_id: &str) -> DbResult<()> {
        sqlx::query("UPDATE whatsapp_numbers SET updated_at = updated_at WHERE phone_number_id = $1 AND account_id = $2")
            .bind(phone_number_id)
            .bind(&self.account_id)
            .execute(connection)
            .await?;
        Ok(())
    }

    async fn contact_by(&self, connection: &mut AnyConnection, column: &str, value: &str) -> DbResult<Option<String>> {
        let row = sqlx::query(&format!("SELECT id FROM contacts WHERE account_id = $1 AND {column} = $2"))
            .bind(&self.account_id)
            .bind(value)
            .fetch_optional(connection)
            .await?;
        row.map(|row| row.try_get("id")).transpose()
    }

    /// The contact for this customer, made or completed: found by `wa_id` or `user_id`; when the
    /// two ids name two contacts (each seen alone before), the user-id one is merged into the
    /// other. The profile name is updated when the customer carries one. `None` without any id.
    ///
    /// When what the conversations show of the customer changes (a name, an id learnt, a merge),
    /// their conversations are in `changes`.
    pub async fn upsert_contact(&self, connection: &mut AnyConnection, customer: &Customer, changes: &mut Changes) -> DbResult<Option<String>> {
        if !customer.is_known() {
            return Ok(None);
        }
        let by_wa_id = match &customer.wa_id {
            Some(wa_id) => match changes.known.by_wa_id.get(wa_id) {
                Some(known) => known.clone(),
                None => self.contact_by(connection, "wa_id", wa_id).await?,
            },
            None => None,
        };
        let by_user_id = match &customer.user_id {
            Some(user_id) => match changes.known.by_user_id.get(user_id) {
                Some(known) => known.clone(),
                None => self.contact_by(connection, "user_id", user_id).await?,
            },
            None => None,
        };
        let now = now_millis();
        let contact_id = match (by_wa_id, by_user_id) {
            (None, None) => {
                let id = new_id();
                let name = customer.name.clone().unwrap_or_default();
                sqlx::query(
                    "INSERT INTO contacts (id, account_id, wa_id, user_id, profile_name, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(&id)
                .bind(&self.account_id)
                .bind(&customer.wa_id)
                .bind(&customer.user_id)
                .bind(&name)
                .bind(now)
                .execute(&mut *connection)
                .await?;
                changes.known.remember_contact(&id, customer.wa_id.clone(), customer.user_id.clone(), name);
                return Ok(Some(id));
            }
            (Some(kept), Some(other)) if kept != other => {
                self.merge_contact(connection, &kept, &other, changes).await?;
                // It moved conversations and deleted a contact: read them again from here on.
                changes.known = Known::default();
                changes.merges += 1;
                kept
            }
            (Some(id), _) | (None, Some(id)) => id,
        };
        let (stored_wa_id, stored_user_id, stored_name) = match changes.known.contacts.get(&contact_id) {
            Some(known) => known.clone(),
            None => {
                let shown = sqlx::query("SELECT wa_id, user_id, profile_name FROM contacts WHERE id = $1 AND account_id = $2")
                    .bind(&contact_id)
                    .bind(&self.account_id)
                    .fetch_one(&mut *connection)
                    .await?;
                (shown.try_get("wa_id")?, shown.try_get("user_id")?, shown.try_get("profile_name")?)
            }
        };
        let learnt = |stored: &Option<String>, given: &Option<String>| stored.is_none() && given.is_some();
        let renamed = customer.name.as_ref().is_some_and(|name| *name != stored_name);
        if !renamed && !learnt(&stored_wa_id, &customer.wa_id) && !learnt(&stored_user_id, &customer.user_id) {
            // Nothing new of this customer.
            changes.known.remember_contact(&contact_id, stored_wa_id, stored_user_id, stored_name);
            return Ok(Some(contact_id));
        }
        self.contact_conversations_changed(connection, &contact_id, changes).await?;
        sqlx::query(
            "UPDATE contacts SET wa_id = COALESCE(wa_id, $1), user_id = COALESCE(user_id, $2), \
             profile_name = COALESCE($3, profile_name), updated_at = $4 WHERE id = $5 AND account_id = $6",
        )
        .bind(&customer.wa_id)
        .bind(&customer.user_id)
        .bind(&customer.name)
        .bind(now)
        .bind(&contact_id)
        .bind(&self.account_id)
        .execute(&mut *connection)
        .await?;
        changes.known.remember_contact(
            &contact_id,
            stored_wa_id.or_else(|| customer.wa_id.clone()),
            stored_user_id.or_else(|| customer.user_id.clone()),
            customer.name.clone().unwrap_or(stored_name),
        );
        Ok(Some(contact_id))
    }

    /// Read, in a few queries, the contacts of these customers, their conversations on this
    /// number, and whether statuses wait on it: what [`InboxDb::record_message`] asks next.
    pub async fn preload<'a>(
        &self,
        connection: &mut AnyConnection,
        phone_number_id: &str,
        customers: impl Iterator<Item = &'a Customer>,
        changes: &mut Changes,
    ) -> DbResult<()> {
        let known = &mut changes.known;
        let mut wa_ids = Vec::new();
        let mut user_ids = Vec::new();
        for customer in customers {
            if let Some(wa_id) = &customer.wa_id {
                if !known.by_wa_id.contains_key(wa_id) && !wa_ids.contains(wa_id) {
                    wa_ids.push(wa_id.clone());
                }
            }
            if let Some(user_id) = &customer.user_id {
                if !known.by_user_id.contains_key(user_id) && !user_ids.contains(user_id) {
                    user_ids.push(user_id.clone());
                }
            }
        }
        let mut found_contacts = Vec::new();
        for (column, ids) in [("wa_id", &wa_ids), ("user_id", &user_ids)] {
            for chunk in ids.chunks(IDS_PER_QUERY) {
                let sql = for_backend(connection.backend_name(), format!(
                    "SELECT id, wa_id, user_id, profile_name FROM contacts WHERE account_id = $1 AND {column} IN ({})",
                    placeholders(2, chunk.len())
                ));
                let mut query = sqlx::query(&sql).bind(&self.account_id);
                for id in chunk {
                    query = query.bind(id);
                }
                for row in query.fetch_all(&mut *connection).await? {
                    let id: String = row.try_get("id")?;
                    known.remember_contact(&id, row.try_get("wa_id")?, row.try_get("user_id")?, row.try_get("profile_name")?);
                    found_contacts.push(id);
                }
            }
        }
        // Looked for and not there.
        for wa_id in wa_ids {
            known.by_wa_id.entry(wa_id).or_insert(None);
        }
        for user_id in user_ids {
            known.by_user_id.entry(user_id).or_insert(None);
        }
        found_contacts.retain(|contact| !known.conversations.contains_key(&(phone_number_id.to_owned(), contact.clone())));
        found_contacts.dedup();
        for chunk in found_contacts.chunks(IDS_PER_QUERY) {
            let sql = for_backend(connection.backend_name(), format!(
                "SELECT id, contact_id FROM conversations WHERE account_id = $1 AND phone_number_id = $2 AND contact_id IN ({})",
                placeholders(3, chunk.len())
            ));
            let mut query = sqlx::query(&sql).bind(&self.account_id).bind(phone_number_id);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&mut *connection).await? {
                let contact_id: String = row.try_get("contact_id")?;
                known.conversations.insert((phone_number_id.to_owned(), contact_id), Some(row.try_get("id")?));
            }
            for contact in chunk {
                known.conversations.entry((phone_number_id.to_owned(), contact.clone())).or_insert(None);
            }
        }
        if !known.no_pending.contains(phone_number_id) {
            let waiting: i64 = sqlx::query("SELECT COUNT(*) AS waiting FROM pending_statuses WHERE account_id = $1 AND phone_number_id = $2")
                .bind(&self.account_id)
                .bind(phone_number_id)
                .fetch_one(&mut *connection)
                .await?
                .try_get("waiting")?;
            if waiting == 0 {
                known.no_pending.insert(phone_number_id.to_owned());
            }
        }
        Ok(())
    }

    async fn contact_conversations_changed(&self, connection: &mut AnyConnection, contact_id: &str, changes: &mut Changes) -> DbResult<()> {
        let rows = sqlx::query("SELECT id, phone_number_id FROM conversations WHERE account_id = $1 AND contact_id = $2")
            .bind(&self.account_id)
            .bind(contact_id)
            .fetch_all(&mut *connection)
            .await?;
        for row in rows {
            changes.conversation(&row.try_get::<String, _>("id")?, &row.try_get::<String, _>("phone_number_id")?);
        }
        Ok(())
    }

    /// Move `other`'s conversations (and their messages) onto `kept`, then delete `other`.
    async fn merge_contact(&self, connection: &mut AnyConnection, kept: &str, other: &str, changes: &mut Changes) -> DbResult<()> {
        let rows = sqlx::query("SELECT id, phone_number_id FROM conversations WHERE account_id = $1 AND contact_id = $2")
            .bind(&self.account_id)
            .bind(other)
            .fetch_all(&mut *connection)
            .await?;
        for row in rows {
            let conversation_id: String = row.try_get("id")?;
            let phone_number_id: String = row.try_get("phone_number_id")?;
            let existing = self.find_conversation(connection, &phone_number_id, kept).await?;
            match existing {
                None => {
                    sqlx::query("UPDATE conversations SET contact_id = $1 WHERE id = $2 AND account_id = $3")
                        .bind(kept)
                        .bind(&conversation_id)
                        .bind(&self.account_id)
                        .execute(&mut *connection)
                        .await?;
                    changes.conversation(&conversation_id, &phone_number_id);
                }
                Some(into) => {
                    sqlx::query("UPDATE messages SET conversation_id = $1 WHERE conversation_id = $2 AND account_id = $3")
                        .bind(&into)
                        .bind(&conversation_id)
                        .bind(&self.account_id)
                        .execute(&mut *connection)
                        .await?;
                    let merged = sqlx::query(
                        "SELECT unread_count, last_message_at, state FROM conversations WHERE id = $1 AND account_id = $2",
                    )
                    .bind(&conversation_id)
                    .bind(&self.account_id)
                    .fetch_one(&mut *connection)
                    .await?;
                    let unread: i64 = merged.try_get("unread_count")?;
                    let last: i64 = merged.try_get("last_message_at")?;
                    let open = merged.try_get::<String, _>("state")? == ConversationState::Open.as_str();
                    sqlx::query(
                        "UPDATE conversations SET unread_count = unread_count + $1, \
                         last_message_at = CASE WHEN last_message_at < $2 THEN $2 ELSE last_message_at END, \
                         state = CASE WHEN $3 = 1 THEN 'open' ELSE state END, updated_at = $4 WHERE id = $5 AND account_id = $6",
                    )
                    .bind(unread)
                    .bind(last)
                    .bind(i64::from(open))
                    .bind(now_millis())
                    .bind(&into)
                    .bind(&self.account_id)
                    .execute(&mut *connection)
                    .await?;
                    sqlx::query("DELETE FROM conversations WHERE id = $1 AND account_id = $2")
                        .bind(&conversation_id)
                        .bind(&self.account_id)
                        .execute(&mut *connection)
                        .await?;
                    changes.conversation_removed(&conversation_id, &phone_number_id, &into);
                    changes.conversation(&into, &phone_number_id);
                }
            }
        }
        sqlx::query("DELETE FROM contacts WHERE id = $1 AND account_id = $2")
            .bind(other)
            .bind(&self.account_id)
            .execute(&mut *connection)
            .await?;
        Ok(())
    }

    async fn find_conversation(&self, connection: &mut AnyConnection, phone_number_id: &str, contact_id: &str) -> DbResult<Option<String>> {
        let row = sqlx::query("SELECT id FROM conversations WHERE account_id = $1 AND phone_number_id = $2 AND contact_id = $3")
            .bind(&self.account_id)
            .bind(phone_number_id)
            .bind(contact_id)
            .fetch_optional(connection)
            .await?;
        row.map(|row| row.try_get("id")).transpose()
    }

    /// The conversation of this number with this contact, made open when there is none.
    async fn conversation_for(
        &self,
        connection: &mut AnyConnection,
        phone_number_id: &str,
        contact_id: &str,
        at: i64,
        changes: &mut Changes,
    ) -> DbResult<String> {
        let key = (phone_number_id.to_owned(), contact_id.to_owned());
        let found = match changes.known.conversations.get(&key) {
            Some(known) => known.clone(),
            None => self.find_conversation(connection, phone_number_id, contact_id).await?,
        };
        if let Some(id) = found {
            changes.known.conversations.insert(key, Some(id.clone()));
            return Ok(id);
        }
        let id = new_id();
        let now = now_millis();
        sqlx::query(
            "INSERT INTO conversations (id, account_id, phone_number_id, contact_id, state, assignee_user_id, unread_count, \
             last_message_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, NULL, 0, $6, $7, $7)",
        )
        .bind(&id)
        .bind(&self.account_id)
        .bind(phone_number_id)
        .bind(contact_id)
        .bind(ConversationState::Open.as_str())
        .bind(at)
        .bind(now)
        .execute(connection)
        .await?;
        changes.known.conversations.insert(key, Some(id.clone()));
        Ok(id)
    }

    /// Record a message (or attach a reaction to its target). A wamid already stored on this
    /// number changes nothing.
    pub async fn record_message(
        &self,
        connection: &mut AnyConnection,
        phone_number_id: &str,
        message: &MessageIn,
        changes: &mut Changes,
    ) -> DbResult<()> {
        let Some(contact_id) = self.upsert_contact(connection, &message.customer, changes).await? else {
            tracing::warn!(wamid = %message.wamid, "a message names no customer; not stored");
            return Ok(());
        };
        if let Some(reaction) = &message.content.reaction {
            let (emoji_column, at_column) = match message.direction {
                MessageDirection::Outbound => ("business_reaction", "business_reaction_at"),
                _ => ("customer_reaction", "customer_reaction_at"),
            };
            // The same reaction again (a redelivery) changes nothing.
            let updated = sqlx::query(&format!(
                "UPDATE messages SET {emoji_column} = $1, {at_column} = $2, updated_at = $3 \
                 WHERE account_id = $4 AND phone_number_id = $5 AND wamid = $6 AND ({at_column} IS NULL OR {at_column} <= $2) \
                 AND (COALESCE({at_column}, -1) <> $2 OR COALESCE({emoji_column}, '') <> $1) RETURNING id"
            ))
            .bind(&reaction.emoji)
            .bind(message.timestamp)
            .bind(now_millis())
            .bind(&self.account_id)
            .bind(phone_number_id)
            .bind(&reaction.target_wamid)
            .fetch_optional(&mut *connection)
            .await?;
            match updated {
                Some(target) => changes.message(&target.try_get::<String, _>("id")?, phone_number_id),
                None => tracing::info!(target_wamid = %reaction.target_wamid, "a reaction to a message not stored here (or older than the one shown)"),
            }
            return Ok(());
        }
        let conversation_id = self.conversation_for(connection, phone_number_id, &contact_id, message.timestamp, changes).await?;
        let row = NewMessage { id: crate::db::ordered_id(), conversation_id, message };
        self.store_messages(connection, phone_number_id, std::slice::from_ref(&row), changes).await
    }

    /// Record a run of messages of one number (none a reaction), as [`InboxDb::record_message`]
    /// would one after the other, in a few statements: the rows in multi-row inserts, each
    /// conversation updated once. A wamid twice in the run is stored once (the first).
    pub async fn record_messages(
        &self,
        connection: &mut AnyConnection,
        phone_number_id: &str,
        messages: &[&MessageIn],
        changes: &mut Changes,
    ) -> DbResult<()> {
        let merges = changes.merges;
        let mut rows = Vec::with_capacity(messages.len());
        let mut wamids = HashSet::new();
        for message in messages {
            debug_assert!(message.content.reaction.is_none(), "reactions are recorded alone");
            let Some(contact_id) = self.upsert_contact(connection, &message.customer, changes).await? else {
                tracing::warn!(wamid = %message.wamid, "a message names no customer; not stored");
                continue;
            };
            let conversation_id = self.conversation_for(connection, phone_number_id, &contact_id, message.timestamp, changes).await?;
            if wamids.insert(message.wamid.as_str()) {
                rows.push(NewMessage { id: crate::db::ordered_id(), conversation_id, message });
            }
        }
        if changes.merges != merges {
            // A merge moved conversations the rows above were meant for: one at a time then
            // (what the first pass wrote of contacts and conversations is found again).
            for message in messages {
                self.record_message(connection, phone_number_id, message, changes).await?;
            }
            return Ok(());
        }
        self.store_messages(connection, phone_number_id, &rows, changes).await
    }

    /// Insert these message rows (a wamid already stored on the number is skipped), update their
    /// conversations, queue their media and apply the statuses that came before them.
    async fn store_messages(
        &self,
        connection: &mut AnyConnection,
        phone_number_id: &str,
        rows: &[NewMessage<'_>],
        changes: &mut Changes,
    ) -> DbResult<()> {
        let now = now_millis();
        let mut inserted = HashSet::with_capacity(rows.len());
        for chunk in rows.chunks(MESSAGES_PER_INSERT) {
            let sql = for_backend(connection.backend_name(), format!(
                "INSERT INTO messages ({MESSAGE_INSERT_COLUMNS}) VALUES {} ON CONFLICT (phone_number_id, wamid) DO NOTHING RETURNING id",
                value_rows(chunk.len(), MESSAGE_INSERT_COLUMN_COUNT)
            ));
            let mut query = sqlx::query(&sql);
            for row in chunk {
                let message = row.message;
                let inbound = message.direction == MessageDirection::Inbound;
                // An echo was sent from the phone: it starts as sent; inbound messages have no status.
                let status = (!inbound).then_some(MessageStatus::Sent);
                let content = &message.content;
                let media = content.media.as_ref();
                let error = content.error.as_ref();
                query = query
                    .bind(&row.id)
                    .bind(&self.account_id)
                    .bind(&row.conversation_id)
                    .bind(phone_number_id)
                    .bind(&message.wamid)
                    .bind(message.direction.as_str())
                    .bind(message.origin.as_str())
                    .bind(content.kind.as_str())
                    .bind(&content.text)
                    .bind(media.and_then(|media| media.id.clone()))
                    .bind(media.and_then(|media| media.mime_type.clone()))
                    .bind(media.and_then(|media| media.file_name.clone()))
                    .bind(media.and_then(|media| media.caption.clone()))
                    .bind(media.and_then(|media| media.sha256.clone()))
                    .bind(media.and_then(|media| media.link.clone()))
                    .bind(&content.payload)
                    .bind(&content.reply_to)
                    .bind(status.as_ref().map(|status| status.as_str().to_owned()))
                    .bind(status.as_ref().map_or(0, MessageStatus::rank))
                    .bind(error.and_then(|error| error.code.clone()))
                    .bind(error.and_then(|error| error.title.clone()))
                    .bind(error.and_then(|error| error.details.clone()))
                    .bind(message.timestamp)
                    .bind(now)
                    .bind(now);
            }
            for stored in query.fetch_all(&mut *connection).await? {
                inserted.insert(stored.try_get::<String, _>("id")?);
            }
        }
        // What the new messages do to each conversation: (id, newest timestamp, inbound count).
        let mut bumps: Vec<(&str, i64, i64)> = Vec::new();
        let mut new_rows = Vec::with_capacity(inserted.len());
        for row in rows.iter().filter(|row| inserted.contains(&row.id)) {
            let message = row.message;
            super::media::download::queue(connection, &self.account_id, phone_number_id, message).await?;
            changes.message(&row.id, phone_number_id);
            changes.conversation(&row.conversation_id, phone_number_id);
            let inbound = i64::from(message.direction == MessageDirection::Inbound);
            match bumps.iter_mut().find(|(id, _, _)| *id == row.conversation_id) {
                Some((_, at, unread)) => {
                    *at = (*at).max(message.timestamp);
                    *unread += inbound;
                }
                None => bumps.push((&row.conversation_id, message.timestamp, inbound)),
            }
            new_rows.push(message);
        }
        for chunk in bumps.chunks(CONVERSATIONS_PER_UPDATE) {
            // `column1..3` name a VALUES list's columns in SQLite and PostgreSQL alike.
            let sql = for_backend(connection.backend_name(), format!(
                "UPDATE conversations SET \
                 last_message_at = CASE WHEN conversations.last_message_at < v.column2 THEN v.column2 ELSE conversations.last_message_at END, \
                 unread_count = conversations.unread_count + v.column3, \
                 state = CASE WHEN v.column3 > 0 THEN $1 ELSE conversations.state END, updated_at = $2 \
                 FROM (VALUES {}) AS v WHERE conversations.id = v.column1 AND conversations.account_id = ${}",
                (0..chunk.len()).map(|row| format!("(${}, ${}, ${})", 3 + row * 3, 4 + row * 3, 5 + row * 3)).collect::<Vec<_>>().join(", "),
                3 + chunk.len() * 3
            ));
            let mut query = sqlx::query(&sql).bind(ConversationState::Open.as_str()).bind(now);
            for (id, at, unread) in chunk {
                query = query.bind(*id).bind(*at).bind(*unread);
            }
            query = query.bind(&self.account_id);
            query.execute(&mut *connection).await?;
        }
        // A status that came before the message.
        if changes.known.no_pending.contains(phone_number_id) {
            return Ok(());
        }
        for message in new_rows {
            self.apply_pending_status(connection, phone_number_id, &message.wamid).await?;
        }
        Ok(())
    }

    /// The status that waited for this new message, if one did.
    async fn apply_pending_status(&self, connection: &mut AnyConnection, phone_number_id: &str, wamid: &str) -> DbResult<()> {
        let pending = sqlx::query(
            "SELECT status, error_code, error_title, error_details, timestamp FROM pending_statuses \
             WHERE account_id = $1 AND phone_number_id = $2 AND wamid = $3",
        )
        .bind(&self.account_id)
        .bind(phone_number_id)
        .bind(wamid)
        .fetch_optional(&mut *connection)
        .await?;
        if let Some(row) = pending {
            let status = MessageStatus::parse(&row.try_get::<String, _>("status")?);
            let error = MessageError {
                code: row.try_get("error_code")?,
                title: row.try_get("error_title")?,
                details: row.try_get("error_details")?,
            };
            // The message is new: its event carries whatever status it ends with.
            self.raise_status(connection, phone_number_id, wamid, &status, Some(&error)).await?;
            sqlx::query("DELETE FROM pending_statuses WHERE account_id = $1 AND phone_number_id = $2 AND wamid = $3")
                .bind(&self.account_id)
                .bind(phone_number_id)
                .bind(wamid)
                .execute(&mut *connection)
                .await?;
        }
        Ok(())
    }

    /// Set the status when it ranks above the stored one.
    async fn raise_status(
        &self,
        connection: &mut AnyConnection,
        phone_number_id: &str,
        wamid: &str,
        status: &MessageStatus,
        error: Option<&MessageError>,
    ) -> DbResult<Raised> {
        // Only a failure carries an error; a status that outranks it clears it.
        let error = error.filter(|_| *status == MessageStatus::Failed).cloned().unwrap_or_default();
        let updated = sqlx::query(
            "UPDATE messages SET status = $1, status_rank = $2, error_code = $3, error_title = $4, error_details = $5, \
             updated_at = $6 WHERE account_id = $7 AND phone_number_id = $8 AND wamid = $9 AND status_rank < $2 \
             AND direction = $10 RETURNING id",
        )
        .bind(status.as_str())
        .bind(status.rank())
        .bind(&error.code)
        .bind(&error.title)
        .bind(&error.details)
        .bind(now_millis())
        .bind(&self.account_id)
        .bind(phone_number_id)
        .bind(wamid)
        .bind(MessageDirection::Outbound.as_str())
        .fetch_optional(&mut *connection)
        .await?;
        if let Some(row) = updated {
            return Ok(Raised::Changed(row.try_get("id")?));
        }
        let exists = sqlx::query("SELECT COUNT(*) AS found FROM messages WHERE account_id = $1 AND phone_number_id = $2 AND wamid = $3")
            .bind(&self.account_id)
            .bind(phone_number_id)
            .bind(wamid)
            .fetch_one(&mut *connection)
            .await?
            .try_get::<i64, _>("found")?;
        Ok(if exists > 0 { Raised::Unchanged } else { Raised::Missing })
    }

    /// Apply a status; one for a message not stored yet waits in `pending_statuses` (the highest
    /// one seen) until the message row appears.
    pub async fn record_status(
        &self,
        connection: &mut AnyConnection,
        phone_number_id: &str,
        status: &StatusIn,
        changes: &mut Changes,
    ) -> DbResult<()> {
        match self.raise_status(connection, phone_number_id, &status.wamid, &status.status, status.error.as_ref()).await? {
            Raised::Changed(message_id) => {
                changes.message(&message_id, phone_number_id);
                return Ok(());
            }
            Raised::Unchanged => return Ok(()),
            Raised::Missing => {}
        }
        let error = status.error.clone().filter(|_| status.status == MessageStatus::Failed).unwrap_or_default();
        changes.known.no_pending.remove(phone_number_id);
        sqlx::query(
            "INSERT INTO pending_statuses (id, account_id, phone_number_id, wamid, status, status_rank, error_code, error_title, \
             error_details, timestamp, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (phone_number_id, wamid) DO UPDATE SET status = excluded.status, status_rank = excluded.status_rank, \
             error_code = excluded.error_code, error_title = excluded.error_title, error_details = excluded.error_details, \
             timestamp = excluded.timestamp WHERE pending_statuses.status_rank < excluded.status_rank",
        )
        .bind(new_id())
        .bind(&self.account_id)
        .bind(phone_number_id)
        .bind(&status.wamid)
        .bind(status.status.as_str())
        .bind(status.status.rank())
        .bind(&error.code)
        .bind(&error.title)
        .bind(&error.details)
        .bind(status.timestamp)
        .bind(now_millis())
        .execute(connection)
        .await?;
        Ok(())
    }
}


/// A page position: `{time}:{id}` of the last row of the previous page.
pub(crate) fn parse_cursor(cursor: Option<&str>) -> Option<(i64, String)> {
    let (time, id) = cursor?.split_once(':')?;
    Some((time.parse().ok()?, id.to_owned()))
}

/// `%` and `_` in a search typed by a user match themselves.
fn like_pattern(query: &str) -> String {
    let escaped = query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}

/// What `conversations/list` asks for, checked.
#[derive(Debug, Clone, Default)]
pub struct ConversationQuery {
    /// `Some(None)`: unassigned; `Some(Some(user))`: assigned to that user.
    pub assignee: Option<Option<String>>,
    pub phone_number_id: Option<String>,
    pub state: Option<api_types::ConversationState>,
    pub text: Option<String>,
    pub cursor: Option<String>,
    pub limit: u32,
}

impl InboxDb {
    /// The account's conversations, newest activity first, one page.
    pub async fn list_conversations(&self, db: &sqlx::AnyPool, query: &ConversationQuery) -> DbResult<api_types::ConversationPage> {
        // The page's ids first, then their rows with the newest message of each (only the page's).
        let mut sql = String::from(
            "SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id AND k.account_id = c.account_id \
             WHERE c.account_id = $1",
        );
        let mut binds: Vec<Option<String>> = Vec::new();
        let mut next = |sql: &mut String, clause: &str, value: Option<String>| {
            binds.push(value);
            sql.push_str(&clause.replace('?', &format!("${}", binds.len() + 1)));
        };
        match &query.assignee {
            Some(Some(user)) => next(&mut sql, " AND c.assignee_user_id = ?", Some(user.clone())),
            Some(None) => sql.push_str(" AND c.assignee_user_id IS NULL"),
            None => {}
        }
        if let Some(number) = &query.phone_number_id {
            next(&mut sql, " AND c.phone_number_id = ?", Some(number.clone()));
        }
        if let Some(state) = &query.state {
            next(&mut sql, " AND c.state = ?", Some(state.as_str().to_owned()));
        }
        if let Some(text) = query.text.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            let pattern = like_pattern(text);
            binds.push(Some(pattern));
            let p = format!("${}", binds.len() + 1);
            sql.push_str(&format!(
                " AND (LOWER(k.profile_name) LIKE {p} ESCAPE '\\' OR LOWER(COALESCE(k.wa_id, '')) LIKE {p} ESCAPE '\\' \
                 OR LOWER(COALESCE(k.user_id, '')) LIKE {p} ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m \
                 WHERE m.account_id = c.account_id AND m.conversation_id = c.id AND LOWER(COALESCE(m.text, '')) LIKE {p} ESCAPE '\\'))"
            ));
        }
        let cursor = parse_cursor(query.cursor.as_deref());
        if cursor.is_some() {
            // Bound after the others, below.
            let t = format!("${}", binds.len() + 2);
            let i = format!("${}", binds.len() + 3);
            sql.push_str(&format!(" AND (c.last_message_at < {t} OR (c.last_message_at = {t} AND c.id < {i}))"));
        }
        sql.push_str(&format!(" ORDER BY c.last_message_at DESC, c.id DESC LIMIT {}", query.limit + 1));
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_TABLES} WHERE c.account_id = $1 AND c.id IN ({sql}) \
             ORDER BY c.last_message_at DESC, c.id DESC"
        );
        let mut statement = sqlx::query(&sql).bind(&self.account_id);
        for value in &binds {
            statement = statement.bind(value.clone());
        }
        if let Some((time, id)) = &cursor {
            statement = statement.bind(*time).bind(id.clone());
        }
        let rows = statement.fetch_all(db).await?;
        let mut items = Vec::new();
        for row in rows.iter().take(query.limit as usize) {
            items.push(conversation_from_row(row)?);
        }
        let next_cursor = (rows.len() > query.limit as usize)
            .then(|| items.last().map(|last| format!("{}:{}", last.last_message_at, last.id)))
            .flatten();
        Ok(api_types::ConversationPage { items, next_cursor })
    }

    /// One page of a conversation's messages before `before` (newest page first, oldest first
    /// within it); `None` when the account has no such conversation.
    pub async fn list_messages(
        &self,
        db: &sqlx::AnyPool,
        conversation_id: &str,
        before: Option<&str>,
        limit: u32,
    ) -> DbResult<Option<api_types::MessagePage>> {
        if conversation_id.contains('\0') {
            return Ok(None);
        }
        let found = sqlx::query("SELECT COUNT(*) AS found FROM conversations WHERE id = $1 AND account_id = $2")
            .bind(conversation_id)
            .bind(&self.account_id)
            .fetch_one(db)
            .await?
            .try_get::<i64, _>("found")?;
        if found == 0 {
            return Ok(None);
        }
        let cursor = parse_cursor(before);
        let mut sql = String::from(
            format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND conversation_id = $2"),
        );
        if cursor.is_some() {
            sql.push_str(" AND (timestamp < $3 OR (timestamp = $3 AND id < $4))");
        }
        sql.push_str(&format!(" ORDER BY timestamp DESC, id DESC LIMIT {}", limit + 1));
        let mut statement = sqlx::query(&sql).bind(&self.account_id).bind(conversation_id);
        if let Some((time, id)) = &cursor {
            statement = statement.bind(*time).bind(id.clone());
        }
        let rows = statement.fetch_all(db).await?;
        let mut items = Vec::new();
        for row in rows.iter().take(limit as usize) {
            items.push(message_from_row(row)?);
        }
        let next_cursor = (rows.len() > limit as usize)
            .then(|| items.last().map(|oldest| format!("{}:{}", oldest.timestamp, oldest.id)))
            .flatten();
        items.reverse();
        Ok(Some(api_types::MessagePage { items, next_cursor }))
    }
}

/// The columns [`conversation_from_row`] reads (conversations `c` joined with contacts `k`).
const CONVERSATION_COLUMNS: &str = "c.id, c.phone_number_id, c.state, c.assignee_user_id, c.unread_count, c.last_message_at, \
     k.wa_id, k.user_id, k.profile_name, k.created_at AS first_contact_at, lm.direction AS last_direction, lm.type AS last_type, \
     lm.status AS last_status, SUBSTR(COALESCE(lm.text, lm.media_caption, lm.media_file_name), 1, 120) AS last_text";

/// The conversation (`c`), its contact (`k`) and its newest message (`lm`, by the thread's index).
const CONVERSATION_TABLES: &str = "conversations c JOIN contacts k ON k.id = c.contact_id AND k.account_id = c.account_id \
     LEFT JOIN messages lm ON lm.id = (SELECT m.id FROM messages m WHERE m.account_id = c.account_id AND m.conversation_id = c.id \
     ORDER BY m.timestamp DESC, m.id DESC LIMIT 1)";

fn conversation_from_row(row: &sqlx::any::AnyRow) -> DbResult<api_types::ConversationSummary> {
    Ok(api_types::ConversationSummary {
        id: row.try_get("id")?,
        phone_number_id: row.try_get("phone_number_id")?,
        customer: api_types::InboxCustomer {
            wa_id: row.try_get("wa_id")?,
            user_id: row.try_get("user_id")?,
            name: row.try_get("profile_name")?,
        },
        state: ConversationState::parse(&row.try_get::<String, _>("state")?),
        assignee_user_id: row.try_get("assignee_user_id")?,
        unread_count: u64::try_from(row.try_get::<i64, _>("unread_count")?).unwrap_or(0),
        last_message_at: row.try_get("last_message_at")?,
        first_contact_at: row.try_get("first_contact_at")?,
        last_message: match row.try_get::<Option<String>, _>("last_type")? {
            None => None,
            Some(kind) => Some(api_types::MessagePreview {
                direction: MessageDirection::parse(&row.try_get::<String, _>("last_direction")?),
                kind: api_types::MessageType::parse(&kind),
                text: row.try_get("last_text")?,
                status: row.try_get::<Option<String>, _>("last_status")?.as_deref().map(MessageStatus::parse),
            }),
        },
    })
}

/// The columns [`message_from_row`] reads.
const MESSAGE_COLUMNS: &str = "id, conversation_id, wamid, direction, origin, type, text, media_id, media_link, media_mime_type, \
     media_file_name, media_caption, status, error_code, error_title, error_details, customer_reaction, business_reaction, \
     reply_to_wamid, timestamp, media_file_id, media_size_bytes, media_state, client_message_id, \
     CASE WHEN type IN ('location', 'contacts') THEN payload END AS card_payload";

fn message_from_row(row: &sqlx::any::AnyRow) -> DbResult<api_types::MessageItem> {
    let kind = api_types::MessageType::parse(&row.try_get::<String, _>("type")?);
    let error_code: Option<String> = row.try_get("error_code")?;
    let error_title: Option<String> = row.try_get("error_title")?;
    let error_details: Option<String> = row.try_get("error_details")?;
    let has_error = error_code.is_some() || error_title.is_some();
    let media_id: Option<String> = row.try_get("media_id")?;
    let media_link: Option<String> = row.try_get("media_link")?;
    let media_file_id: Option<String> = row.try_get("media_file_id")?;
    let gave_up = row.try_get::<Option<String>, _>("media_state")?.as_deref() == Some(super::media::download::UNAVAILABLE);
    let media = kind.is_media().then(|| -> DbResult<api_types::MessageMedia> {
        Ok(api_types::MessageMedia {
            size_bytes: row.try_get::<Option<i64>, _>("media_size_bytes")?.and_then(|size| u64::try_from(size).ok()),
            file_name: row.try_get("media_file_name")?,
            mime_type: row.try_get("media_mime_type")?,
            caption: row.try_get("media_caption")?,
            // A stored file is there whatever happened to the message (a failed send keeps it).
            available: media_file_id.is_some() || ((media_id.is_some() || media_link.is_some()) && !has_error && !gave_up),
            id: media_file_id,
        })
    });
    let (location, contacts) = super::content::cards(&kind, row.try_get::<Option<String>, _>("card_payload")?.as_deref());
    Ok(api_types::MessageItem {
        location,
        contacts,
        id: row.try_get("id")?,
        wamid: super::outbox::shown_wamid(row.try_get("wamid")?),
        conversation_id: row.try_get("conversation_id")?,
        client_message_id: row.try_get("client_message_id")?,
        direction: MessageDirection::parse(&row.try_get::<String, _>("direction")?),
        origin: api_types::MessageOrigin::parse(&row.try_get::<String, _>("origin")?),
        kind,
        text: row.try_get("text")?,
        media: media.transpose()?,
        status: row.try_get::<Option<String>, _>("status")?.map(MessageStatus::from),
        error: has_error.then_some(api_types::MessageErrorInfo { code: error_code, title: error_title, details: error_details }),
        customer_reaction: row.try_get("customer_reaction")?,
        business_reaction: row.try_get("business_reaction")?,
        reply_to_wamid: row.try_get("reply_to_wamid")?,
        timestamp: row.try_get("timestamp")?,
    })
}

impl InboxDb {
    /// One message of the account, as the API shows it; `None` when the account has none by that id.
    pub async fn message_item(&self, connection: &mut AnyConnection, message_id: &str) -> DbResult<Option<api_types::MessageItem>> {
        let row = sqlx::query(&format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND id = $2"))
            .bind(&self.account_id)
            .bind(message_id)
            .fetch_optional(connection)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// One conversation of the account, as the list shows it; `None` when the account has none by that id.
    pub async fn conversation_summary(&self, connection: &mut AnyConnection, conversation_id: &str) -> DbResult<Option<api_types::ConversationSummary>> {
        let row = sqlx::query(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_TABLES} \
             WHERE c.account_id = $1 AND c.id = $2"
        ))
        .bind(&self.account_id)
        .bind(conversation_id)
        .fetch_optional(connection)
        .await?;
        row.as_ref().map(conversation_from_row).transpose()
    }
}

impl InboxDb {
    /// Record the events of `changes` (the rows as they are now), last thing before the commit:
    /// conversations merged away, then messages, then conversations. Returns the last event's id,
    /// for [`realtime::Realtime::committed`] once committed; `None` when nothing changed.
    pub async fn record_events(&self, connection: &mut AnyConnection, changes: &Changes) -> DbResult<Option<i64>> {
        let mut events: Vec<(Option<&str>, InboxEventData)> = Vec::new();
        for (conversation_id, phone_number_id, merged_into) in &changes.removed_conversations {
            let data = InboxEventData::ConversationRemoved { conversation_id: conversation_id.clone(), merged_into: merged_into.clone() };
            events.push((Some(phone_number_id), data));
        }
        let message_ids: Vec<&str> = changes.messages.iter().map(|(id, _)| id.as_str()).collect();
        let mut messages = self.message_items(connection, &message_ids).await?;
        for (message_id, phone_number_id) in &changes.messages {
            let Some(message) = messages.remove(message_id) else { continue };
            events.push((Some(phone_number_id), InboxEventData::Message { conversation_id: message.conversation_id.clone(), message }));
        }
        let conversation_ids: Vec<&str> = changes.conversations.iter().map(|(id, _)| id.as_str()).collect();
        let mut conversations = self.conversation_summaries(connection, &conversation_ids).await?;
        for (conversation_id, phone_number_id) in &changes.conversations {
            // Gone when a later merge in the same transaction took it.
            let Some(conversation) = conversations.remove(conversation_id) else { continue };
            events.push((Some(phone_number_id), InboxEventData::Conversation { conversation }));
        }
        realtime::record_many(connection, &self.account_id, &events).await
    }

    /// The account's messages by these ids (a hundred to a query), as the API shows them.
    async fn message_items(&self, connection: &mut AnyConnection, ids: &[&str]) -> DbResult<HashMap<String, api_types::MessageItem>> {
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            // `account_id || ''`: the account still binds every row, but SQLite's planner (no
            // statistics) would otherwise walk the account's whole `messages_by_conversation`
            // range instead of looking each id up.
            let sql = for_backend(connection.backend_name(), format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id || '' = $1 AND id IN ({})",
                placeholders(2, chunk.len())
            ));
            let mut query = sqlx::query(&sql).bind(&self.account_id);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *connection).await? {
                let message = message_from_row(&row)?;
                found.insert(message.id.clone(), message);
            }
        }
        Ok(found)
    }

    /// The account's conversations by these ids (a hundred to a query), as the list shows them.
    async fn conversation_summaries(
        &self,
        connection: &mut AnyConnection,
        ids: &[&str],
    ) -> DbResult<HashMap<String, api_types::ConversationSummary>> {
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let sql = for_backend(connection.backend_name(), format!(
                "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_TABLES} \
                 WHERE c.account_id = $1 AND c.id IN ({})",
                placeholders(2, chunk.len())
            ));
            let mut query = sqlx::query(&sql).bind(&self.account_id);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *connection).await? {
                let conversation = conversation_from_row(&row)?;
                found.insert(conversation.id.clone(), conversation);
            }
        }
        Ok(found)
    }
}

/// At most this many ids in one `IN (...)`.
const IDS_PER_QUERY: usize = 100;
/// At most this many rows in one insert of messages (25 values each).
const MESSAGES_PER_INSERT: usize = 200;
/// At most this many conversations in one update.
const CONVERSATIONS_PER_UPDATE: usize = 300;

const MESSAGE_INSERT_COLUMNS: &str = "id, account_id, conversation_id, phone_number_id, wamid, direction, origin, type, text, \
    media_id, media_mime_type, media_file_name, media_caption, media_sha256, media_link, payload, reply_to_wamid, \
    status, status_rank, error_code, error_title, error_details, timestamp, created_at, updated_at";
const MESSAGE_INSERT_COLUMN_COUNT: usize = 25;

/// A message row to insert: its new id and conversation.
struct NewMessage<'a> {
    id: String,
    conversation_id: String,
    message: &'a MessageIn,
}

/// What an agent changes on a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationChange {
    /// Assign to this user of the account, or to nobody.
    Assign(Option<String>),
    State(ConversationState),
}

impl InboxDb {
    /// Whether `user_id` is a user of this account.
    pub async fn has_user(&self, db: &sqlx::AnyPool, user_id: &str) -> DbResult<bool> {
        if user_id.contains('\0') {
            return Ok(false);
        }
        let found = sqlx::query("SELECT COUNT(*) AS found FROM users WHERE id = $1 AND account_id = $2")
            .bind(user_id)
            .bind(&self.account_id)
            .fetch_one(db)
            .await?
            .try_get::<i64, _>("found")?;
        Ok(found > 0)
    }

    /// Make `change` and record its `conversation` event in one transaction, announced on
    /// `realtime` once committed. A change to what the conversation is already (resolving a
    /// resolved one) changes nothing and records nothing. `None` when the account has no such
    /// conversation.
    pub async fn change_conversation(
        &self,
        db: &sqlx::AnyPool,
        realtime: &realtime::Realtime,
        conversation_id: &str,
        change: &ConversationChange,
    ) -> DbResult<Option<api_types::ConversationSummary>> {
        if conversation_id.contains('\0') {
            return Ok(None);
        }
        let mut transaction = db.begin().await?;
        // The write comes first, so SQLite takes its write lock before any read.
        let updated = match change {
            ConversationChange::Assign(user_id) => {
                sqlx::query(
                    "UPDATE conversations SET assignee_user_id = $1, updated_at = $2 WHERE id = $3 AND account_id = $4 \
                     AND COALESCE(assignee_user_id, '') <> COALESCE($1, '')",
                )
                .bind(user_id)
                .bind(now_millis())
                .bind(conversation_id)
                .bind(&self.account_id)
                .execute(&mut *transaction)
                .await?
            }
            ConversationChange::State(state) => {
                sqlx::query("UPDATE conversations SET state = $1, updated_at = $2 WHERE id = $3 AND account_id = $4 AND state <> $1")
                    .bind(state.as_str())
                    .bind(now_millis())
                    .bind(conversation_id)
                    .bind(&self.account_id)
                    .execute(&mut *transaction)
                    .await?
            }
        };
        let Some(conversation) = self.conversation_summary(&mut transaction, conversation_id).await? else {
            return Ok(None);
        };
        if updated.rows_affected() == 0 {
            return Ok(Some(conversation));
        }
        let data = InboxEventData::Conversation { conversation: conversation.clone() };
        let last_id = realtime::record(&mut transaction, &self.account_id, Some(&conversation.phone_number_id), &data).await?;
        transaction.commit().await?;
        realtime.committed(&self.account_id, last_id);
        Ok(Some(conversation))
    }
}
