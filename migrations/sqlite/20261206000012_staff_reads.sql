-- Staff reads at scale: each list walks an index in the order it pages, so
-- a page of an organisation's people or texts costs the same whatever else
-- the database holds (a full scan and a sort before).
CREATE INDEX people_by_org ON people (org_id, id);
CREATE INDEX messages_by_org ON messages (org_id, send_at, id);
CREATE INDEX messages_by_org_state ON messages (org_id, state, send_at, id);
