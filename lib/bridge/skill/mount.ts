/**
 * Plugs the skill route into a bridge:
 *
 *   const opened = await openSkillActions({ projectRoot, client, space });
 *   mountSkillInvoke(bridge, { config: config.bridge.skill, actions: opened.actions, close: opened.close });
 *
 * The route uses the bridge's state store for idempotency records (`bridge.store.state.idempotency`),
 * so several bridge instances on one PostgreSQL store share them. `close` runs when the bridge closes
 * (after requests finished, before the store closes).
 */
import { logger as defaultLogger, type Logger } from '../../log/index.js';
import type { Bridge } from '../service.js';
import type { SkillActions } from './actions.js';
import type { SkillConfig } from './config.js';
import { skillInvokeRoute, type OnInvoke } from './route.js';

export interface MountSkillOptions {
  config: SkillConfig;
  actions: SkillActions;
  logger?: Logger;
  /** Per-invocation hook (telemetry): action, outcome {result, status, code}, duration in ms. */
  onInvoke?: OnInvoke;
  /** Releases what the actions hold (e.g. OpenedSkillActions.close), run when the bridge closes. */
  close?: () => Promise<void> | void;
  now?: () => number;
}

export function mountSkillInvoke(
  bridge: Pick<Bridge, 'server' | 'store'>,
  opts: MountSkillOptions,
): { path: string; keys: number } {
  const log = opts.logger ?? defaultLogger;
  bridge.server.route(
    'POST',
    opts.config.path,
    skillInvokeRoute({
      config: opts.config,
      actions: opts.actions,
      idempotency: bridge.store.state.idempotency,
      logger: log,
      ...(opts.onInvoke ? { onInvoke: opts.onInvoke } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    }),
  );
  if (opts.close) bridge.server.onClose(opts.close);
  if (opts.config.apiKeys.length === 0) {
    log.warn(
      { path: opts.config.path },
      'skill: no API key configured; the skill endpoint answers 503 until bridge.skill.apiKeys (CLAW_BYTEROVER_SKILL_API_KEYS) is set',
    );
  }
  return { path: opts.config.path, keys: opts.config.apiKeys.length };
}
