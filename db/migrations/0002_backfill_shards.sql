CREATE TABLE "plan_backfill_shards" (
	"run_id" text NOT NULL,
	"shard" integer NOT NULL,
	"after_id" bigint NOT NULL,
	"up_to_id" bigint NOT NULL,
	"cursor" bigint NOT NULL,
	"artifacts_total" bigint DEFAULT 0 NOT NULL,
	"artifacts_read" bigint DEFAULT 0 NOT NULL,
	"versions_written" bigint DEFAULT 0 NOT NULL,
	"rows_written" bigint DEFAULT 0 NOT NULL,
	"errors_count" bigint DEFAULT 0 NOT NULL,
	"batches" integer DEFAULT 0 NOT NULL,
	"done" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "plan_backfill_shards_run_id_shard_pk" PRIMARY KEY("run_id","shard")
);
--> statement-breakpoint
ALTER TABLE "plan_backfill_shards" ADD CONSTRAINT "plan_backfill_shards_run_id_plan_backfill_runs_run_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."plan_backfill_runs"("run_id") ON DELETE cascade ON UPDATE no action;