/**
 * Contract of the one HTTP transport (lib/http/). Every outgoing call in the project goes through an
 * `HttpClient`: ByteRover, claw-api, collectors. Implemented in lib/http/client.ts.
 */
export type HttpMethod = 'GET' | 'HEAD' | 'OPTIONS' | 'PUT' | 'DELETE' | 'POST' | 'PATCH';

export interface RetryPolicy {
  /** Total attempts including the first (AWS standard mode: 3). */
  maxAttempts: number;
  /** Full-jitter base delay in ms (AWS: 100). */
  baseMs: number;
  /** Base delay when the server throttled us (429/503 with throttling codes) (AWS: 500). */
  throttledBaseMs: number;
  /** Cap of one computed backoff wait in ms (AWS: 20 000). A larger Retry-After still wins. */
  maxWaitMs: number;
}

export interface HttpRequest {
  method: HttpMethod;
  url: string | URL;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  /** A plain object/array is sent as JSON; string/Uint8Array are sent as-is. */
  body?: unknown;
  /** Sent as application/x-www-form-urlencoded (wins over body). */
  form?: Record<string, string>;
  /**
   * Idempotency key for a non-idempotent method. `true` makes one key for this logical operation
   * (reused on every attempt); a string is used as given. Without it POST/PATCH are never retried.
   */
  idempotencyKey?: string | true;
  /** Header the key is sent in (default `Idempotency-Key`). */
  idempotencyHeader?: string;
  /** Per-attempt timeout in ms. */
  timeoutMs?: number;
  /** Overall deadline in ms across all attempts and waits. */
  deadlineMs?: number;
  /** Cancels every attempt and every wait. */
  signal?: AbortSignal;
  /** `false` disables retries for this call. */
  retry?: false | Partial<RetryPolicy>;
  /** Stable label for logs and metrics, e.g. `iam.user.me`. */
  endpoint?: string;
  /** Response body parsing: `json` (default when content-type is JSON), `text`, or `bytes`. */
  responseType?: 'json' | 'text' | 'bytes';
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Record<string, string>;
  /** Parsed body (JSON when the server sent JSON, else text or bytes per responseType). */
  body: T;
  /** The server's request id (x-request-id / x-amzn-requestid / request-id), when sent. */
  requestId: string | undefined;
  /** Attempts made (1 = no retry). */
  attempts: number;
  durationMs: number;
  /** The idempotency key sent on every attempt, when the request carried one. (Added; optional.) */
  idempotencyKey?: string;
}

/** Observer for telemetry (lib/telemetry attaches one); called once per attempt and per call. */
export interface HttpObserver {
  onAttempt?(info: {
    endpoint: string;
    method: HttpMethod;
    attempt: number;
    status: number | undefined;
    errorCode: string | undefined;
    durationMs: number;
  }): void;
  onCall?(info: {
    endpoint: string;
    method: HttpMethod;
    status: number | undefined;
    errorCode: string | undefined;
    attempts: number;
    durationMs: number;
  }): void;
}

export interface HttpClient {
  /**
   * Sends the request with the retry policy. Resolves with the final response for any HTTP status
   * (after retries are exhausted for retryable ones); rejects with a ClawError for transport
   * failures: HTTP_TIMEOUT, HTTP_DEADLINE_EXCEEDED, HTTP_RETRY_AFTER_EXCEEDS_DEADLINE,
   * HTTP_RETRY_BUDGET_EXHAUSTED (only when no response was ever received), HTTP_NETWORK, HTTP_ABORTED.
   */
  request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>>;
  /** Closes every per-origin agent. */
  close(): Promise<void>;
}

/**
 * What `createHttpClient` returns: an `HttpClient` plus diagnostics and late observer attachment
 * (telemetry can attach after the client was built). Code that only sends requests should depend
 * on `HttpClient`.
 */
export interface HttpTransport extends HttpClient {
  /** Origins that currently have a keep-alive pool. */
  readonly origins: string[];
  /** Adds an observer; returns a function that removes it. */
  addObserver(observer: HttpObserver): () => void;
}

/**
 * Options of `createHttpClient` (lib/http/client.ts). Every field is optional; the defaults are the
 * transport's documented behaviour (docs/readme/http.md).
 */
export interface HttpClientOptions {
  /** Max sockets per origin (one keep-alive undici Pool per origin). Default 50. */
  connections?: number;
  /** Idle keep-alive socket lifetime in ms (undici `keepAliveTimeout`). Default 4 000. */
  keepAliveTimeoutMs?: number;
  /** TCP/TLS connect timeout in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Default per-attempt timeout in ms (a request's `timeoutMs` wins). Default 30 000. */
  timeoutMs?: number;
  /** Default overall deadline in ms across attempts and waits (a request's `deadlineMs` wins). Default 120 000. */
  deadlineMs?: number;
  /** Default retry policy (merged over the AWS standard-mode defaults). */
  retry?: Partial<RetryPolicy>;
  /** Retry budget (token bucket). Default: the process-wide `defaultRetryBudget`. */
  budget?: import('./retry.js').RetryBudget;
  /** The pino logger to log through. Default: lib/log's `logger`. A child `{component: 'http'}` is used. */
  logger?: import('pino').Logger;
  /** Telemetry observers, called once per attempt and once per call. */
  observers?: HttpObserver[];
  /** Headers sent on every request (a request's own headers win). Default: a `user-agent`. */
  headers?: Record<string, string>;
  /** Largest response body accepted, in bytes. Default 64 MiB. */
  maxResponseBytes?: number;
  /** Characters of an error response body kept in logs (after redaction). Default 512. */
  logBodyChars?: number;
  /** Source of randomness for jitter, in [0, 1). Default Math.random. */
  random?: () => number;
  /** Extra undici Pool options (TLS `connect` options, pipelining…), applied to every origin's pool. */
  poolOptions?: import('undici').Pool.Options;
}
