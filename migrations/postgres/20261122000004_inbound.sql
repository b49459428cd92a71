-- Replies people send, what they meant, the staff attention list, and an
-- audit trail of every change to the suppression list.

ALTER TABLE messages ADD COLUMN reply_to text;

CREATE TABLE inbound_messages (
    id                   text COLLATE "C" PRIMARY KEY,
    provider             text NOT NULL,
    provider_message_id  text NOT NULL,
    from_number          text NOT NULL,
    to_number            text NOT NULL,
    body                 text NOT NULL,
    intent               text NOT NULL,
    received_at          timestamptz NOT NULL,
    UNIQUE (provider, provider_message_id)
);

CREATE INDEX inbound_by_sender ON inbound_messages (from_number, received_at);

-- The people an inbound text may be from: none, one or several.
CREATE TABLE inbound_people (
    inbound_id  text COLLATE "C" NOT NULL REFERENCES inbound_messages (id) ON DELETE CASCADE,
    person_id   text COLLATE "C" NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    org_id      text COLLATE "C" NOT NULL,
    PRIMARY KEY (inbound_id, person_id)
);

CREATE INDEX inbound_people_by_person ON inbound_people (person_id);

CREATE TABLE attention (
    id           text COLLATE "C" PRIMARY KEY,
    org_id       text COLLATE "C" NOT NULL REFERENCES organisations (id),
    person_id    text COLLATE "C" NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    detail       text NOT NULL,
    inbound_id   text,
    message_id   text,
    created_at   timestamptz NOT NULL,
    resolved_at  timestamptz,
    resolved_by  text,
    resolution   text
);

-- One open item per person, kind and cause: raising it again changes nothing.
CREATE UNIQUE INDEX attention_open ON attention (person_id, kind, COALESCE(inbound_id, ''), COALESCE(message_id, ''))
    WHERE resolved_at IS NULL;
CREATE INDEX attention_by_org ON attention (org_id, resolved_at, created_at);

CREATE TABLE suppression_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mobile    text NOT NULL,
    action    text NOT NULL CHECK (action IN ('added', 'removed')),
    source    text NOT NULL,
    reason    text NOT NULL,
    actor     text,
    at        timestamptz NOT NULL
);
