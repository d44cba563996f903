-- Tenant walls: every table holding an account's data carries account_id, so every query on it
-- binds the account (channels::store::TenantDb). The sync tables and registration attempts had
-- only the number's id; they take the account of the number that holds them now.
ALTER TABLE whatsapp_sync_progress ADD COLUMN account_id TEXT;
UPDATE whatsapp_sync_progress SET account_id =
    (SELECT n.account_id FROM whatsapp_numbers n WHERE n.phone_number_id = whatsapp_sync_progress.phone_number_id);
DELETE FROM whatsapp_sync_progress WHERE account_id IS NULL;
CREATE INDEX whatsapp_sync_progress_by_account ON whatsapp_sync_progress (account_id, phone_number_id);

ALTER TABLE whatsapp_sync_contacts ADD COLUMN account_id TEXT;
UPDATE whatsapp_sync_contacts SET account_id =
    (SELECT n.account_id FROM whatsapp_numbers n WHERE n.phone_number_id = whatsapp_sync_contacts.phone_number_id);
DELETE FROM whatsapp_sync_contacts WHERE account_id IS NULL;
CREATE INDEX whatsapp_sync_contacts_by_account ON whatsapp_sync_contacts (account_id, phone_number_id);

-- Attempts of numbers removed since are kept under the account that made them.
ALTER TABLE whatsapp_registration_attempts ADD COLUMN account_id TEXT;
UPDATE whatsapp_registration_attempts SET account_id =
    (SELECT n.account_id FROM whatsapp_numbers n WHERE n.phone_number_id = whatsapp_registration_attempts.phone_number_id);
UPDATE whatsapp_registration_attempts SET account_id = '' WHERE account_id IS NULL;
CREATE INDEX whatsapp_registration_attempts_by_account
    ON whatsapp_registration_attempts (account_id, phone_number_id, attempted_at);

-- A display number (its digits) is held by one account only: a webhook that names a number only
-- by its display digits can then never reach two accounts, and a second account binding the same
-- display number gets a 409. Numbers without a display number are not constrained.
ALTER TABLE whatsapp_numbers ADD COLUMN display_digits TEXT NOT NULL DEFAULT '';
UPDATE whatsapp_numbers SET display_digits =
    REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(display_phone_number, '+', ''), ' ', ''), '-', ''), '(', ''), ')', ''), '.', '');
CREATE UNIQUE INDEX whatsapp_numbers_by_display ON whatsapp_numbers (display_digits) WHERE display_digits <> '';
