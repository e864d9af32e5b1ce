/**
 * bench/webhooks ceiling: a bare node:http server in its own process that reads the request body and
 * answers 200 with a small JSON body, doing nothing else. Reports its port over IPC; exits with the parent.
 */
import http from 'node:http';

const body = Buffer.from('{"ok":true}');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  process.send?.({ port: addr.port });
});
process.on('disconnect', () => process.exit(0));
