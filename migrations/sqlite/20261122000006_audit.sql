-- The audit trail, and when each API token was last used.
-- An entry names what was touched by kind and id only: never a number, a
-- name or a text. Ids outlive the rows they name (no foreign keys), so an
-- erasure stays on record.

ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;

CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL CHECK (actor IN ('token', 'cli', 'system')),
    token_id     TEXT,
    action       TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    person_id    TEXT,
    detail       TEXT,
    CHECK ((actor = 'token') = (token_id IS NOT NULL))
);

CREATE INDEX audit_by_org ON audit_log (org_id, id);
CREATE INDEX audit_by_target ON audit_log (org_id, target_kind, target_id);
CREATE INDEX audit_by_person ON audit_log (org_id, person_id) WHERE person_id IS NOT NULL;
