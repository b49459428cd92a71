-- Replies people send, what they meant, the staff attention list, and an
-- audit trail of every change to the suppression list.

ALTER TABLE messages ADD COLUMN reply_to TEXT;

CREATE TABLE inbound_messages (
    id                   TEXT PRIMARY KEY NOT NULL,
    provider             TEXT NOT NULL,
    provider_message_id  TEXT NOT NULL,
    from_number          TEXT NOT NULL,
    to_number            TEXT NOT NULL,
    body                 TEXT NOT NULL,
    intent               TEXT NOT NULL,
    received_at          TEXT NOT NULL,
    UNIQUE (provider, provider_message_id)
);

CREATE INDEX inbound_by_sender ON inbound_messages (from_number, received_at);

-- The people an inbound text may be from: none, one or several.
CREATE TABLE inbound_people (
    inbound_id  TEXT NOT NULL REFERENCES inbound_messages (id) ON DELETE CASCADE,
    person_id   TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL,
    PRIMARY KEY (inbound_id, person_id)
);

CREATE INDEX inbound_people_by_person ON inbound_people (person_id);

CREATE TABLE attention (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    person_id    TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL,
    inbound_id   TEXT,
    message_id   TEXT,
    created_at   TEXT NOT NULL,
    resolved_at  TEXT,
    resolved_by  TEXT,
    resolution   TEXT
);

-- One open item per person, kind and cause: raising it again changes nothing.
CREATE UNIQUE INDEX attention_open ON attention (person_id, kind, COALESCE(inbound_id, ''), COALESCE(message_id, ''))
    WHERE resolved_at IS NULL;
CREATE INDEX attention_by_org ON attention (org_id, resolved_at, created_at);

CREATE TABLE suppression_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    mobile    TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN ('added', 'removed')),
    source    TEXT NOT NULL,
    reason    TEXT NOT NULL,
    actor     TEXT,
    at        TEXT NOT NULL
);
