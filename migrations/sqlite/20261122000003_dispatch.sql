-- Sending: claims with leases, attempts, provider references, and the
-- suppression list that STOP replies and providers' opt-outs feed.

ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN lease_until TEXT;
ALTER TABLE messages ADD COLUMN claimed_by TEXT;
ALTER TABLE messages ADD COLUMN provider TEXT;
ALTER TABLE messages ADD COLUMN provider_message_id TEXT;
ALTER TABLE messages ADD COLUMN sent_at TEXT;

CREATE INDEX messages_by_provider_id ON messages (provider, provider_message_id);
CREATE INDEX messages_claimed ON messages (state, lease_until);

-- A number that must not be texted, across every organisation.
CREATE TABLE suppressions (
    mobile      TEXT PRIMARY KEY NOT NULL,
    source      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- A person whose number failed permanently: no texts until staff change it.
ALTER TABLE people ADD COLUMN mobile_invalid_since TEXT;
