-- The dispatcher claims the first few due texts in (send time, priority)
-- order. With priority in the index, that is a walk of the index that
-- stops after the batch, instead of a sort of every due text each round.
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (state, send_at, priority);
