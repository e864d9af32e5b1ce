/**
 * The benchmark's upstream: a minimal node:http server in its own process (so the load generator
 * and the server each get an event loop), answering every request with a small JSON body shaped
 * like ByteRover's `user/me`. Reports its port to the parent over IPC, exits when the parent does.
 */
import http from 'node:http';

const body = Buffer.from(
  JSON.stringify({
    code: 200,
    message: 'OK',
    data: { id: 'usr_bench', email: 'bench@example.com', name: 'Bench User', hasOnboardedCli: true },
  }),
);
let n = 0;
const server = http.createServer((req, res) => {
  // Drain any request body, then answer; like ByteRover, refuse a call without a session.
  req.resume();
  if (req.url?.startsWith('/api/v1/user/me') && req.headers['x-byterover-session-id'] === undefined) {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"statusCode":401,"code":"AUTH_INVALID_TOKEN","message":"missing session"}');
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': body.length,
    'x-request-id': `req-${++n}`,
  });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  process.send?.({ port: addr.port });
});
process.on('disconnect', () => process.exit(0));
