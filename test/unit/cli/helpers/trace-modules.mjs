/**
 * `node --import <this file> …`: records every module specifier the process resolves (through a
 * module resolve hook, so ESM imports and the packages they name) and every native addon it opens
 * (process.dlopen) and CommonJS require (Module.prototype.require), one JSON line each, to the file named by $TRACE_MODULES_FILE. The lazy-loading
 * test runs the CLI with it and asserts which modules a command loads.
 *
 * This file is both the `--import` script (main thread: registers itself as the hooks module and
 * wraps dlopen) and the hooks module (the loader thread: `resolve` below).
 */
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const out = process.env.TRACE_MODULES_FILE;

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (out) appendFileSync(out, `${JSON.stringify({ kind: 'resolve', specifier, url: r.url })}\n`);
  return r;
}

if (isMainThread && out) {
  register(import.meta.url);
  const dlopen = process.dlopen;
  process.dlopen = function tracedDlopen(module, filename, ...rest) {
    appendFileSync(out, `${JSON.stringify({ kind: 'dlopen', filename })}\n`);
    return dlopen.call(this, module, filename, ...rest);
  };
  const req = Module.prototype.require;
  Module.prototype.require = function tracedRequire(id) {
    appendFileSync(out, `${JSON.stringify({ kind: 'require', specifier: id })}\n`);
    return req.call(this, id);
  };
}
