-- The outbox: one row per planned text, its state history, and goals
-- people have reached (which stop the nudges that served them).

CREATE TABLE messages (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    person_id    TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    event_id     TEXT REFERENCES events (id) ON DELETE CASCADE,
    rule_id      TEXT,
    dedupe_key   TEXT NOT NULL,
    template     TEXT NOT NULL,
    language     TEXT NOT NULL,
    body         TEXT NOT NULL,
    mobile       TEXT NOT NULL,
    state        TEXT NOT NULL,
    due_at       TEXT NOT NULL,
    send_at      TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    earliest     TEXT,
    priority     INTEGER NOT NULL,
    goal         TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CHECK ((rule_id IS NULL) = (event_id IS NULL))
);

-- At most one live message per rule x event x occasion; a cancelled one
-- does not block planning the same occasion again.
CREATE UNIQUE INDEX messages_live_key ON messages (dedupe_key) WHERE state <> 'cancelled';
CREATE INDEX messages_due ON messages (state, send_at);
CREATE INDEX messages_by_person ON messages (person_id, send_at);
CREATE INDEX messages_by_event ON messages (event_id);
CREATE INDEX messages_by_mobile ON messages (mobile, send_at);

CREATE TABLE message_transitions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL
);

CREATE INDEX transitions_by_message ON message_transitions (message_id, id);

CREATE TABLE outcomes (
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    person_id    TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    goal         TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (person_id, goal)
);
