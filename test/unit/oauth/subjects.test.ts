/**
 * allowedSubjects: who may sign the bridge in. A subject matches by `sub`; an e-mail address only when
 * it is verified (the ID token's `email` with `email_verified: true`, or the lookupUser hook's record):
 * an unverified `email` claim is whatever the account holder typed at the issuer, so matching it would
 * let anyone who can create an account there claim an allowed address.
 */
import { describe, expect, it } from 'vitest';
import { subjectAllowed } from '../../../lib/bridge/oauth/login.js';

describe('subjectAllowed', () => {
  const list = ['user-7', 'Boss@Example.test'];

  it('matches the subject, or a verified address case-insensitively', () => {
    expect(subjectAllowed(list, { id: 'user-7' }, undefined)).toBe(true);
    expect(subjectAllowed(list, { id: 'user-9', email: 'boss@example.test' }, 'boss@example.test')).toBe(true);
  });

  it('an unverified address in the ID token matches nothing', () => {
    expect(subjectAllowed(list, { id: 'attacker-1', email: 'boss@example.test' }, undefined)).toBe(false);
  });

  it('no user, or another subject and address: refused', () => {
    expect(subjectAllowed(list, undefined, undefined)).toBe(false);
    expect(subjectAllowed(list, { id: 'user-70' }, 'boss@example.test.evil')).toBe(false);
  });
});
