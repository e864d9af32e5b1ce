/**
 * lib/clawapi: registration with a claw-api (contract: docs/claw-api.yaml; user guide:
 * docs/readme/claw-api.md).
 * - `startRegistration` (what `serve` runs): register, heartbeat with jitter, re-register on 404,
 *   back off on failure, DELETE on `stop()`;
 * - `createClawApiClient`: the calls, on lib/http;
 * - `diagnoseAuthFailure`: the ordered 401/403 diagnosis (CLAW_API_UNAUTHORIZED, details.cause);
 * - `probeRegistration`: one real registration call for `doctor`.
 */
export { probeRegistration, probeNode, type ProbeOptions, type RegistrationProbe } from './probe.js';
export {
  startRegistration,
  runRegistration,
  tokenSourceFromConfig,
  type NodeDescription,
  type RegistrationHandle,
  type RegistrationStatus,
  type RegistrationState,
  type RegistrationError,
  type RunRegistrationOptions,
  type StartRegistrationOptions,
} from './registration.js';
export {
  createClawApiClient,
  isAuthRefusal,
  type ClawApiClient,
  type ClawApiClientOptions,
  type RegisterResult,
  type CallOptions,
} from './client.js';
export {
  ClawApiConfigSchema,
  CLAW_API_ENV,
  CLAW_API_SECRET_PATHS,
  registrationEnabled,
  type ClawApiConfig,
  type ClawApiConfigInput,
} from './config.js';
export {
  DIAGNOSIS_CAUSES,
  diagnoseAuthFailure,
  checkAuthorizationHeader,
  checkToken,
  parseWwwAuthenticate,
  scrubToken,
  type AuthFailureInput,
  type Challenge,
  type CheckId,
  type Diagnosis,
  type DiagnosisCause,
  type DiagnosisCheck,
  type TokenOrigin,
} from './diagnose.js';
export { ClawApiErrorCode } from './errors.js';
export { loadOrCreateNodeId, NODE_ID_FILE } from './node-id.js';
export {
  staticTokenSource,
  functionTokenSource,
  clientCredentialsTokenSource,
  tokenExpiry,
  type TokenSource,
  type ClientCredentialsTokenSource,
} from './token.js';
export {
  NODES_WRITE_SCOPE,
  NodeRegistrationSchema,
  NodeSchema,
  type Node,
  type NodeRegistration,
  type ProtectedResourceMetadata,
} from './types.js';
