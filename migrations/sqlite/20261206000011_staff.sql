-- Staff accounts for the web pages, their sessions, one-time links to set
-- a password, and failed sign-ins; and a user as an actor in the audit
-- trail and the import journal.
--
-- An email is personal data: sealed, and found by a keyed hash
-- (email_hash) as mobiles are. Passwords are Argon2id PHC strings. Session
-- ids and link tokens are kept as SHA-256 hashes, so a copy of the database
-- signs no one in. A failed sign-in keeps only keyed hashes of the email
-- typed and of the address it came from.

CREATE TABLE users (
    id             TEXT PRIMARY KEY NOT NULL,
    org_id         TEXT NOT NULL REFERENCES organisations (id),
    email          TEXT NOT NULL,
    email_hash     TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL CHECK (role IN ('staff', 'admin')),
    password_hash  TEXT,
    created_at     TEXT NOT NULL,
    disabled_at    TEXT
);
CREATE INDEX users_by_org ON users (org_id, id);

CREATE TABLE user_sessions (
    id_hash       TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id),
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    ended_at      TEXT
);
CREATE INDEX user_sessions_live ON user_sessions (user_id) WHERE ended_at IS NULL;

CREATE TABLE password_links (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    purpose     TEXT NOT NULL CHECK (purpose IN ('setup', 'set_password')),
    user_id     TEXT REFERENCES users (id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    CHECK ((purpose = 'setup') = (user_id IS NULL))
);

CREATE TABLE sign_in_failures (
    key_hash  TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX sign_in_failures_by_key ON sign_in_failures (key_hash, at);

-- SQLite cannot change a CHECK in place: each table is copied into one
-- that also allows a user as the actor.
CREATE TABLE audit_log_new (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL CHECK (actor IN ('token', 'user', 'cli', 'system')),
    token_id     TEXT,
    user_id      TEXT,
    action       TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    person_id    TEXT,
    detail       TEXT,
    CHECK ((actor = 'token') = (token_id IS NOT NULL)),
    CHECK ((actor = 'user') = (user_id IS NOT NULL))
);
INSERT INTO audit_log_new (id, org_id, at, actor, token_id, action, target_kind, target_id, person_id, detail)
    SELECT id, org_id, at, actor, token_id, action, target_kind, target_id, person_id, detail FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_by_org ON audit_log (org_id, id);
CREATE INDEX audit_by_target ON audit_log (org_id, target_kind, target_id);
CREATE INDEX audit_by_person ON audit_log (org_id, person_id) WHERE person_id IS NOT NULL;

CREATE TABLE import_runs_new (
    id            TEXT PRIMARY KEY NOT NULL,
    org_id        TEXT NOT NULL REFERENCES organisations (id),
    kind          TEXT NOT NULL CHECK (kind IN ('releases', 'appointments')),
    actor         TEXT NOT NULL CHECK (actor IN ('token', 'user', 'cli', 'system')),
    token_id      TEXT,
    user_id       TEXT,
    rows_total    INTEGER NOT NULL,
    rows_written  INTEGER NOT NULL DEFAULT 0,
    started_at    TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL,
    finished_at   TEXT,
    CHECK ((actor = 'token') = (token_id IS NOT NULL)),
    CHECK ((actor = 'user') = (user_id IS NOT NULL))
);
INSERT INTO import_runs_new (id, org_id, kind, actor, token_id, rows_total, rows_written, started_at, heartbeat_at, finished_at)
    SELECT id, org_id, kind, actor, token_id, rows_total, rows_written, started_at, heartbeat_at, finished_at FROM import_runs;
DROP TABLE import_runs;
ALTER TABLE import_runs_new RENAME TO import_runs;
CREATE INDEX import_runs_open ON import_runs (org_id, started_at) WHERE finished_at IS NULL;

-- Finding a person by first name without opening every sealed name: a
-- keyed hash of the name folded for search (case and accents ignored).
-- Start-up fills it for people stored before it existed.
ALTER TABLE people ADD COLUMN name_hash TEXT;
CREATE INDEX people_by_name ON people (org_id, name_hash);
