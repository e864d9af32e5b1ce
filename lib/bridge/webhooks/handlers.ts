/**
 * What the worker does with a queued webhook: one handler per event type, looked up in a registry.
 * Delivery is at least once (a crash between a handler's effect and the ack delivers the event again),
 * so every handler must be idempotent: key its effects by `event.id`, or be naturally repeatable (a
 * memory pull is).
 *
 * Unknown types are acknowledged and logged (a sender adding event types must not fill the dead-letter
 * list). ByteRover memory events trigger a memory pull through an injected callback, coalesced so a
 * burst of events causes one pull in flight plus at most one more (the one that sees every change
 * received so far), not one per event.
 */
import type { Logger } from '../../log/index.js';
import { coalesce } from '../coalesce.js';
import type { Lease } from '../store/types.js';

export interface WebhookEvent {
  /** Dedupe key (`wh:<webhook-id>` or `sha256:<body hash>`): key idempotent effects on it. */
  id: string;
  type: string;
  /** The parsed JSON body. */
  payload: Record<string, unknown>;
  receivedAt: number;
  /** 1 on the first delivery. */
  attempt: number;
}

export interface HandlerContext {
  /** Aborted on the handler timeout or bridge shutdown. */
  signal: AbortSignal;
  log: Logger;
}

export type WebhookHandler = (event: WebhookEvent, ctx: HandlerContext) => Promise<void> | void;

export class HandlerRegistry {
  private readonly handlers = new Map<string, WebhookHandler>();
  private fallback: WebhookHandler = (event, ctx) => {
    ctx.log.info({ id: event.id, type: event.type }, 'webhook: no handler for this event type; acknowledged');
  };

  /** Registers the handler of `type` (one per type). */
  on(type: string, handler: WebhookHandler): this {
    if (this.handlers.has(type)) throw new Error(`a webhook handler for ${type} is already registered`);
    this.handlers.set(type, handler);
    return this;
  }

  /** Replaces what happens to types without a handler (default: log and acknowledge). */
  otherwise(handler: WebhookHandler): this {
    this.fallback = handler;
    return this;
  }

  has(type: string): boolean {
    return this.handlers.has(type);
  }

  resolve(type: string): WebhookHandler {
    return this.handlers.get(type) ?? this.fallback;
  }

  /** The worker's job handler: parses the stored body and runs the type's handler. */
  dispatcher(log: Logger): (lease: Lease, signal: AbortSignal) => Promise<void> {
    return async (lease, signal) => {
      const payload = JSON.parse(lease.payload) as Record<string, unknown>;
      const event: WebhookEvent = {
        id: lease.id,
        type: lease.type,
        payload,
        receivedAt: lease.receivedAt,
        attempt: lease.attempt,
      };
      await this.resolve(lease.type)(event, { signal, log });
    };
  }
}

/** ByteRover events that change the remote context tree: each asks for a memory pull. */
export const BYTEROVER_MEMORY_EVENTS = ['memory.created', 'memory.updated', 'memory.deleted'] as const;

export { coalesce } from '../coalesce.js';

export interface MemoryEventsOptions {
  /**
   * Pulls the remote memory into the local tree (lib/memory sync); must be safe to repeat. Absent when
   * pulls are off: each memory event is then acknowledged with a log line saying why (`description`).
   */
  pullMemory?: (reason: { eventId: string; type: string }) => Promise<void>;
  /** What the memory events do in this configuration (logged when pulls are off). */
  description: string;
  logger: Logger;
}

/**
 * The one wiring of ByteRover's memory events: with a pull, each event triggers a (coalesced) pull;
 * without, each is acknowledged and logged with the reason. Used by the bridge's composition
 * (compose.ts); returns the registry.
 */
export function wireMemoryEvents(registry: HandlerRegistry, o: MemoryEventsOptions): HandlerRegistry {
  const pullMemory = o.pullMemory;
  if (!pullMemory) {
    for (const type of BYTEROVER_MEMORY_EVENTS) {
      registry.on(type, (event) => {
        o.logger.info(
          { id: event.id, type },
          `webhook: memory pull is not configured, event acknowledged without a pull: ${o.description}`,
        );
      });
    }
    return registry;
  }
  let last = { eventId: '', type: '' };
  const pull = coalesce(() => pullMemory(last));
  for (const type of BYTEROVER_MEMORY_EVENTS) {
    registry.on(type, async (event, ctx) => {
      last = { eventId: event.id, type: event.type };
      await pull();
      ctx.log.debug({ id: event.id, type }, 'webhook: memory pulled');
    });
  }
  return registry;
}
