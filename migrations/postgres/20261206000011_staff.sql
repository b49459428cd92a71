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
    id             text COLLATE "C" PRIMARY KEY,
    org_id         text COLLATE "C" NOT NULL REFERENCES organisations (id),
    email          text NOT NULL,
    email_hash     text COLLATE "C" NOT NULL UNIQUE,
    role           text NOT NULL CHECK (role IN ('staff', 'admin')),
    password_hash  text,
    created_at     timestamptz NOT NULL,
    disabled_at    timestamptz
);
CREATE INDEX users_by_org ON users (org_id, id);

CREATE TABLE user_sessions (
    id_hash       text COLLATE "C" PRIMARY KEY,
    user_id       text COLLATE "C" NOT NULL REFERENCES users (id),
    csrf_token    text NOT NULL,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    ended_at      timestamptz
);
CREATE INDEX user_sessions_live ON user_sessions (user_id) WHERE ended_at IS NULL;

CREATE TABLE password_links (
    token_hash  text COLLATE "C" PRIMARY KEY,
    purpose     text NOT NULL CHECK (purpose IN ('setup', 'set_password')),
    user_id     text COLLATE "C" REFERENCES users (id),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CHECK ((purpose = 'setup') = (user_id IS NULL))
);

CREATE TABLE sign_in_failures (
    key_hash  text COLLATE "C" NOT NULL,
    at        timestamptz NOT NULL
);
CREATE INDEX sign_in_failures_by_key ON sign_in_failures (key_hash, at);

ALTER TABLE audit_log ADD COLUMN user_id text COLLATE "C";
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_check;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_check
    CHECK (actor IN ('token', 'user', 'cli', 'system'));
ALTER TABLE audit_log ADD CONSTRAINT audit_log_token_check
    CHECK ((actor = 'token') = (token_id IS NOT NULL));
ALTER TABLE audit_log ADD CONSTRAINT audit_log_user_check
    CHECK ((actor = 'user') = (user_id IS NOT NULL));

ALTER TABLE import_runs ADD COLUMN user_id text COLLATE "C";
ALTER TABLE import_runs DROP CONSTRAINT import_runs_actor_check;
ALTER TABLE import_runs DROP CONSTRAINT import_runs_check;
ALTER TABLE import_runs ADD CONSTRAINT import_runs_actor_check
    CHECK (actor IN ('token', 'user', 'cli', 'system'));
ALTER TABLE import_runs ADD CONSTRAINT import_runs_token_check
    CHECK ((actor = 'token') = (token_id IS NOT NULL));
ALTER TABLE import_runs ADD CONSTRAINT import_runs_user_check
    CHECK ((actor = 'user') = (user_id IS NOT NULL));

-- Finding a person by first name without opening every sealed name: a
-- keyed hash of the name folded for search (case and accents ignored).
-- Start-up fills it for people stored before it existed.
ALTER TABLE people ADD COLUMN name_hash text COLLATE "C";
CREATE INDEX people_by_name ON people (org_id, name_hash);
