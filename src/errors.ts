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

/** What the system calls' error codes mean to a user, for the ones a path can cause. */
const OS_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
  ENOTEMPTY: 'directory not empty',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  EBUSY: 'busy (a mount point, or in use)',
  EXDEV: 'on another file system',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** "permission denied (EACCES, open)" for a failed system call, or undefined when `e` is not one. */
export function osReason(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const { code, syscall } = e as NodeJS.ErrnoException;
  if (!code || !(code in OS_ERRORS)) return undefined;
  return `${OS_ERRORS[code]} (${code}${syscall ? `, ${syscall}` : ''})`;
}

/**
 * A failed system call on a path (a file the user named, or a place pris was
 * told to write) is the user's to fix, not a bug: it becomes one line naming
 * the path and the reason. Anything else (no code, no path) is not one.
 */
export function osUserError(e: unknown): UserError | undefined {
  const reason = osReason(e);
  const { path, dest } = e as NodeJS.ErrnoException & { dest?: string };
  if (!reason || !path) return undefined;
  return new UserError(`${dest ? `${path} -> ${dest}` : path}: ${reason}`);
}
