CREATE TABLE "plan_migration_steps" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workflow_id" text NOT NULL,
	"seq" integer NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"status" text NOT NULL,
	"attempt" integer,
	"summary" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text,
	"actor" text,
	"comment" text,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "plan_verify_reports" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"environment" text NOT NULL,
	"workflow_id" text,
	"passed" boolean NOT NULL,
	"report" jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "plan_backfill_runs" ADD COLUMN "closed_reason" text;--> statement-breakpoint
ALTER TABLE "plan_db_maintenance" ADD COLUMN "owner_workflow_id" text;--> statement-breakpoint
ALTER TABLE "plan_migration_runs" ADD COLUMN "closed_reason" text;--> statement-breakpoint
ALTER TABLE "plan_migration_runs" ADD COLUMN "refused_signals" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "plan_migration_steps" ADD CONSTRAINT "plan_migration_steps_workflow_id_plan_migration_runs_workflow_id_fk" FOREIGN KEY ("workflow_id") REFERENCES "public"."plan_migration_runs"("workflow_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "plan_migration_steps_seq_idx" ON "plan_migration_steps" USING btree ("workflow_id","seq");--> statement-breakpoint
-- Before the one-active rules: close duplicates older releases could leave (all but the newest per environment).
UPDATE "plan_backfill_runs" r SET "status" = 'failed', "finished_at" = now(), "updated_at" = now(),
  "closed_reason" = 'closed by migration 0001: another run of the environment was active'
 WHERE r."status" IN ('running', 'paused') AND EXISTS (
   SELECT 1 FROM "plan_backfill_runs" n WHERE n."environment" = r."environment" AND n."status" IN ('running', 'paused')
      AND (n."started_at", n."run_id") > (r."started_at", r."run_id"));--> statement-breakpoint
UPDATE "plan_migration_runs" r SET "status" = 'failed', "finished_at" = now(),
  "closed_reason" = 'closed by migration 0001: another migration of the environment was open'
 WHERE r."finished_at" IS NULL AND EXISTS (
   SELECT 1 FROM "plan_migration_runs" n WHERE n."environment" = r."environment" AND n."finished_at" IS NULL
      AND (n."started_at", n."workflow_id") > (r."started_at", r."workflow_id"));--> statement-breakpoint
CREATE UNIQUE INDEX "plan_backfill_runs_one_active_idx" ON "plan_backfill_runs" USING btree ("environment") WHERE status IN ('running', 'paused');--> statement-breakpoint
CREATE UNIQUE INDEX "plan_migration_runs_one_open_idx" ON "plan_migration_runs" USING btree ("environment") WHERE finished_at IS NULL;