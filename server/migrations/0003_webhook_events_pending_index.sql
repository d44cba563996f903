-- Webhook processing takes the oldest pending delivery first (store::oldest_pending_webhook_event).
-- Without this the query scans every stored delivery, which grows without bound. A partial index
-- (SQLite and PostgreSQL both support them) stays as small as the backlog.
CREATE INDEX webhook_events_pending ON webhook_events (received_at, id) WHERE state = 'pending';
