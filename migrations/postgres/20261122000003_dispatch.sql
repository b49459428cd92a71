-- Sending: claims with leases, attempts, provider references, and the
-- suppression list that STOP replies and providers' opt-outs feed.

ALTER TABLE messages
    ADD COLUMN attempts             integer NOT NULL DEFAULT 0,
    ADD COLUMN lease_until          timestamptz,
    ADD COLUMN claimed_by           text,
    ADD COLUMN provider             text,
    ADD COLUMN provider_message_id  text,
    ADD COLUMN sent_at              timestamptz;

CREATE INDEX messages_by_provider_id ON messages (provider, provider_message_id);
CREATE INDEX messages_claimed ON messages (state, lease_until);

-- A number that must not be texted, across every organisation.
CREATE TABLE suppressions (
    mobile      text PRIMARY KEY,
    source      text NOT NULL,
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL
);

-- A person whose number failed permanently: no texts until staff change it.
ALTER TABLE people ADD COLUMN mobile_invalid_since timestamptz;
