/** The workflow bundle's entry: every workflow type the worker registers. */
export { preflight } from './preflight';
export { backfillRepository } from './backfill-repository';
export { environmentMigration } from './environment-migration';
export { rollback, rollbackDrill } from './rollback';
export { promotion } from './promotion';
export { capacityTrim } from './capacity-trim';
export { legacyUsage } from './legacy-usage';
