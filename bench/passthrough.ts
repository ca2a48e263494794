// P, the floor: a bare node:http proxy that forwards the request body to the stand-in with a
// keep-alive client and pipes the answer back. No sessions, no limits, no parsing, no logging.
import http from 'node:http';
import { URL } from 'node:url';

const [portArg, upstreamArg] = process.argv.slice(2);
if (upstreamArg === undefined) throw new Error('usage: passthrough <port> <upstream url>');
const upstream = new URL(upstreamArg);
const auth = `Bearer ${process.env.BENCH_PERF_KEY ?? ''}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 2048, maxFreeSockets: 2048 });

const server = http.createServer((req, res) => {
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', authorization: auth };
  if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];
  const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (answer) => {
    const out: http.OutgoingHttpHeaders = { 'content-type': answer.headers['content-type'] ?? 'application/octet-stream' };
    if (answer.headers['content-length'] !== undefined) out['content-length'] = answer.headers['content-length'];
    res.writeHead(answer.statusCode ?? 502, out);
    answer.pipe(res);
  });
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) up.destroy();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(portArg), '127.0.0.1', () => process.send?.({ type: 'ready' }));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
