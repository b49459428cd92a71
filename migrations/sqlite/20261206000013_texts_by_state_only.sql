-- An organisation's texts in every state are read as the first page of
-- each state's stretch of messages_by_org_state, merged (see the stores'
-- `list_query`). This index served that list alone, and every planned text
-- paid a write in a random place for it.
DROP INDEX messages_by_org;
