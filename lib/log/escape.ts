/**
 * One value, one line: control characters and terminal escape sequences from the host or the
 * network must not split a log line or reach a terminal (issue 13). `oneLine` shows them as escapes:
 * \n, \r, \t, \x1b (C0 and DEL as \xNN), C1 controls, U+2028/U+2029 and lone surrogates as \uNNNN.
 * Everything else, backslashes included, is kept as it is. Linear in the input.
 */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function escapeOne(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  const code = c.charCodeAt(0);
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

export function oneLine(value: string): string {
  return value.replace(UNSAFE, escapeOne);
}

/** Deep copy of a plain value (objects, arrays) with every string passed through oneLine. */
export function oneLineDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return oneLine(value) as unknown as T;
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => oneLineDeep(v, depth + 1)) as unknown as T;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value; // Errors, Dates, Buffers: their serializers
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[oneLine(k)] = oneLineDeep(v, depth + 1);
  return out as T;
}
