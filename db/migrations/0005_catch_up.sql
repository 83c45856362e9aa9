ALTER TABLE "plan_backfill_runs" ADD COLUMN "catch_up_pass" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "plan_backfill_runs" ADD COLUMN "catch_up" jsonb DEFAULT '{"passes": [], "ended": null}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "plan_backfill_shards" ADD COLUMN "pass" integer DEFAULT 0 NOT NULL;