CREATE TABLE "plan_legacy_usage_snapshots" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"environment" text NOT NULL,
	"kind" text NOT NULL,
	"taken_at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text,
	"workflow_id" text,
	"relid" bigint,
	"stats_reset" timestamp with time zone,
	"counters" jsonb,
	"statements" jsonb,
	"statements_reset" timestamp with time zone,
	"reference_id" bigint,
	"report" jsonb
);
--> statement-breakpoint
CREATE INDEX "plan_legacy_usage_snapshots_env_idx" ON "plan_legacy_usage_snapshots" USING btree ("environment","kind","taken_at");