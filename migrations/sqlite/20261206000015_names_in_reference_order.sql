-- A first-name search shows the first 200 people by reference. A common
-- name is thousands of people in a large organisation; with the reference
-- in the index they are its first 200 entries, not a sort of all of them.
DROP INDEX people_by_name;
CREATE INDEX people_by_name ON people (org_id, name_hash, external_ref);
