-- Personal data sealed at rest (see src/vault): people.mobile and
-- first_name, messages.mobile and body, inbound_messages.from_number and
-- body hold sealed values ("hw1:<key id>:..."); look-ups by number go through
-- a keyed hash beside them. The suppression list and its log keep only the
-- hash. Rows written before this migration are sealed by the daemon when it
-- next starts (or by `homeward keys rotate`).

ALTER TABLE people ADD COLUMN mobile_hash text;
DROP INDEX people_by_mobile;
CREATE INDEX people_by_mobile_hash ON people (mobile_hash);

ALTER TABLE messages ADD COLUMN mobile_hash text;
DROP INDEX messages_by_mobile;
CREATE INDEX messages_by_mobile_hash ON messages (mobile_hash, send_at);

ALTER TABLE inbound_messages ADD COLUMN from_hash text;
DROP INDEX inbound_by_sender;
CREATE INDEX inbound_by_sender_hash ON inbound_messages (from_hash, received_at);

ALTER TABLE suppressions RENAME COLUMN mobile TO mobile_hash;
ALTER TABLE suppression_log RENAME COLUMN mobile TO mobile_hash;
