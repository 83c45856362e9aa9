/** Exit codes: 0 ok, 1 the operation failed, 2 bad arguments (usage printed). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

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
