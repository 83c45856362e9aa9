/** The workflow bundle's entry: every workflow type the worker registers. */
export { preflight } from './preflight';
export { backfillRepository } from './backfill-repository';
