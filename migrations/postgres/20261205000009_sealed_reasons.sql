-- Words typed by staff are sealed like every other personal field (see
-- src/vault, Field::Note): an opt-out's reason and the reasons in its log,
-- an attention item's resolution note, and a cancellation's reason. A
-- cancellation's reason moves to its own column, `note`, beside the clear
-- reason every other transition keeps. Values stored in clear before this
-- migration are sealed by the daemon when it next starts (or by
-- `homeward keys rotate`); until then they read as they are.

ALTER TABLE message_transitions ADD COLUMN note text;

UPDATE message_transitions SET note = reason, reason = 'cancelled'
    WHERE to_state = 'cancelled' AND reason LIKE 'cancelled by staff%';

-- Erasing a person blanks the reasons logged against their numbers.
CREATE INDEX suppression_log_by_hash ON suppression_log (mobile_hash);
