CREATE TABLE `job_labels` (
	`job_id` text NOT NULL,
	`account` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	`seq` integer NOT NULL,
	PRIMARY KEY(`job_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `job_labels_account_key_value_seq` ON `job_labels` (`account`,`key`,`value`,`seq`);--> statement-breakpoint
ALTER TABLE `jobs` ADD `labels` text;