-- Organisations, their API tokens, people and their events.
-- Ids are UUID text, compared byte by byte (COLLATE "C") so that listings
-- page in the same order as on SQLite whatever the database's locale.
-- Instants are timestamptz written by the application (never SQL's own
-- clock); local dates are date.

CREATE TABLE organisations (
    id          text COLLATE "C" PRIMARY KEY,
    name        text COLLATE "C" NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL
);

CREATE TABLE api_tokens (
    id          text COLLATE "C" PRIMARY KEY,
    org_id      text COLLATE "C" NOT NULL REFERENCES organisations (id),
    token_hash  text NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('staff', 'admin')),
    label       text,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE TABLE people (
    id            text COLLATE "C" PRIMARY KEY,
    org_id        text COLLATE "C" NOT NULL REFERENCES organisations (id),
    external_ref  text NOT NULL,
    first_name    text NOT NULL,
    mobile        text NOT NULL,
    language      text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (org_id, external_ref)
);

CREATE INDEX people_by_mobile ON people (mobile);

CREATE TABLE events (
    id                text COLLATE "C" PRIMARY KEY,
    org_id            text COLLATE "C" NOT NULL REFERENCES organisations (id),
    person_id         text COLLATE "C" NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    event_ref         text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('liberation', 'appointment')),
    status            text NOT NULL,
    local_date        date,
    starts_at         timestamptz,
    establishment     text,
    place             text,
    appointment_type  text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    UNIQUE (person_id, event_ref),
    CHECK ((kind = 'liberation' AND local_date IS NOT NULL)
        OR (kind = 'appointment' AND starts_at IS NOT NULL AND appointment_type IS NOT NULL))
);

CREATE INDEX events_by_org ON events (org_id, kind);
