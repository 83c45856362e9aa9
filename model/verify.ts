/** Settings of the verify pass shared by config validation and db/verification.ts. Pure. */

/** Sessions that walk the artifact id range at once (one part each) when neither input nor config says. */
export const DEFAULT_VERIFY_PARALLEL = 2;
/** Each session is a database connection and a server backend busy for the whole pass. */
export const MAX_VERIFY_PARALLEL = 32;
