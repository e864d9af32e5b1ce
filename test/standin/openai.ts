/**
 * A stand-in OpenAI-compatible model server: the chat-completions contract OpenClaw's
 * `openai-completions` provider API speaks (POST /v1/chat/completions, GET /v1/models), so a real
 * OpenClaw gateway can run real agent turns offline.
 *
 * - Every chat request is recorded verbatim (`requests`: the parsed body, headers, time) before it is
 *   answered, so a test can read exactly what the model was sent: the system prompt, the history,
 *   the tools.
 * - Answers come from a script: `respond(req, ctx)` returns text and/or tool calls; by default the
 *   reply is the text `ok`. A tool call is `{name, arguments}` (arguments: an object, sent as JSON).
 * - `stream: true` answers as server-sent events exactly as OpenAI does: a first chunk with
 *   `delta.role`, content deltas, tool-call deltas (index, id, type, function.name, then the
 *   arguments in pieces), a final chunk with `finish_reason` (`stop` or `tool_calls`), a usage chunk
 *   when `stream_options.include_usage` is set, then `data: [DONE]`. Otherwise one JSON completion.
 * - Errors follow OpenAI's shape `{error: {message, type, code}}`: 401 without the configured bearer
 *   key, 400 for a body that is not JSON or has no `messages` array, 404 for unknown paths or models.
 * - `waitFor(n)` resolves once `n` chat requests were received (tests wait on events, not time).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatMessage {
  role: string;
  content?: unknown;
  tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  name?: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  tools?: Array<{ type: string; function: { name: string; description?: string; parameters?: unknown } }>;
  stream_options?: { include_usage?: boolean };
  [k: string]: unknown;
}

export interface RecordedRequest {
  body: ChatRequest;
  headers: Record<string, string | string[] | undefined>;
  at: number;
}

export interface ScriptedReply {
  content?: string;
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown>; id?: string }>;
}

export type Responder = (req: ChatRequest, ctx: { index: number }) => ScriptedReply | Promise<ScriptedReply>;

export interface OpenAIStandin {
  url: string;
  /** `<url>/v1`: the provider baseUrl. */
  baseUrl: string;
  apiKey: string;
  models: string[];
  requests: RecordedRequest[];
  respond: Responder;
  /** Resolves once at least `n` chat requests were received in total. */
  waitFor(n: number): Promise<void>;
  close(): Promise<void>;
}

/** The text of a chat message's content (string, or text parts). */
export function contentText(m: ChatMessage | undefined): string {
  const c = m?.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c))
    return c
      .map((p) =>
        p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string'
          ? (p as { text: string }).text
          : '',
      )
      .join('\n');
  return '';
}

/** All system/developer text of a request. */
export function systemText(req: ChatRequest): string {
  return req.messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map(contentText)
    .join('\n');
}

/** The last user message's text. */
export function lastUserText(req: ChatRequest): string {
  for (let i = req.messages.length - 1; i >= 0; i--)
    if (req.messages[i]?.role === 'user') return contentText(req.messages[i]);
  return '';
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function error(res: ServerResponse, status: number, message: string, type: string, code: string | null): void {
  sendJson(res, status, { error: { message, type, param: null, code } });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startOpenAIStandin(
  o: { apiKey?: string; models?: string[]; respond?: Responder } = {},
): Promise<OpenAIStandin> {
  const apiKey = o.apiKey ?? `standin-${Math.random().toString(36).slice(2)}`;
  const models = o.models ?? ['standin-model'];
  const requests: RecordedRequest[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let seq = 0;

  const self: OpenAIStandin = {
    url: '',
    baseUrl: '',
    apiKey,
    models,
    requests,
    respond: o.respond ?? (() => ({ content: 'ok' })),
    waitFor(n) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close: () => new Promise((r) => server.close(() => r())),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      error(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'standin' })),
      });
      return;
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      error(res, 404, `Unknown request URL: ${req.method} ${path}.`, 'invalid_request_error', 'unknown_url');
      return;
    }
    let body: ChatRequest;
    try {
      body = JSON.parse(await readBody(req)) as ChatRequest;
    } catch {
      error(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
      return;
    }
    if (!body || !Array.isArray(body.messages)) {
      error(res, 400, "Missing required parameter: 'messages'.", 'invalid_request_error', 'missing_required_parameter');
      return;
    }
    if (!models.includes(body.model)) {
      error(
        res,
        404,
        `The model \`${String(body.model)}\` does not exist.`,
        'invalid_request_error',
        'model_not_found',
      );
      return;
    }
    const index = requests.length;
    requests.push({ body, headers: req.headers, at: Date.now() });
    for (const w of waiters.splice(0)) {
      if (requests.length >= w.n) w.resolve();
      else waiters.push(w);
    }
    const reply = await self.respond(body, { index });
    const id = `chatcmpl-standin-${++seq}`;
    const created = Math.floor(Date.now() / 1000);
    const promptTokens = Math.ceil(JSON.stringify(body.messages).length / 4);
    const toolCalls = (reply.toolCalls ?? []).map((t, i) => ({
      id: t.id ?? `call_${seq}_${i}`,
      type: 'function' as const,
      function: { name: t.name, arguments: JSON.stringify(t.arguments) },
    }));
    const content = reply.content ?? (toolCalls.length ? null : '');
    const completionTokens = Math.ceil(((content ?? '') + JSON.stringify(toolCalls)).length / 4);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    };
    const finish = toolCalls.length ? 'tool_calls' : 'stop';

    if (!body.stream) {
      sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: body.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
            finish_reason: finish,
          },
        ],
        usage,
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`,
      );
    chunk({ role: 'assistant', content: '' });
    if (content) for (const piece of content.match(/[\s\S]{1,16}/g) ?? []) chunk({ content: piece });
    toolCalls.forEach((t, i) => {
      chunk({
        tool_calls: [{ index: i, id: t.id, type: 'function', function: { name: t.function.name, arguments: '' } }],
      });
      for (const piece of t.function.arguments.match(/[\s\S]{1,24}/g) ?? [])
        chunk({ tool_calls: [{ index: i, function: { arguments: piece } }] });
    });
    chunk({}, finish);
    if (body.stream_options?.include_usage)
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [], usage })}\n\n`,
      );
    res.end('data: [DONE]\n\n');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) error(res, 500, `stand-in failure: ${(e as Error).message}`, 'server_error', null);
      else res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  self.url = `http://127.0.0.1:${port}`;
  self.baseUrl = `${self.url}/v1`;
  return self;
}
