/**
 * lib/agent: the claw-agent link. This process joins an OpenClaw Gateway as a node over the Gateway
 * WebSocket protocol (challenge → signed connect → hello-ok), offering the agent-protocol range of
 * the native core, and serves `byterover.search` / `byterover.recall` / `byterover.curate` invokes
 * from lib/memory. See docs/readme/agent.md.
 */
export { packageVersion } from '../version.js';
export {
  AgentLink,
  RECONNECT_POLICY,
  validateGatewayUrl,
  type AgentLinkOptions,
  type AgentLinkEvents,
  type ConnectedInfo,
  type LinkState,
  type ReconnectInfo,
} from './link.js';
export { probeHandshake, type ProbeOptions, type ProbeResult, type RecordedFrame } from './probe.js';
export {
  GatewayConnection,
  probeGatewayVersion,
  type CloseInfo,
  type ConnectionOptions,
  type FrameObserver,
  type FramePhase,
  type InvokeEvent,
} from './connection.js';
export {
  loadOrCreateIdentity,
  readIdentity,
  identityPath,
  deviceIdFromPublicKey,
  rawPublicKey,
  type DeviceIdentity,
  type IdentityOptions,
} from './identity.js';
export {
  memoryCommands,
  runCommand,
  decodeParams,
  SearchParamsSchema,
  RecallParamsSchema,
  CurateParamsSchema,
  type CommandTable,
  type InvokeOutcome,
} from './commands.js';
export {
  nativeProtocolSupport,
  protocolSupport,
  testOnlyProtocolSupport,
  gatewayRangeFromDetails,
  protocolMismatch,
  type ProtocolSupport,
} from './versions.js';
export {
  AGENT_ERROR_CODES,
  agentError,
  approveCommands,
  fromGatewayError,
  isRetryable,
  type AgentErrorCode,
  type GatewayErrorShape,
} from './errors.js';
export {
  NODE_COMMANDS,
  NODE_CAPS,
  NODE_CLIENT_ID,
  buildNodeConnectParams,
  deviceAuthPayloadV3,
  parseFrame,
  platformIdentity,
  redactFrame,
  type NodeCommand,
} from './protocol.js';
