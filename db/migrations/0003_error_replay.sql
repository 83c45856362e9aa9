ALTER TABLE "plan_backfill_errors" ADD COLUMN "resolved_by_run_id" text;--> statement-breakpoint
ALTER TABLE "plan_backfill_errors" ADD COLUMN "resolved_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "plan_backfill_runs" ADD COLUMN "retry_of_run_id" text;