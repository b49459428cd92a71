-- The import journal: one row per CSV import, opened before its first row
-- is written and closed once its texts are planned and it is on the audit
-- trail. A row left open is an import that died part-way (a crash, a kill):
-- start-up, the sweep and the next import of the organisation plan what it
-- wrote and record it. Holds counts and ids only, never a row of the file.

CREATE TABLE import_runs (
    id            TEXT PRIMARY KEY NOT NULL,
    org_id        TEXT NOT NULL REFERENCES organisations (id),
    kind          TEXT NOT NULL CHECK (kind IN ('releases', 'appointments')),
    actor         TEXT NOT NULL CHECK (actor IN ('token', 'cli', 'system')),
    token_id      TEXT,
    rows_total    INTEGER NOT NULL,
    rows_written  INTEGER NOT NULL DEFAULT 0,
    started_at    TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL,
    finished_at   TEXT,
    CHECK ((actor = 'token') = (token_id IS NOT NULL))
);

CREATE INDEX import_runs_open ON import_runs (org_id, started_at) WHERE finished_at IS NULL;
