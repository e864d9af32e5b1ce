/**
 * docs/claw-api.yaml itself: a valid OpenAPI 3.1 document by the specification's own JSON schema
 * (@seriousme/openapi-schema-validator), with a deliberately broken copy refused; and the client's
 * zod schemas (lib/clawapi/types.ts) agree with the document's schemas on the same examples.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { parse } from 'yaml';
import { CONTRACT_PATH, loadContract } from '../../standin/claw-api.js';
import { NodeRegistrationSchema } from '../../../lib/clawapi/types.js';

const doc = parse(readFileSync(CONTRACT_PATH, 'utf8')) as Record<string, unknown>;

describe('docs/claw-api.yaml', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const v = new Validator();
    const r = await v.validate(structuredClone(doc));
    expect(r.errors).toBeUndefined();
    expect(r.valid).toBe(true);
    expect(v.version).toBe('3.1');
  });

  it('the validator refuses a broken copy (a response without description, a bad parameter location)', async () => {
    const broken = structuredClone(doc) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; parameters?: unknown[] }>>;
    };
    const post = broken.paths['/v1/nodes']!.post!;
    post.responses['201'] = { content: {} };
    post.parameters = [{ name: 'x', in: 'body' }];
    const r = await new Validator().validate(broken);
    expect(r.valid).toBe(false);
    expect(JSON.stringify(r.errors)).toMatch(/description|in/);
  });

  it('documents the operations, the RFC 6750 refusals and the idempotency rule', () => {
    const c = loadContract();
    expect(c.operations.map((o) => `${o.method} ${o.template} ${String(o.op.operationId)}`).sort()).toEqual([
      'DELETE /v1/nodes/{id} deregisterNode',
      'GET /.well-known/oauth-protected-resource getProtectedResourceMetadata',
      'GET /v1/nodes/{id} getNode',
      'POST /v1/nodes registerNode',
      'PUT /v1/nodes/{id}/heartbeat heartbeatNode',
    ]);
    const text = readFileSync(CONTRACT_PATH, 'utf8');
    for (const s of [
      'insufficient_scope',
      'invalid_token',
      'invalid_request',
      'at+jwt',
      'RFC 8707',
      'answers 201, a repeat',
      'doctor',
    ])
      expect(text).toContain(s);
  });

  const valid = {
    id: 'cb-1',
    name: 'n',
    version: '1.2.3',
    capabilities: ['memory.search'],
    protocol: { min: 3, max: 4 },
    endpoints: [{ kind: 'skill-invoke', url: 'http://127.0.0.1:8787/skill/invoke' }],
  };
  const examples: Array<[string, unknown]> = [
    ['valid', valid],
    ['id with a slash', { ...valid, id: 'a/b' }],
    ['version not semver', { ...valid, version: 'v1' }],
    ['protocol as strings', { ...valid, protocol: { min: '3', max: 4 } }],
    ['protocol min 0', { ...valid, protocol: { min: 0, max: 4 } }],
    ['extra field', { ...valid, owner: 'x' }],
    ['missing endpoints', { ...valid, endpoints: undefined }],
    ['endpoint not http', { ...valid, endpoints: [{ kind: 'x', url: 'ftp://h/' }] }],
    ['capability uppercase', { ...valid, capabilities: ['Memory'] }],
  ];
  it.each(examples)('NodeRegistration agrees with the document: %s', (_name, example) => {
    const c = loadContract();
    const schema = (c.doc.paths as Record<string, any>)['/v1/nodes'].post.requestBody.content['application/json']
      .schema as Record<string, unknown>;
    const body = JSON.parse(JSON.stringify(example));
    expect(NodeRegistrationSchema.safeParse(body).success).toBe(c.validator(schema)(body));
  });
});
