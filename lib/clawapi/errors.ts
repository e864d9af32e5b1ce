/**
 * Error codes of lib/clawapi. Every one is a ClawError whose message names what was expected and
 * what was found and whose hint is the next step; none carries the token.
 */
import { ClawError } from '../errors.js';
import type { Diagnosis } from './diagnose.js';

export const ClawApiErrorCode = {
  /** 401/403 (or 400 with a Bearer challenge), or a token refused before sending: see details.cause. */
  UNAUTHORIZED: 'CLAW_API_UNAUTHORIZED',
  /** The claw-api refused the request itself (400/409/415/422): details.status, details.problem. */
  REJECTED: 'CLAW_API_REJECTED',
  /** The claw-api answered 5xx (after the transport's retries) or a status the contract does not list. */
  UNAVAILABLE: 'CLAW_API_UNAVAILABLE',
  /** A 2xx whose body does not match docs/claw-api.yaml. */
  BAD_RESPONSE: 'CLAW_API_BAD_RESPONSE',
  /** The settings cannot work (no url, no token source, or both kinds of token source). */
  CONFIG_INVALID: 'CLAW_API_CONFIG_INVALID',
} as const;
export type ClawApiErrorCode = (typeof ClawApiErrorCode)[keyof typeof ClawApiErrorCode];

export function unauthorized(d: Diagnosis, extra: Record<string, unknown> = {}): ClawError {
  return new ClawError(ClawApiErrorCode.UNAUTHORIZED, d.message, {
    hint: d.hint,
    details: { cause: d.cause, check: d.check, evidence: d.evidence, checks: d.checks, ...extra },
  });
}

export interface ProblemSummary {
  title?: string | undefined;
  detail?: string | undefined;
  errors?: Array<{ where: string; message: string }> | undefined;
}

export function rejected(what: string, status: number, problem: ProblemSummary): ClawError {
  const fields = problem.errors?.length
    ? `; fields: ${problem.errors.map((e) => `${e.where} ${e.message}`).join('; ')}`
    : '';
  const hint =
    status === 409
      ? "the node id is registered by another OAuth client: give this bridge its own id (bridge.clawApi.nodeId) or use that client's credentials"
      : status === 422 || status === 400
        ? 'fix the listed fields (the body must match docs/claw-api.yaml)'
        : 'check that bridge.clawApi.url points at a claw-api that implements docs/claw-api.yaml';
  return new ClawError(
    ClawApiErrorCode.REJECTED,
    `claw-api refused ${what} with ${status}${problem.title ? ` ${problem.title}` : ''}${problem.detail ? `: ${problem.detail}` : ''}${fields}.`,
    { hint, details: { status, ...(problem.errors ? { errors: problem.errors } : {}) } },
  );
}

export function unavailable(what: string, status: number, requestId: string | undefined): ClawError {
  return new ClawError(
    ClawApiErrorCode.UNAVAILABLE,
    `claw-api answered ${what} with ${status}; the contract expects a 2xx or a documented error.`,
    {
      hint:
        status >= 500
          ? 'the claw-api is failing: registration retries with backoff; check the claw-api service'
          : 'check that bridge.clawApi.url points at a claw-api (docs/claw-api.yaml)',
      details: { status, ...(requestId ? { requestId } : {}) },
    },
  );
}

export function badResponse(what: string, status: number, issue: string): ClawError {
  return new ClawError(
    ClawApiErrorCode.BAD_RESPONSE,
    `claw-api answered ${what} with ${status} but its body does not match docs/claw-api.yaml: ${issue}.`,
    {
      hint: 'check that bridge.clawApi.url points at a claw-api implementing docs/claw-api.yaml (version 1)',
      details: { status },
    },
  );
}

export function configInvalid(message: string, hint: string): ClawError {
  return new ClawError(ClawApiErrorCode.CONFIG_INVALID, message, { hint });
}
