-- The attention list is read a page at a time, by when each item was
-- raised (an organisation's runs to thousands): open items (the inbox, the
-- API's default) through their own partial index, every item (the API's
-- `all`) through the organisation's, and one person's (their story, their
-- export) through theirs. The old index put resolved_at before created_at,
-- so neither list came out of it in order.
DROP INDEX attention_by_org;
CREATE INDEX attention_by_org ON attention (org_id, created_at, id);
CREATE INDEX attention_open_by_org ON attention (org_id, created_at, id) WHERE resolved_at IS NULL;
CREATE INDEX attention_by_person ON attention (person_id, created_at, id);
