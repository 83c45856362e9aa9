import pino from 'pino';

/**
 * JSON-lines logger (pino). Level from PLANDB_LOG_LEVEL (default info). Logs go to stderr, so that what
 * a CLI command prints on stdout (JSON, Markdown) stays clean for pipes.
 */
export const logger = pino(
  {
    name: 'plandb',
    level: process.env.PLANDB_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Defence in depth: whatever a caller passes, these keys never reach the log.
    redact: { paths: ['url', 'databaseUrl', 'password', '*.url', '*.databaseUrl', '*.password'], censor: '[redacted]' },
  },
  pino.destination(2),
);

export type Logger = pino.Logger;
