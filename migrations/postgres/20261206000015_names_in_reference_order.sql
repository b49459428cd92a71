-- A first-name search shows its first page of people by reference. A
-- common name is thousands of people in a large organisation; with the
-- reference in the index that page is the first entries of the name's
-- stretch, not a sort of all of them.
DROP INDEX people_by_name;
CREATE INDEX people_by_name ON people (org_id, name_hash, external_ref);
