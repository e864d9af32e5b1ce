/**
 * The after-turn heuristic: explicit "remember …" requests and recorded decisions are kept; questions,
 * chatter, credentials, heartbeat turns and turns where the agent curated by itself are not.
 */
import { describe, expect, it } from 'vitest';
import { durableNotes } from '../../../lib/openclaw/curation.js';
import type { AgentMessage } from '../../../lib/openclaw/host.js';

const user = (text: string): AgentMessage => ({ role: 'user', content: text });
const assistant = (text: string, tools: string[] = []): AgentMessage => ({
  role: 'assistant',
  content: [
    ...tools.map((name) => ({ type: 'toolCall', name, id: `call-${name}`, arguments: {} })),
    { type: 'text', text },
  ],
});

const statements = (turn: AgentMessage[], opts?: { isHeartbeat?: boolean }) =>
  durableNotes(turn, opts).map((c) => [c.kind, c.note.content]);

describe('durableNotes', () => {
  it('keeps explicit requests to remember, in their many spellings', () => {
    const turn = [
      user(
        [
          'Remember that staging uses the eu-west-1 database replica.',
          'please note: the billing cron runs at 02:00 UTC',
          '- Keep in mind the mobile app pins API version 3',
          "Don't forget to rotate the signing keys every 90 days.",
          'For future reference, the on-call rota lives in PagerDuty.',
        ].join('\n'),
      ),
      assistant('Got it.'),
    ];
    expect(statements(turn)).toEqual([
      ['remember', 'Staging uses the eu-west-1 database replica.'],
      ['remember', 'The billing cron runs at 02:00 UTC.'],
      ['remember', 'The mobile app pins API version 3.'],
      ['remember', 'Rotate the signing keys every 90 days.'],
      ['remember', 'The on-call rota lives in PagerDuty.'],
    ]);
  });

  it('finds a request in the middle of a message', () => {
    expect(statements([user('The deploy failed again today. Remember that deploys need the VPN on.')])).toEqual([
      ['remember', 'Deploys need the VPN on.'],
    ]);
  });

  it('keeps recorded decisions from the user and from the final answer', () => {
    const turn = [
      user('Decision: we use Kysely instead of an ORM.'),
      assistant('Earlier draft. Decision: not this one.', []),
      { role: 'toolResult', content: [{ type: 'text', text: 'Decision: tool output is never curated' }] },
      assistant('Summary of the change.\nWe decided to keep Redis for sessions because of TTL support.'),
    ];
    expect(statements(turn)).toEqual([
      ['decision', 'We use Kysely instead of an ORM.'],
      ['decision', 'We decided to keep Redis for sessions because of TTL support.'],
    ]);
  });

  it('gives notes a title, tags and a path under openclaw/', () => {
    const [c] = durableNotes([user('Remember that the search index is rebuilt nightly at 03:00.')]);
    expect(c?.note).toEqual({
      title: 'The search index is rebuilt nightly at 03:00',
      content: 'The search index is rebuilt nightly at 03:00.',
      tags: ['openclaw', 'remember'],
      path: 'openclaw/the-search-index-is-rebuilt-nightly-at-03-00',
    });
  });

  it('keeps nothing from ordinary turns, questions or fragments', () => {
    expect(statements([user('How do I run the migrations?'), assistant('Run `npm run migrate`.')])).toEqual([]);
    expect(statements([user('Remember when we moved to Postgres?')])).toEqual([]);
    expect(statements([user('Remember that.')])).toEqual([]);
    expect(statements([user('I noted the failure and moved on.')])).toEqual([]);
  });

  it('never keeps something that looks like a credential', () => {
    const turn = [
      user(
        [
          'Remember that the staging API key is sk-live-4f9a8b7c6d5e4f3a2b1c',
          'Remember that the webhook URL is https://hooks.example.com/x?token=abc123def456',
          'Remember that the deploy bot token is ghp_0123456789abcdefABCDEF0123456789abcd',
          'Remember that our service account uses AKIAABCDEFGHIJKLMNOP',
          'Remember that auth uses Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc',
          'Remember that the cache key prefix is svc:v2.',
        ].join('\n'),
      ),
    ];
    expect(statements(turn)).toEqual([['remember', 'The cache key prefix is svc:v2.']]);
  });

  it('yields nothing for heartbeat turns or when the agent already curated', () => {
    const turn = [user('Remember that backups are encrypted with age.')];
    expect(statements(turn, { isHeartbeat: true })).toEqual([]);
    expect(statements([...turn, assistant('Saved.', ['byterover_curate'])])).toEqual([]);
    expect(statements([...turn, assistant('Searched.', ['byterover_search'])])).toEqual([
      ['remember', 'Backups are encrypted with age.'],
    ]);
  });

  it('keeps one note per statement even when it is repeated', () => {
    expect(statements([user('Remember that logs go to Loki.'), user('remember that logs go to loki.')])).toEqual([
      ['remember', 'Logs go to Loki.'],
    ]);
  });
});
