/**
 * The claw-api contract's bodies (docs/claw-api.yaml), as TypeScript types and zod schemas the client
 * checks responses with. The OpenAPI document is the source of truth; test/unit/clawapi checks that
 * these schemas accept what the document accepts for the same examples.
 */
import { z } from 'zod';

export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** The scope writing calls need (docs/claw-api.yaml). */
export const NODES_WRITE_SCOPE = 'nodes:write';

export const ProtocolRangeSchema = z.strictObject({
  min: z.number().int().min(1).max(65535),
  max: z.number().int().min(1).max(65535),
});

export const EndpointSchema = z.strictObject({
  kind: z.string().regex(/^[a-z][a-z0-9._-]{0,63}$/),
  url: z
    .string()
    .regex(/^https?:\/\//)
    .max(2048),
});

export const NodeRegistrationSchema = z.strictObject({
  id: z.string().regex(NODE_ID_PATTERN),
  name: z.string().min(1).max(200),
  version: z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/),
  capabilities: z.array(z.string().regex(/^[a-z][a-z0-9._-]{0,63}$/)).max(64),
  protocol: ProtocolRangeSchema,
  endpoints: z.array(EndpointSchema).max(32),
});
export type NodeRegistration = z.infer<typeof NodeRegistrationSchema>;

/** What the claw-api stores and returns (lenient about extra fields a newer server may add). */
export const NodeSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  capabilities: z.array(z.string()),
  protocol: z.object({ min: z.number(), max: z.number() }),
  endpoints: z.array(z.object({ kind: z.string(), url: z.string() })),
  clientId: z.string(),
  registeredAt: z.string(),
  lastHeartbeatAt: z.string(),
  expiresAt: z.string(),
  ttlSeconds: z.number(),
  heartbeatIntervalSeconds: z.number(),
});
export type Node = z.infer<typeof NodeSchema>;

export const ProtectedResourceMetadataSchema = z.looseObject({
  resource: z.string(),
  authorization_servers: z.array(z.string()),
  scopes_supported: z.array(z.string()),
  bearer_methods_supported: z.array(z.string()),
  resource_name: z.string().optional(),
});
export type ProtectedResourceMetadata = z.infer<typeof ProtectedResourceMetadataSchema>;
