-- The audit trail, and when each API token was last used.
-- An entry names what was touched by kind and id only: never a number, a
-- name or a text. Ids outlive the rows they name (no foreign keys), so an
-- erasure stays on record.

ALTER TABLE api_tokens ADD COLUMN last_used_at timestamptz;

CREATE TABLE audit_log (
    id           text COLLATE "C" PRIMARY KEY,
    org_id       text COLLATE "C" NOT NULL REFERENCES organisations (id),
    at           timestamptz NOT NULL,
    actor        text NOT NULL CHECK (actor IN ('token', 'cli', 'system')),
    token_id     text COLLATE "C",
    action       text NOT NULL,
    target_kind  text NOT NULL,
    target_id    text COLLATE "C" NOT NULL,
    person_id    text COLLATE "C",
    detail       text,
    CHECK ((actor = 'token') = (token_id IS NOT NULL))
);

CREATE INDEX audit_by_org ON audit_log (org_id, id);
CREATE INDEX audit_by_target ON audit_log (org_id, target_kind, target_id);
CREATE INDEX audit_by_person ON audit_log (org_id, person_id) WHERE person_id IS NOT NULL;
