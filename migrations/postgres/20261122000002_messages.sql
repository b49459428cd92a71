-- The outbox: one row per planned text, its state history, and goals
-- people have reached (which stop the nudges that served them).

CREATE TABLE messages (
    id           text COLLATE "C" PRIMARY KEY,
    org_id       text COLLATE "C" NOT NULL REFERENCES organisations (id),
    person_id    text COLLATE "C" NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    event_id     text COLLATE "C" REFERENCES events (id) ON DELETE CASCADE,
    rule_id      text,
    dedupe_key   text NOT NULL,
    template     text NOT NULL,
    language     text NOT NULL,
    body         text NOT NULL,
    mobile       text NOT NULL,
    state        text NOT NULL,
    due_at       timestamptz NOT NULL,
    send_at      timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    -- A rule's own earlier start to the sending window, local time.
    earliest     time,
    priority     smallint NOT NULL,
    goal         text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
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
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  text COLLATE "C" NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    from_state  text,
    to_state    text NOT NULL,
    reason      text NOT NULL,
    at          timestamptz NOT NULL
);

CREATE INDEX transitions_by_message ON message_transitions (message_id, id);

CREATE TABLE outcomes (
    org_id       text COLLATE "C" NOT NULL REFERENCES organisations (id),
    person_id    text COLLATE "C" NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    goal         text NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (person_id, goal)
);
