CREATE TABLE "plan_backfill_errors" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"artifact_id" bigint,
	"plan_id" text,
	"version" integer,
	"reason" text NOT NULL,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "plan_backfill_runs" (
	"run_id" text PRIMARY KEY NOT NULL,
	"environment" text NOT NULL,
	"workflow_id" text,
	"mode" text NOT NULL,
	"status" text NOT NULL,
	"options" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"cursor" bigint DEFAULT 0 NOT NULL,
	"up_to_id" bigint DEFAULT 0 NOT NULL,
	"run_limit" bigint,
	"artifacts_total" bigint DEFAULT 0 NOT NULL,
	"artifacts_read" bigint DEFAULT 0 NOT NULL,
	"versions_written" bigint DEFAULT 0 NOT NULL,
	"versions_skipped" bigint DEFAULT 0 NOT NULL,
	"versions_rejected" bigint DEFAULT 0 NOT NULL,
	"versions_conflicted" bigint DEFAULT 0 NOT NULL,
	"plans_written" bigint DEFAULT 0 NOT NULL,
	"series_written" bigint DEFAULT 0 NOT NULL,
	"kpis_written" bigint DEFAULT 0 NOT NULL,
	"events_written" bigint DEFAULT 0 NOT NULL,
	"errors_count" bigint DEFAULT 0 NOT NULL,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "plan_db_backups" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"environment" text NOT NULL,
	"location" text NOT NULL,
	"sha256" char(64),
	"bytes" bigint,
	"format" text DEFAULT 'custom' NOT NULL,
	"pg_dump_version" text,
	"server_version" text,
	"verified" boolean DEFAULT false NOT NULL,
	"workflow_id" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "plan_db_maintenance" (
	"scope" text PRIMARY KEY NOT NULL,
	"enabled" boolean NOT NULL,
	"reason" text,
	"actor" text,
	"since" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "plan_db_trim_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"environment" text NOT NULL,
	"max_rows" bigint NOT NULL,
	"rows_before" bigint NOT NULL,
	"rows_trimmed" bigint NOT NULL,
	"versions_trimmed" bigint NOT NULL,
	"dry_run" boolean NOT NULL,
	"workflow_id" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "plan_events" (
	"plan_id" text NOT NULL,
	"version" integer NOT NULL,
	"seq" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"type" text NOT NULL,
	"actor" text,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "plan_events_plan_id_version_seq_pk" PRIMARY KEY("plan_id","version","seq")
);
--> statement-breakpoint
CREATE TABLE "plan_kpis" (
	"plan_id" text NOT NULL,
	"version" integer NOT NULL,
	"name" text NOT NULL,
	"value" double precision NOT NULL,
	"unit" text,
	CONSTRAINT "plan_kpis_plan_id_version_name_pk" PRIMARY KEY("plan_id","version","name")
);
--> statement-breakpoint
CREATE TABLE "plan_migration_runs" (
	"workflow_id" text PRIMARY KEY NOT NULL,
	"environment" text NOT NULL,
	"status" text NOT NULL,
	"current_step" text,
	"evidence" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "plan_series" (
	"plan_id" text NOT NULL,
	"version" integer NOT NULL,
	"item" text NOT NULL,
	"location" text NOT NULL,
	"period" text NOT NULL,
	"metric" text NOT NULL,
	"value" double precision NOT NULL,
	CONSTRAINT "plan_series_plan_id_version_item_location_period_metric_pk" PRIMARY KEY("plan_id","version","item","location","period","metric")
);
--> statement-breakpoint
CREATE TABLE "plan_versions" (
	"plan_id" text NOT NULL,
	"version" integer NOT NULL,
	"name" text,
	"status" text,
	"run_id" text,
	"summary" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"source_artifact_id" bigint,
	"source_checksum" char(64) NOT NULL,
	"artifact_created_at" timestamp with time zone,
	"backfilled_at" timestamp with time zone DEFAULT now() NOT NULL,
	"backfill_run_id" text,
	CONSTRAINT "plan_versions_plan_id_version_pk" PRIMARY KEY("plan_id","version"),
	CONSTRAINT "plan_versions_source_artifact_id_unique" UNIQUE("source_artifact_id")
);
--> statement-breakpoint
CREATE TABLE "plans" (
	"plan_id" text PRIMARY KEY NOT NULL,
	"name" text,
	"status" text,
	"latest_version" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "plan_backfill_errors" ADD CONSTRAINT "plan_backfill_errors_run_id_plan_backfill_runs_run_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."plan_backfill_runs"("run_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plan_events" ADD CONSTRAINT "plan_events_version_fk" FOREIGN KEY ("plan_id","version") REFERENCES "public"."plan_versions"("plan_id","version") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plan_kpis" ADD CONSTRAINT "plan_kpis_version_fk" FOREIGN KEY ("plan_id","version") REFERENCES "public"."plan_versions"("plan_id","version") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plan_series" ADD CONSTRAINT "plan_series_version_fk" FOREIGN KEY ("plan_id","version") REFERENCES "public"."plan_versions"("plan_id","version") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plan_versions" ADD CONSTRAINT "plan_versions_plan_id_plans_plan_id_fk" FOREIGN KEY ("plan_id") REFERENCES "public"."plans"("plan_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "plan_backfill_errors_run_idx" ON "plan_backfill_errors" USING btree ("run_id","artifact_id");--> statement-breakpoint
CREATE INDEX "plan_backfill_runs_env_started_idx" ON "plan_backfill_runs" USING btree ("environment","started_at");