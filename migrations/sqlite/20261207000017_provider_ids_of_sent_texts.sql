-- A delivery report finds its text by the provider's id for it, which only
-- a text handed to a provider has. Without statistics (a new database, or
-- one filled since they were last made) SQLite read that index by provider
-- alone, every text the provider ever sent, for each report; with the
-- index holding only texts that have an id, the provider alone cannot use
-- it, and each report is two look-ups (the id, or our reference). A text
-- being claimed no longer writes an entry either.
DROP INDEX messages_by_provider_id;
CREATE INDEX messages_by_provider_id ON messages (provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
