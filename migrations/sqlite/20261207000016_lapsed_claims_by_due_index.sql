-- Claims whose lease ran out are found through messages_due (state, then
-- send time): the claimed texts at any moment are a few batches, so that
-- walk is short, and in send order as the claim wants them. The separate
-- index on (state, lease_until) held every text ever sent and cost each
-- text two more index writes as it was claimed and as it went.
DROP INDEX messages_claimed;
