/**
 * An HTTP/3 server: the counterpart of tokio-quiche's `async_http3_server` example.
 *
 * Routes:
 * - `GET /stream-bytes/<n>`: n bytes of `W` (0x57), streamed in pieces of up to 64 KiB taken
 *   from a static 1 MiB buffer and pulled only as fast as the client reads.
 * - `POST /echo`: the request body back, paced by the slower side.
 * - extended CONNECT (`:protocol`, e.g. RFC 9298 `connect-udp`): a 200 that keeps the stream open
 *   until the client ends it, echoing every HTTP/3 datagram (RFC 9297) of its flow.
 * - anything else: a file from `--root` (or 404), or a short help text at `/` without `--root`.
 *
 * Run:
 *   npx ts-node --transpile-only examples/http3-server.ts
 *   npx ts-node --transpile-only examples/http3-server.ts --address 127.0.0.1 --port 4433 --root ./public
 *   npx ts-node --transpile-only examples/http3-server.ts --cert cert.pem --key key.pem
 *
 * Without `--cert`/`--key` it makes a self-signed certificate for localhost / 127.0.0.1 / ::1 with
 * `napi.generateCertificate()` and writes it to a temporary file, which the client can trust:
 *   npx ts-node --transpile-only examples/http3-client.ts https://localhost:4433/stream-bytes/10 --ca <that file>
 *
 * `QLOGDIR=<dir>` writes a qlog per connection.
 */
import { createSocket } from 'node:dgram';
import { createReadStream, promises as fs, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

import { ignoreElements } from 'rxjs';

import { ConnectionParams, type H3Request, type H3ResponseInit, listen$, napi, serveHttp3 } from '../src';

const { values: args } = parseArgs({
  options: {
    address: { type: 'string', short: 'a', default: '127.0.0.1' },
    port: { type: 'string', short: 'p', default: '4433' },
    cert: { type: 'string' },
    key: { type: 'string' },
    root: { type: 'string' },
  },
});

/** 1 MiB of `W`, sliced (not copied) into the pieces of `/stream-bytes`. */
const W_MIB = Buffer.alloc(1024 * 1024, 0x57);
const PIECE = 64 * 1024;

/** n bytes of `W` as a generator: the driver pulls the next piece only when the stream has room. */
function* streamBytes(n: number): Generator<Uint8Array> {
  let left = n;
  while (left > 0) {
    const size = Math.min(left, PIECE);
    yield W_MIB.subarray(0, size);
    left -= size;
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
};

/** A file under `root`, streamed (a Node ReadStream is an AsyncIterable: pulled, with backpressure). */
async function serveFile(root: string, path: string): Promise<H3ResponseInit> {
  const clean = normalize(decodeURIComponent(path.split('?')[0] ?? '/')).replace(/^([/\\])+/, '');
  const file = resolve(root, clean === '' ? 'index.html' : clean);
  if (file !== resolve(root) && !file.startsWith(resolve(root) + sep)) return { status: 403 };
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return { status: 404 };
    return {
      status: 200,
      headers: { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': stat.size },
      body: createReadStream(file, { highWaterMark: PIECE }),
    };
  } catch {
    return { status: 404, body: 'not found\n' };
  }
}

async function handle(req: H3Request): Promise<H3ResponseInit> {
  const flow = req.flow;
  if (req.method === 'CONNECT' && flow !== null) {
    flow.incoming$.subscribe((datagram) => flow.send(datagram));
    // The tunnel lasts as long as the request stream: our side ends when the client's does.
    return { status: 200, headers: { 'capsule-protocol': '?1' }, body: req.body$.pipe(ignoreElements()) };
  }
  const bytes = /^\/stream-bytes\/(\d+)$/.exec(req.path);
  if (bytes && req.method === 'GET') {
    const n = Number(bytes[1]);
    return { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': n }, body: streamBytes(n) };
  }
  if (req.path === '/echo' && req.method === 'POST') {
    return { status: 200, headers: { 'content-type': req.header('content-type') ?? 'application/octet-stream' }, body: req.body$ };
  }
  if (args.root !== undefined) return serveFile(args.root, req.path);
  if (req.path === '/') {
    return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'try /stream-bytes/<n>, POST /echo, or start with --root <dir>\n' };
  }
  return { status: 404, body: 'not found\n' };
}

function tlsCert(): { certChain: string; privateKey: string } {
  if (args.cert !== undefined && args.key !== undefined) {
    return { certChain: readFileSync(args.cert, 'utf8'), privateKey: readFileSync(args.key, 'utf8') };
  }
  const generated = napi.generateCertificate({ subjectAltNames: ['localhost', '127.0.0.1', '::1'] });
  const file = join(tmpdir(), 'rxjs-quiche-http3-server.pem');
  writeFileSync(file, generated.cert);
  console.log(`self-signed certificate for localhost written to ${file} (give it to the client with --ca)`);
  return { certChain: generated.cert, privateKey: generated.key };
}

const address = args.address!;
const port = Number(args.port);
const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
socket.bind(port, address, () => {
  const params = ConnectionParams.newServer(
    { ...(process.env['QLOGDIR'] ? { qlogDir: process.env['QLOGDIR'] } : {}) },
    tlsCert(),
  );
  const subscription = listen$(socket, params)
    .pipe(
      serveHttp3(
        async (req) => {
          const response = await handle(req);
          console.log(`${req.method} ${req.path} -> ${response.status}`);
          return response;
        },
        { http3: { enableExtendedConnect: true } },
      ),
    )
    .subscribe(({ connection, controller }) => {
      const peer = `${connection.peerAddr.address}:${connection.peerAddr.port}`;
      console.log(`connection from ${peer}`);
      controller.event$.subscribe((event) => {
        if (event.type === 'connectionError') console.log(`connection from ${peer} failed: ${event.error.message}`);
        if (event.type === 'responseError') console.log(`stream ${event.streamId}: ${(event.error as Error).message}`);
      });
      void connection.result.then(() => console.log(`connection from ${peer} closed`));
    });
  console.log(`HTTP/3 on https://${address.includes(':') ? `[${address}]` : address}:${port}/`);
  // Ctrl-C: close every connection with H3_NO_ERROR, then the socket (once the closes are flushed).
  process.once('SIGINT', () => {
    subscription.unsubscribe();
    setTimeout(() => socket.close(), 50);
  });
});
