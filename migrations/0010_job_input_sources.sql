CREATE TABLE `job_input_sources` (
	`job_id` text NOT NULL,
	`source_job_id` text NOT NULL,
	PRIMARY KEY(`job_id`, `source_job_id`)
);
--> statement-breakpoint
CREATE INDEX `job_input_sources_source` ON `job_input_sources` (`source_job_id`);--> statement-breakpoint
ALTER TABLE `jobs` ADD `resolved_input_files` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `inputs_ready_at` integer;