/** The bulk-load path's shared vocabulary (config, db/bulk-load.ts, metrics, activities). Pure. */

/** backfill.bulkLoad: auto takes the bulk path when a first load is eligible; off never does. */
export const BULK_LOAD_MODES = ['auto', 'off'] as const;
export type BulkLoadMode = (typeof BULK_LOAD_MODES)[number];

/** The stages timed by plan_backfill_bulk_stage_seconds: prepare, then finish's three builds in order. */
export const BULK_STAGES = ['prepare', 'keys', 'indexes', 'foreignKeys'] as const;
export type BulkStage = (typeof BULK_STAGES)[number];
export type BuildStage = Exclude<BulkStage, 'prepare'>;

/** maintenance_work_mem of each index build and validation (PostgreSQL's own default is 64MB). */
export const DEFAULT_MAINTENANCE_WORK_MEM = '512MB';
/** A PostgreSQL memory setting in a unit, as SET takes it: it is put into SQL text, so nothing else passes. */
export const MEMORY_SETTING_PATTERN = /^[1-9][0-9]*(kB|MB|GB)$/;
