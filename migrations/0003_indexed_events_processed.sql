-- Events indexed before processed_at existed had their follow-up run (or lost) long ago:
-- mark them processed, so the indexer does not replay their webhooks and relayer work.
UPDATE `chain_events` SET `processed_at` = (unixepoch('subsec') * 1000) WHERE `processed_at` IS NULL;
