/**
 * Exit codes: 0 ok, 1 the operation failed, 2 bad arguments (usage printed), 3 lost contact with
 * Temporal while following a workflow (it may still be running).
 */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_LOST_CONTACT = 3;

/** An operation failed in a way the user should read (no stack trace). */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = EXIT_FAILED,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}
