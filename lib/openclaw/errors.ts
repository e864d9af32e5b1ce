/**
 * The OpenClaw plugin's own error codes (configuration errors use ConfigErrorCode, memory's its own).
 */
export const OpenClawErrorCode = {
  PLUGIN_STOPPED: 'OPENCLAW_PLUGIN_STOPPED',
  TEAM_REQUIRED: 'OPENCLAW_TEAM_REQUIRED',
  SPACE_REQUIRED: 'OPENCLAW_SPACE_REQUIRED',
  SYNC_UNSUPPORTED: 'OPENCLAW_SYNC_UNSUPPORTED',
  TOOL_ARGUMENT: 'OPENCLAW_TOOL_ARGUMENT',
  API_KEY_UNAVAILABLE: 'OPENCLAW_API_KEY_UNAVAILABLE',
} as const;
export type OpenClawErrorCode = (typeof OpenClawErrorCode)[keyof typeof OpenClawErrorCode];
