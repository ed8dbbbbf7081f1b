/**
 * A mistake the user can fix (bad flag, malformed input line, missing file).
 * The CLI prints its message alone, without a stack trace, and exits non-zero;
 * anything else that escapes is a bug in pris and keeps its stack.
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof Error && e.name === 'UserError';
}
