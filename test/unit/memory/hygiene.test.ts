/**
 * lib/memory/hygiene and its use by curate: the secret detector (one case per documented kind, the
 * placeholders and prose it must leave alone, redaction that keeps the context), and curate's
 * refusal/redaction, duplicate answer, visible supersede and merge, on a real context tree on disk.
 * Secret-shaped values are assembled at run time so this file holds no literal credential.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClawError, isClawError } from '../../../lib/errors.js';
import { curateNote } from '../../../lib/memory/curate.js';
import {
  checkSecrets,
  findSimilar,
  redactSecrets,
  scanSecrets,
  SECRET_KINDS,
  type SecretKind,
} from '../../../lib/memory/hygiene/index.js';
import { Outbox } from '../../../lib/memory/outbox.js';
import { defaultStateDir, loadSyncState } from '../../../lib/memory/state.js';
import { ContextTree } from '../../../lib/memory/tree.js';
import { tempProject } from './helpers.js';

const r = (s: string, n: number) => s.repeat(n);
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const JWT = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'user-42', exp: 1900000000 })}.${r('Qx9', 12)}`;

/** One realistic sentence per kind; the value after `::` is the secret the detector must find. */
const CASES: Array<[SecretKind, string, string]> = [
  [
    'private-key',
    'The deploy key:\n',
    `-----BEGIN OPENSSH PRIVATE KEY-----\n${r('b3BlbnNzaC1rZXktdjEAAAAA', 3)}\n-----END OPENSSH PRIVATE KEY-----`,
  ],
  ['aws-access-key', 'CI uses the access key ', `AKIA${r('Q7', 8)}`],
  ['github-token', 'The bot pushes with ', `ghp_${r('aB3d', 9)}`],
  ['openai-key', 'OPENAI key for the evals is ', `sk-proj-${r('Tz8q', 8)}`],
  ['anthropic-key', 'Use ', `sk-ant-api03-${r('Kp2w', 8)}`],
  ['google-api-key', 'Maps are loaded with ', `AIza${r('Sy', 17)}X`],
  ['slack-token', 'Alerts post via ', `xoxb-${r('1234', 3)}-${r('abcd', 4)}`],
  ['stripe-key', 'Billing runs with ', `sk_live_${r('4eC3', 6)}`],
  ['npm-token', 'Publishing uses ', `npm_${r('a1B2', 9)}`],
  ['jwt', 'A captured session token: ', JWT],
  ['bearer-token', 'curl -H "Authorization: Bearer ', `${r('mF_9.B5f-4.1JqM', 2)}"`],
  ['connection-string', 'The database is postgres://app:', `s3cr3t-Pa55@db.internal:5432/app`],
  ['password-assignment', 'In .env we had DB_PASSWORD=', 'Tr0ub4dor&3x'],
];

const PROSE = [
  'The password rotation policy is 90 days; users get an email a week before.',
  'Set the token in the environment (BYTEROVER_API_KEY) and never commit it.',
  'password: <your-password>',
  'DB_PASSWORD=${DB_PASSWORD} is read by the entrypoint.',
  'apiKey: process.env.BYTEROVER_API_KEY',
  'token = changeme (replace in production)',
  'The connection string is postgres://app@db.internal:5432/app, the password comes from PGPASSWORD.',
  'Skip-list nodes have a key and a pointer; the secret to speed is cache locality.',
  'We decided on JWT with a 24h expiry; refresh tokens are rotated on each use.',
  'Use a Bearer token in the Authorization header (see docs/auth.md).',
  'Ask-the-team: sk-learn is what the data folks use for clustering.',
  'The private key lives in the vault under ops/deploy; only CI reads it.',
  'https://example.com/docs/api-keys explains key scopes.',
];

describe('secret detector', () => {
  it('documents exactly the kinds it detects', () => {
    expect([...SECRET_KINDS].sort()).toEqual(CASES.map(([k]) => k).sort());
  });

  for (const [kind, before, secret] of CASES) {
    it(`finds ${kind} and redacts its value only`, () => {
      const text = `${before}${secret}\nNext line stays.`;
      const found = scanSecrets(text);
      expect(found.map((f) => f.kind)).toEqual([kind]);
      expect(found[0]).toMatchObject({ line: 1 + before.split('\n').length - 1 });
      const red = redactSecrets(text);
      expect(red.text).toContain(`[REDACTED:${kind}]`);
      expect(red.text).toContain('Next line stays.');
      // the value is gone, the context before it is kept
      const core = secret.replace(/["\n]/g, '').slice(0, 24);
      expect(red.text).not.toContain(core);
      expect(red.text.startsWith(before.split('\n')[0]!.slice(0, 10))).toBe(true);
      expect(JSON.stringify(found)).not.toContain(core);
    });
  }

  it('finds nothing in ordinary prose, placeholders and references to where a secret lives', () => {
    for (const p of PROSE) expect({ p, found: scanSecrets(p) }).toEqual({ p, found: [] });
  });

  it('refuses with MEMORY_SECRET_DETECTED naming kinds and positions, never the value', () => {
    const secret = `sk-proj-${r('Tz8q', 8)}`;
    let err: unknown;
    try {
      checkSecrets(`line one\nkey ${secret}`, 'refuse');
    } catch (e) {
      err = e;
    }
    expect(isClawError(err, 'MEMORY_SECRET_DETECTED')).toBe(true);
    const e = err as ClawError;
    expect(e.message).toContain('openai-key at line 2, column 5');
    expect(e.message).toContain('nothing was written');
    expect(e.hint).toMatch(/redact/);
    expect(JSON.stringify(e.toJSON())).not.toContain(secret.slice(8));
  });
});

async function setup() {
  const p = await tempProject(false);
  const tree = new ContextTree({ projectRoot: p.project });
  const stateDir = defaultStateDir(p.project);
  const ctx = { tree, outbox: new Outbox(stateDir), loadState: () => loadSyncState(stateDir) };
  const read = (rel: string) => readFile(join(tree.root, rel), 'utf8');
  return { ...p, tree, ctx, read };
}

describe('curate hygiene', () => {
  it('refuses a note with a secret by default and writes nothing; redacts on request', async () => {
    const s = await setup();
    const note = { title: 'Staging DB', content: 'Staging is postgres://app:hunter2-Staging@db.stage:5432/app.' };
    await expect(curateNote(s.ctx, note)).rejects.toMatchObject({ code: 'MEMORY_SECRET_DETECTED' });
    await s.tree.refresh();
    expect([...s.tree.all()]).toHaveLength(0);
    expect(await s.ctx.outbox.list()).toHaveLength(0);

    const res = await curateNote(s.ctx, note, { secrets: 'redact' });
    expect(res).toMatchObject({ status: 'written', redacted: ['connection-string'] });
    const text = await s.read(res.path!);
    expect(text).toContain('postgres://app:[REDACTED:connection-string]@db.stage:5432/app');
    expect(text).not.toContain('hunter2');
    const entry = (await s.ctx.outbox.list())[0]!;
    expect(entry.content).not.toContain('hunter2');
  });

  it('checks the title too', async () => {
    const s = await setup();
    await expect(
      curateNote(s.ctx, { title: `key ${'ghp_' + r('aB3d', 9)}`, content: 'The bot token.' }),
    ).rejects.toMatchObject({ code: 'MEMORY_SECRET_DETECTED' });
  });

  it('answers a duplicate (same content, or same subject with contained content) with the existing path', async () => {
    const s = await setup();
    const first = await curateNote(s.ctx, {
      title: 'Deploy window',
      content: 'Deploys happen Tuesday and Thursday after 14:00 UTC. Freeze on Fridays.',
    });
    expect(first.status).toBe('written');
    // same content, other title and formatting
    const same = await curateNote(s.ctx, {
      title: 'Release days',
      content: 'deploys happen tuesday and thursday   after 14:00 UTC. **Freeze on Fridays.**',
    });
    expect(same).toMatchObject({ status: 'existing', path: first.path, duplicateOf: first.path, id: first.id });
    // same subject, contained content
    const part = await curateNote(s.ctx, { title: 'deploy window!', content: 'Freeze on Fridays.' });
    expect(part).toMatchObject({ status: 'existing', duplicateOf: first.path });
    await s.tree.refresh();
    expect([...s.tree.all()]).toHaveLength(1);
    // allow: written anyway
    const allowed = await curateNote(
      s.ctx,
      { title: 'Deploy window', content: 'Freeze on Fridays.' },
      { duplicates: 'allow' },
    );
    expect(allowed.status).toBe('written');
  });

  it('a changed fact on the same subject supersedes the older note visibly; merge keeps both halves', async () => {
    const s = await setup();
    const old = await curateNote(s.ctx, { title: 'Token expiry', content: 'Access tokens expire after 24 hours.' });
    const next = await curateNote(s.ctx, { title: 'Token expiry', content: 'Access tokens expire after 1 hour.' });
    expect(next).toMatchObject({ status: 'written', supersedes: old.path });
    expect(next.path).not.toBe(old.path);
    const text = await s.read(next.path!);
    expect(text).toContain(`> Supersedes \`${old.path}\``);
    expect(text).toContain('expire after 1 hour');
    expect(text).not.toContain('24 hours');

    // the newest note is the one superseded next time
    const merged = await curateNote(
      s.ctx,
      { title: 'Token expiry', content: 'Refresh tokens rotate on each use.' },
      { duplicates: 'merge' },
    );
    expect(merged).toMatchObject({ status: 'written', supersedes: next.path });
    const m = await s.read(merged.path!);
    expect(m).toContain('expire after 1 hour');
    expect(m).toContain('Refresh tokens rotate on each use.');
    expect(m.match(/> Supersedes/g)).toHaveLength(1);
  });

  it('findSimilar ignores generic subjects', () => {
    expect(findSimilar([{ path: 'a.md', title: 'Note', body: 'one thing' }], { title: 'Note', content: 'other' })).toBe(
      undefined,
    );
  });
});
