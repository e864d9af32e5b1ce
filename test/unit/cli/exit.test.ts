import { describe, expect, it } from 'vitest';
import { ClawError } from '../../../lib/errors.js';
import {
  ExitCode,
  EXIT_CODE_TABLE,
  exitCodeFor,
  exitCodeForErrorCode,
  exitCodeForStatus,
} from '../../../lib/cli/exit.js';

describe('exit codes', () => {
  it('documents every code once, in ascending order', () => {
    const codes = EXIT_CODE_TABLE.map((r) => r.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort((a, b) => a - b)).toEqual(codes);
    expect(Object.values(ExitCode).sort((a, b) => a - b)).toEqual(codes);
  });

  it.each([
    ['CLI_USAGE', ExitCode.USAGE],
    ['AUTH_NOT_LOGGED_IN', ExitCode.AUTH],
    ['AUTH_REAUTH_REQUIRED', ExitCode.AUTH],
    ['AUTH_API_KEY_INVALID', ExitCode.AUTH],
    ['BYTEROVER_UNAUTHORIZED', ExitCode.AUTH],
    ['AUTH_INVALID_TOKEN', ExitCode.AUTH],
    ['AUTH_API_KEY_CHECK_FAILED', ExitCode.UNAVAILABLE],
    ['AUTH_LOCK_TIMEOUT', ExitCode.FAILURE],
    ['AUTH_PROFILE_INVALID', ExitCode.USAGE],
    ['AUTH_LOGIN_CANCELLED', ExitCode.INTERRUPTED],
    ['HTTP_NETWORK', ExitCode.UNAVAILABLE],
    ['HTTP_TIMEOUT', ExitCode.UNAVAILABLE],
    ['HTTP_DEADLINE_EXCEEDED', ExitCode.UNAVAILABLE],
    ['HTTP_RETRY_AFTER_EXCEEDS_DEADLINE', ExitCode.UNAVAILABLE],
    ['HTTP_RETRY_BUDGET_EXHAUSTED', ExitCode.UNAVAILABLE],
    ['HTTP_ABORTED', ExitCode.INTERRUPTED],
    ['BYTEROVER_PUSH_CONFLICT', ExitCode.CONFLICT],
    ['COGIT_STALE_SHA', ExitCode.CONFLICT],
    ['CONFIG_INVALID', ExitCode.NOT_FOUND],
    ['BYTEROVER_CONFIG_INVALID', ExitCode.NOT_FOUND],
    ['SPACE_NOT_FOUND', ExitCode.NOT_FOUND],
    ['SOMETHING_ELSE', ExitCode.FAILURE],
  ])('%s → %i', (code, exit) => {
    expect(exitCodeForErrorCode(code)).toBe(exit);
    expect(exitCodeFor(new ClawError(code, 'm'))).toBe(exit);
  });

  it.each([
    [401, ExitCode.AUTH],
    [403, ExitCode.AUTH],
    [404, ExitCode.NOT_FOUND],
    [409, ExitCode.CONFLICT],
    [429, ExitCode.UNAVAILABLE],
    [503, ExitCode.UNAVAILABLE],
    [400, undefined],
  ])('HTTP %i → %s', (status, exit) => {
    expect(exitCodeForStatus(status)).toBe(exit);
  });

  it('falls back to the HTTP status when the code says nothing, and honours an explicit exitCode', () => {
    const e = Object.assign(new ClawError('BYTEROVER_HTTP_409', 'x'), { status: 409 });
    expect(exitCodeFor(e)).toBe(ExitCode.CONFLICT);
    expect(exitCodeFor(new ClawError('X', 'm', { details: { status: 503 } }))).toBe(ExitCode.UNAVAILABLE);
    expect(exitCodeFor(new ClawError('AUTH_NOT_LOGGED_IN', 'm', { exitCode: 6 }))).toBe(6);
    expect(exitCodeFor(new Error('plain'))).toBe(ExitCode.FAILURE);
    expect(exitCodeFor('a string')).toBe(ExitCode.FAILURE);
  });
});
