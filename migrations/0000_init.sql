CREATE TABLE `accounts` (
	`address` text PRIMARY KEY NOT NULL,
	`webhook_secret_enc` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`account` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`account`) REFERENCES `accounts`(`address`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_account` ON `api_keys` (`account`);--> statement-breakpoint
CREATE TABLE `auth_nonces` (
	`nonce` text PRIMARY KEY NOT NULL,
	`issued_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
CREATE TABLE `bench_rows` (
	`id` text PRIMARY KEY NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `chain_providers` (
	`address` text PRIMARY KEY NOT NULL,
	`stake_wei` text DEFAULT '0' NOT NULL,
	`jobs_settled` integer DEFAULT 0 NOT NULL,
	`jobs_challenged` integer DEFAULT 0 NOT NULL,
	`jobs_slashed` integer DEFAULT 0 NOT NULL,
	`unbonding_at` integer,
	`updated_block` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`account` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`state` text NOT NULL,
	`response_status` integer,
	`response_body` text,
	`response_content_type` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`account`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_expires` ON `idempotency_keys` (`expires_at`);--> statement-breakpoint
CREATE TABLE `job_transitions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`job_id` text NOT NULL,
	`from_status` text,
	`to_status` text NOT NULL,
	`detail` text,
	`at` integer NOT NULL,
	`dispatched_at` integer
);
--> statement-breakpoint
CREATE INDEX `job_transitions_job` ON `job_transitions` (`job_id`);--> statement-breakpoint
CREATE INDEX `job_transitions_undispatched` ON `job_transitions` (`dispatched_at`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`account` text NOT NULL,
	`status` text NOT NULL,
	`status_detail` text,
	`spec` text NOT NULL,
	`output` text,
	`error` text,
	`exit_code` integer,
	`logs_tail` text DEFAULT '' NOT NULL,
	`provider` text,
	`attempt` integer DEFAULT 0 NOT NULL,
	`settlement` text DEFAULT 'none' NOT NULL,
	`webhook` text,
	`chain_job_id` text NOT NULL,
	`auth_signature` text,
	`auth_deadline` integer,
	`rate_wei_per_second` text,
	`max_amount_wei` text,
	`amount_wei` text,
	`result_signature` text,
	`webhook_events_filter` text NOT NULL,
	`created_at` integer NOT NULL,
	`assigned_at` integer,
	`started_at` integer,
	`completed_at` integer,
	FOREIGN KEY (`account`) REFERENCES `accounts`(`address`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_id` ON `jobs` (`id`);--> statement-breakpoint
CREATE INDEX `jobs_account_seq` ON `jobs` (`account`,`seq`);--> statement-breakpoint
CREATE INDEX `jobs_account_status_seq` ON `jobs` (`account`,`status`,`seq`);--> statement-breakpoint
CREATE INDEX `jobs_status` ON `jobs` (`status`);--> statement-breakpoint
CREATE INDEX `jobs_provider_status` ON `jobs` (`provider`,`status`);--> statement-breakpoint
CREATE INDEX `jobs_chain_job_id` ON `jobs` (`chain_job_id`);--> statement-breakpoint
CREATE TABLE `webhook_attempts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`delivery_id` text NOT NULL,
	`attempted_at` integer NOT NULL,
	`status_code` integer,
	`latency_ms` integer NOT NULL,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `webhook_attempts_delivery` ON `webhook_attempts` (`delivery_id`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`account` text NOT NULL,
	`endpoint_id` text,
	`url` text NOT NULL,
	`event_type` text NOT NULL,
	`job_id` text,
	`payload` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`last_attempt_at` integer,
	`next_attempt_at` integer
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_account` ON `webhook_deliveries` (`account`,`created_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_endpoint` ON `webhook_deliveries` (`endpoint_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_job` ON `webhook_deliveries` (`job_id`);--> statement-breakpoint
CREATE TABLE `webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`account` text NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`secret_enc` text NOT NULL,
	`created_at` integer NOT NULL,
	`disabled_at` integer,
	`disabled_reason` text,
	FOREIGN KEY (`account`) REFERENCES `accounts`(`address`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `webhook_endpoints_account` ON `webhook_endpoints` (`account`);