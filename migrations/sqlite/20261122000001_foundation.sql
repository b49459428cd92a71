-- Organisations, their API tokens, people and their events.
-- Ids are UUID text; instants are UTC RFC 3339 text written by the
-- application (never SQL's own clock); local dates are YYYY-MM-DD.

CREATE TABLE organisations (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    token_hash  TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('staff', 'admin')),
    label       TEXT,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE people (
    id            TEXT PRIMARY KEY NOT NULL,
    org_id        TEXT NOT NULL REFERENCES organisations (id),
    external_ref  TEXT NOT NULL,
    first_name    TEXT NOT NULL,
    mobile        TEXT NOT NULL,
    language      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (org_id, external_ref)
);

CREATE INDEX people_by_mobile ON people (mobile);

CREATE TABLE events (
    id                TEXT PRIMARY KEY NOT NULL,
    org_id            TEXT NOT NULL REFERENCES organisations (id),
    person_id         TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    event_ref         TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('liberation', 'appointment')),
    status            TEXT NOT NULL,
    local_date        TEXT,
    starts_at         TEXT,
    establishment     TEXT,
    place             TEXT,
    appointment_type  TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (person_id, event_ref),
    CHECK ((kind = 'liberation' AND local_date IS NOT NULL)
        OR (kind = 'appointment' AND starts_at IS NOT NULL AND appointment_type IS NOT NULL))
);

CREATE INDEX events_by_org ON events (org_id, kind);
