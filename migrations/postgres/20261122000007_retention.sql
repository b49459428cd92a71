-- What statistics need of texts whose person was erased or retired under
-- the retention policy: counts by organisation, UTC day (of the planned send
-- time), rule, template and final state. Nothing here names a person.
CREATE TABLE message_stats (
    org_id    text COLLATE "C" NOT NULL REFERENCES organisations (id),
    day       date NOT NULL,
    rule_id   text NOT NULL,
    template  text NOT NULL,
    state     text NOT NULL,
    count     bigint NOT NULL,
    PRIMARY KEY (org_id, day, rule_id, template, state)
);

-- The retention sweep looks for people by their last change.
CREATE INDEX people_by_updated ON people (updated_at);
