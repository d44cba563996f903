-- Why WhatsApp disconnected a number (PARTNER_REMOVED's disconnection_info.reason, such as
-- PRIMARY_INACTIVITY, or the offboarding event itself), shown beside a DISCONNECTED status.
ALTER TABLE whatsapp_numbers ADD COLUMN disconnect_reason TEXT;
