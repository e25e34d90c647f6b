DROP INDEX `jobs_chain_job_id`;--> statement-breakpoint
CREATE INDEX `jobs_settlement` ON `jobs` (`settlement`);--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_chain_job_id` ON `jobs` (`chain_job_id`);--> statement-breakpoint
ALTER TABLE `chain_events` ADD `processed_at` integer;--> statement-breakpoint
CREATE INDEX `chain_events_unprocessed` ON `chain_events` (`processed_at`,`block_number`);