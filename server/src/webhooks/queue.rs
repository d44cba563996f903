//! The delivery queue: how stored webhook deliveries get processed, by every server instance
//! sharing the database.
//!
//! - Receipts are written by a group-commit writer: the deliveries that arrive while one
//!   transaction commits go together in the next, and each is acknowledged only once the
//!   transaction holding its row has committed.
//! - Workers (several per server) claim deliveries with a conditional update and a lease
//!   (`claimed_by`, `claimed_until`; on PostgreSQL the candidates are read `FOR UPDATE SKIP
//!   LOCKED`). A delivery is claimable only when no older unfinished delivery has its ordering key
//!   (its business number), so each number is processed in arrival order and numbers in
//!   parallel. A claim takes the next few deliveries of the number too, applied in one batch.
//! - A try that fails for a reason that may pass (the database busy or unreachable) is retried
//!   after the next delay of [`QueueConfig::retry_delays`]; after the last, the delivery is
//!   marked failed with the reason, and no longer holds up its number. A crashed instance's
//!   claims expire with their lease and are taken over.
//! - Workers start with the server and drain what is pending at once; a new delivery wakes them
//!   (in-process), and deliveries stored by other instances are found by a short poll.

use std::collections::HashSet;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{oneshot, Notify};

use super::store::{self, ClaimedWebhookEvent, DeliveryState, NewWebhookEvent};
use super::{Provider, StoredDelivery, WebhookInbox};
use crate::db::{new_id, now_millis};

/// How the queue runs; [`QueueConfig::default`] for a server, shorter delays in tests.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Worker tasks per server.
    pub workers: usize,
    /// The wait before each retry of a failed try; after the last, the delivery is failed.
    pub retry_delays: Vec<Duration>,
    /// How long a claim holds: past it, another instance may take the delivery over.
    pub lease: Duration,
    /// How often idle workers look for deliveries stored by other instances (and due retries).
    pub poll: Duration,
    /// At most this many deliveries of one number in one batch.
    pub batch: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            workers: 4,
            retry_delays: [1, 5, 30, 120, 600].into_iter().map(Duration::from_secs).collect(),
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(250),
            batch: 256,
        }
    }
}

/// How many of the oldest unheld deliveries one claim looks at to find a number to take.
const CANDIDATES: i64 = 64;
/// At most this many receipts in one commit.
const RECEIPTS_PER_COMMIT: usize = 512;

/// What one server's queue shares: its identity in claims, its wake-ups, its receipt writer.
pub(super) struct Queue {
    pub(super) config: QueueConfig,
    /// This instance's name in `claimed_by`.
    instance: String,
    /// New deliveries are stored: idle workers claim them.
    arrived: Notify,
    /// A batch settled: callers of `process` look again.
    settled: Notify,
    receipts: StdMutex<Receipts>,
    /// SQLite has one writer: this server's queue writes take turns here rather than inside
    /// SQLite's busy handler, which sleeps milliseconds at a time. `None` on PostgreSQL.
    sqlite_turn: Option<tokio::sync::Mutex<()>>,
    /// Workers line up here before they line up for `sqlite_turn`, one at a time: the receipt
    /// writer then waits for one worker's step at most, never for all of theirs (an
    /// acknowledgement is what Meta's sender waits for; processing can take bigger batches).
    worker_line: Option<tokio::sync::Mutex<()>>,
    postgres: bool,
}

/// A worker's turn at SQLite's one writer (both guards); nothing on PostgreSQL.
struct WorkTurn<'a> {
    _turn: Option<tokio::sync::MutexGuard<'a, ()>>,
    _line: Option<tokio::sync::MutexGuard<'a, ()>>,
}

#[derive(Default)]
struct Receipts {
    waiting: Vec<Receipt>,
    writing: bool,
}

/// A delivery waiting for the commit that stores it.
struct Receipt {
    delivery: StoredDelivery,
    stored: oneshot::Sender<Result<i64, String>>,
}

impl Queue {
    pub(super) fn new(db: &sqlx::AnyPool, config: QueueConfig) -> Queue {
        let postgres = db.connect_options().database_url.scheme().starts_with("postgres");
        Queue {
            config,
            instance: new_id(),
            arrived: Notify::new(),
            settled: Notify::new(),
            receipts: StdMutex::default(),
            sqlite_turn: (!postgres).then(tokio::sync::Mutex::default),
            worker_line: (!postgres).then(tokio::sync::Mutex::default),
            postgres,
        }
    }

    pub(super) fn instance(&self) -> &str {
        &self.instance
    }

    async fn turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.sqlite_turn {
            Some(turn) => Some(turn.lock().await),
            None => None,
        }
    }

    /// The turn for a worker's step: after the other workers, before nothing the receipt writer waits for.
    async fn work_turn(&self) -> WorkTurn<'_> {
        let line = match &self.worker_line {
            Some(line) => Some(line.lock().await),
            None => None,
        };
        WorkTurn { _turn: self.turn().await, _line: line }
    }

    fn receipts(&self) -> std::sync::MutexGuard<'_, Receipts> {
        self.receipts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The ordering key of a delivery: the business number it concerns, read without the parsers.
/// Meta: `entry[].changes[].value.metadata.phone_number_id`, else the WABA (`entry[].id`);
/// YCloud: the business number of the message or number event, else the WABA. `None` when the
/// body says neither (the delivery then gets a key of its own).
pub fn ordering_key(provider: Provider, body: &str) -> Option<String> {
    let payload: Value = serde_json::from_str(body).ok()?;
    let text = |value: Option<&Value>| match value? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    match provider {
        Provider::Meta | Provider::Sandbox => {
            let entries = payload.get("entry")?.as_array()?;
            let number = entries.iter().find_map(|entry| {
                entry.get("changes")?.as_array()?.iter().find_map(|change| {
                    text(change.get("value")?.get("metadata")?.get("phone_number_id"))
                })
            });
            match number {
                Some(number) => Some(format!("meta:number:{number}")),
                None => entries.iter().find_map(|entry| text(entry.get("id"))).map(|waba| format!("meta:waba:{waba}")),
            }
        }
        Provider::Ycloud => {
            let digits = |value: Option<&Value>| {
                let digits = api_types::validation::only_digits(&text(value)?);
                (!digits.is_empty()).then_some(digits)
            };
            let number = if let Some(message) = payload.get("whatsappInboundMessage") {
                digits(message.get("to"))
            } else if let Some(message) = payload.get("whatsappMessage") {
                digits(message.get("from"))
            } else if let Some(number) = payload.get("whatsappPhoneNumber") {
                digits(number.get("phoneNumber")).or_else(|| digits(number.get("displayPhoneNumber"))).or_else(|| text(number.get("id")))
            } else {
                None
            };
            match number {
                Some(number) => Some(format!("ycloud:number:{number}")),
                None => text(payload.get("whatsappBusinessAccount").and_then(|waba| waba.get("id")))
                    .map(|waba| format!("ycloud:waba:{waba}")),
            }
        }
    }
}

/// Store `delivery` through the group-commit writer; returns its received time once the row is committed.
pub(super) async fn store(inbox: &WebhookInbox, delivery: StoredDelivery) -> Result<i64, sqlx::Error> {
    let (stored, committed) = oneshot::channel();
    let start_writer = {
        let mut receipts = inbox.queue.receipts();
        receipts.waiting.push(Receipt { delivery, stored });
        !std::mem::replace(&mut receipts.writing, true)
    };
    if start_writer {
        // A task of its own: a request that goes away mid-commit must not cancel the others' commit.
        tokio::spawn(write_receipts(inbox.clone()));
    }
    match committed.await {
        Ok(Ok(received_at)) => Ok(received_at),
        Ok(Err(cause)) => Err(sqlx::Error::Io(std::io::Error::other(cause))),
        Err(_) => Err(sqlx::Error::Io(std::io::Error::other("the receipt writer stopped"))),
    }
}

/// Commit the waiting receipts, many per transaction, until none is left.
async fn write_receipts(inbox: WebhookInbox) {
    loop {
        let batch: Vec<Receipt> = {
            let mut receipts = inbox.queue.receipts();
            if receipts.waiting.is_empty() {
                receipts.writing = false;
                return;
            }
            let take = receipts.waiting.len().min(RECEIPTS_PER_COMMIT);
            receipts.waiting.drain(..take).collect()
        };
        let mut batch = batch;
        // Received times are given in commit order, so one server's deliveries sort as they committed.
        for receipt in &mut batch {
            receipt.delivery.received_at = inbox.clock.next();
        }
        let outcome = {
            let _turn = inbox.queue.turn().await;
            insert(&inbox, batch.iter().map(|receipt| &receipt.delivery)).await
        };
        match outcome {
            Ok(()) => {
                inbox.queue.arrived.notify_waiters();
                for receipt in batch {
                    let _ = receipt.stored.send(Ok(receipt.delivery.received_at));
                }
            }
            // One row the database refuses must not refuse the others: each on its own then.
            Err(_) if batch.len() > 1 => {
                for receipt in batch {
                    let alone = {
                        let _turn = inbox.queue.turn().await;
                        insert(&inbox, std::iter::once(&receipt.delivery)).await
                    };
                    if alone.is_ok() {
                        inbox.queue.arrived.notify_waiters();
                    }
                    let _ = receipt.stored.send(alone.map(|()| receipt.delivery.received_at).map_err(|cause| cause.to_string()));
                }
            }
            Err(cause) => {
                for receipt in batch {
                    let _ = receipt.stored.send(Err(cause.to_string()));
                }
            }
        }
    }
}

async fn insert(inbox: &WebhookInbox, deliveries: impl Iterator<Item = &StoredDelivery>) -> Result<(), sqlx::Error> {
    let rows: Vec<NewWebhookEvent<'_>> = deliveries
        .map(|delivery| NewWebhookEvent {
            id: &delivery.event_id,
            provider: delivery.provider.as_str(),
            received_at: delivery.received_at,
            body: &delivery.body,
            body_sha256: &delivery.body_sha256,
            ordering_key: &delivery.ordering_key,
        })
        .collect();
    let mut transaction = inbox.db.begin().await?;
    store::insert_webhook_events(&mut transaction, &rows).await?;
    transaction.commit().await
}

/// A batch: deliveries of one number, oldest first, claimed by this server.
type Batch = Vec<ClaimedWebhookEvent>;

/// Claim the next batch: of any number, or of `ordering_key` only.
async fn claim(inbox: &WebhookInbox, ordering_key: Option<&str>) -> Result<Option<Batch>, sqlx::Error> {
    let queue = &inbox.queue;
    let _turn = queue.work_turn().await;
    let now = now_millis();
    let until = now + i64::try_from(queue.config.lease.as_millis()).unwrap_or(i64::MAX / 2);
    let mut transaction = inbox.work_db.begin().await?;
    let candidates = store::claim_candidates(&mut transaction, now, ordering_key, CANDIDATES, queue.postgres).await?;
    let mut tried = HashSet::new();
    for candidate in &candidates {
        // The first candidate of a number is its oldest unfinished delivery, unless SKIP LOCKED
        // passed over an older one: the claim's own condition refuses it then.
        if !tried.insert(candidate.ordering_key.as_str()) {
            continue;
        }
        let Some(head) = store::claim_head(&mut transaction, candidate, &queue.instance, until, now).await? else { continue };
        let more = i64::try_from(queue.config.batch.saturating_sub(1)).unwrap_or(0);
        let mut batch = vec![head];
        if more > 0 {
            batch.extend(store::claim_followers(&mut transaction, candidate, &queue.instance, until, now, more).await?);
        }
        transaction.commit().await?;
        return Ok(Some(batch));
    }
    transaction.commit().await?;
    Ok(None)
}

/// What one delivery came to.
pub(super) type Outcome = (DeliveryState, Option<String>);

/// Apply a batch and settle each of its deliveries; never fails (problems go to the rows).
async fn run_batch(inbox: &WebhookInbox, batch: &[ClaimedWebhookEvent]) {
    let first_try = {
        let _turn = inbox.queue.work_turn().await;
        super::outcomes_of(&inbox.work_db, &inbox.realtime, batch).await
    };
    match first_try {
        Ok(outcomes) => settle(inbox, batch, &outcomes).await,
        // One at a time, in order: the delivery that fails is kept apart from the others.
        Err(_) if batch.len() > 1 => {
            for (at, delivery) in batch.iter().enumerate() {
                let alone = std::slice::from_ref(delivery);
                let outcome = {
                    let _turn = inbox.queue.work_turn().await;
                    super::outcomes_of(&inbox.work_db, &inbox.realtime, alone).await
                };
                match outcome {
                    Ok(outcomes) => settle(inbox, alone, &outcomes).await,
                    Err(cause) if super::refused_for_its_data(&cause) => refused(inbox, delivery, &cause).await,
                    Err(cause) => {
                        // The rest waits behind it, in order.
                        retry_later(inbox, &batch[at..], &cause).await;
                        break;
                    }
                }
            }
        }
        Err(cause) if super::refused_for_its_data(&cause) => refused(inbox, &batch[0], &cause).await,
        Err(cause) => retry_later(inbox, batch, &cause).await,
    }
    inbox.queue.settled.notify_waiters();
}

async fn settle(inbox: &WebhookInbox, batch: &[ClaimedWebhookEvent], outcomes: &[Outcome]) {
    let written = async {
        let _turn = inbox.queue.work_turn().await;
        let mut transaction = inbox.work_db.begin().await?;
        let settling: Vec<_> =
            batch.iter().zip(outcomes).map(|(delivery, (state, note))| (delivery.id.as_str(), *state, note.as_deref())).collect();
        let lost = store::settle_webhook_events(&mut transaction, &inbox.queue.instance, &settling).await?;
        transaction.commit().await?;
        Ok::<_, sqlx::Error>(lost)
    };
    match written.await {
        Ok(lost) if lost.is_empty() => {}
        Ok(lost) => tracing::warn!(?lost, "webhook deliveries were taken over by another instance before they settled here"),
        // Left claimed: once the lease ends they are tried again (applying is idempotent).
        Err(cause) => tracing::error!(%cause, "cannot record the webhook outcomes"),
    }
}

/// The database refused what the delivery carries: every try would fail alike.
async fn refused(inbox: &WebhookInbox, delivery: &ClaimedWebhookEvent, cause: &sqlx::Error) {
    tracing::error!(%cause, event_id = %delivery.id, "the database refused what a webhook carries");
    let reason = format!("the database refused it: {cause}");
    settle_failed(inbox, delivery, &reason).await;
}

async fn settle_failed(inbox: &WebhookInbox, delivery: &ClaimedWebhookEvent, reason: &str) {
    let written = async {
        let _turn = inbox.queue.work_turn().await;
        let mut connection = inbox.work_db.acquire().await?;
        store::settle_webhook_event(&mut connection, &delivery.id, &inbox.queue.instance, DeliveryState::Failed, Some(reason), Some(reason))
            .await
    };
    if let Err(cause) = written.await {
        tracing::error!(%cause, event_id = %delivery.id, "cannot record a failed webhook");
    }
}

/// A try failed for a reason that may pass: each delivery waits for its next delay, or fails
/// after its last try.
async fn retry_later(inbox: &WebhookInbox, batch: &[ClaimedWebhookEvent], cause: &sqlx::Error) {
    let delays = &inbox.queue.config.retry_delays;
    let error = cause.to_string();
    for delivery in batch {
        let tries = usize::try_from(delivery.attempts).unwrap_or(usize::MAX);
        match tries.checked_sub(1).and_then(|index| delays.get(index)) {
            Some(delay) => {
                tracing::warn!(%cause, event_id = %delivery.id, tries, "webhook processing failed; trying again later");
                let at = now_millis() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                let written = async {
                    let _turn = inbox.queue.work_turn().await;
                    let mut connection = inbox.work_db.acquire().await?;
                    store::retry_webhook_event_later(&mut connection, &delivery.id, &inbox.queue.instance, at, &error).await
                };
                if let Err(cause) = written.await {
                    // Left claimed: tried again once the lease ends.
                    tracing::error!(%cause, event_id = %delivery.id, "cannot schedule a webhook retry");
                }
            }
            None => {
                tracing::error!(%cause, event_id = %delivery.id, tries, "webhook processing failed on its last try");
                settle_failed(inbox, delivery, &format!("failed after {tries} tries: {error}")).await;
            }
        }
    }
}

/// Process `delivery` now, with whatever older deliveries of its number are still unfinished,
/// and return once it is settled or waiting for a retry. Another worker holding its number is
/// waited for. Never fails: problems are logged and written to the rows.
pub(super) async fn process_now(inbox: &WebhookInbox, delivery: &StoredDelivery) {
    loop {
        let settled = inbox.queue.settled.notified();
        tokio::pin!(settled);
        settled.as_mut().enable();
        match store::delivery_progress(&inbox.db, &delivery.event_id, now_millis()).await {
            Ok(Some((DeliveryState::Pending, Some(next_attempt_at)))) if next_attempt_at > now_millis() => return,
            Ok(Some((DeliveryState::Pending, _))) => {}
            Ok(_) => return,
            Err(cause) => {
                tracing::error!(%cause, event_id = %delivery.event_id, "cannot read a webhook's progress");
                return;
            }
        }
        match claim(inbox, Some(&delivery.ordering_key)).await {
            Ok(Some(batch)) => run_batch(inbox, &batch).await,
            Ok(None) => {
                // Held by another worker (of this instance or another): look again when it settles.
                let _ = tokio::time::timeout(inbox.queue.config.poll, settled).await;
            }
            Err(cause) => {
                tracing::error!(%cause, event_id = %delivery.event_id, "cannot claim a webhook");
                return;
            }
        }
    }
}

/// One worker: claim a batch, apply it, repeat; when there is nothing to claim, wait for a new
/// delivery or the next poll.
async fn work(inbox: WebhookInbox) {
    loop {
        let arrived = inbox.queue.arrived.notified();
        tokio::pin!(arrived);
        // Registered before looking, so a delivery stored while the claim runs still wakes us.
        arrived.as_mut().enable();
        match claim(&inbox, None).await {
            Ok(Some(batch)) => {
                run_batch(&inbox, &batch).await;
                continue;
            }
            Ok(None) => {}
            Err(cause) => tracing::warn!(%cause, "cannot claim webhook deliveries"),
        }
        let _ = tokio::time::timeout(inbox.queue.config.poll, arrived).await;
    }
}

/// Run this server's workers for as long as the returned future is polled (the server runs it
/// beside serving; dropping it stops them, and what they held is taken over after the lease).
pub async fn run_workers(inbox: WebhookInbox) {
    if !inbox.queue.postgres {
        // What a killed server held need not wait for its lease to end.
        match store::release_claims(&inbox.db).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "took back the webhook deliveries a stopped server held"),
            Err(cause) => tracing::warn!(%cause, "cannot take back the webhook deliveries a stopped server held"),
        }
    }
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..inbox.queue.config.workers.max(1) {
        workers.spawn(work(inbox.clone()));
    }
    while let Some(ended) = workers.join_next().await {
        if let Err(cause) = ended {
            tracing::error!(%cause, "a webhook worker stopped");
        }
    }
}

/// A queue for a new inbox (its clones share it).
pub(super) fn new_queue(db: &sqlx::AnyPool, config: QueueConfig) -> Arc<Queue> {
    Arc::new(Queue::new(db, config))
}
