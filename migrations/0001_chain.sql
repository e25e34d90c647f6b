CREATE TABLE `chain_accounts` (
	`address` text PRIMARY KEY NOT NULL,
	`balance_wei` text DEFAULT '0' NOT NULL,
	`reserved_wei` text DEFAULT '0' NOT NULL,
	`updated_block` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `chain_blocks` (
	`number` integer PRIMARY KEY NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `chain_cursor` (
	`id` text PRIMARY KEY NOT NULL,
	`block_number` integer NOT NULL,
	`block_hash` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `chain_events` (
	`tx_hash` text NOT NULL,
	`log_index` integer NOT NULL,
	`block_number` integer NOT NULL,
	`block_hash` text NOT NULL,
	`name` text NOT NULL,
	`args` text NOT NULL,
	`chain_job_id` text,
	PRIMARY KEY(`tx_hash`, `log_index`)
);
--> statement-breakpoint
CREATE INDEX `chain_events_block` ON `chain_events` (`block_number`);--> statement-breakpoint
CREATE INDEX `chain_events_job` ON `chain_events` (`chain_job_id`);