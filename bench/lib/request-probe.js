// @ts-check
/**
 * The per-request half of `npm run bench:check`, run by it in a child process: our HTTP/3 server
 * and client in this one process, over loopback (the native socket where there is one), 1 KiB
 * POST → 1 KiB response, strictly sequential. After 300 warm-up requests it counts, over 1,000
 * more, the native calls both ends make (every method of the addon's `Connection`,
 * `H3Connection` and `UdpSocket`, counted by wrapping their prototypes) and the datagrams both
 * sockets send, and prints them per request as one JSON line.
 *
 * Both are counts, so they come out the same on a busy machine: a timer firing during the run
 * moves them by a few hundredths. They catch what timings here cannot: a crossing added to every
 * step, or ACK-only datagrams sent on their own (see `ACK_EVERY_BYTES` in `src/connection/IoWorker.ts`).
 *
 * Plain JavaScript on the compiled library (`dist/cjs`), which `bench:check` builds first.
 */
'use strict';
const { lastValueFrom, reduce, switchMap } = require('rxjs');

const { bindQuicSocket, ConnectionParams, connect$, listen$, serveHttp3 } = require('../../dist/cjs');
const { napi } = require('../../dist/cjs/native/binding');

const WARM_UP = 300;
const MEASURED = 1000;

let counting = false;
let calls = 0;
for (const cls of [napi.Connection, napi.H3Connection, napi.UdpSocket]) {
  const proto = cls.prototype;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (name === 'constructor' || !d || typeof d.value !== 'function') continue;
    const method = d.value;
    proto[name] = function (/** @type {unknown[]} */ ...args) {
      if (counting) calls++;
      return method.apply(this, args);
    };
  }
}

/** @param {import('../../dist/cjs').QuicSocket} socket */
function datagramsSent(socket) {
  const stats = /** @type {{ stats?: () => { datagramsSent: number } }} */ (/** @type {unknown} */ (socket)).stats;
  return stats ? stats.call(socket).datagramsSent : NaN;
}

async function main() {
  const ca = napi.generateCertificate({ isCa: true, commonName: 'rxjs-quiche request-probe CA', subjectAltNames: [] });
  const leaf = napi.generateCertificate({ subjectAltNames: ['localhost', '127.0.0.1'], issuerCert: ca.cert, issuerKey: ca.key });
  const body = Buffer.alloc(1024, 0x71);
  const answer = Buffer.alloc(1024, 0x57);
  const serverSocket = await bindQuicSocket({ address: '127.0.0.1', port: 0 });
  const params = ConnectionParams.newServer({ disableClientIpValidation: true }, { certChain: leaf.cert + ca.cert, privateKey: leaf.key });
  listen$(serverSocket, params)
    .pipe(
      serveHttp3(async (request) => {
        await lastValueFrom(request.body$, { defaultValue: null });
        return { status: 200, body: answer };
      }),
    )
    .subscribe();
  const clientSocket = await bindQuicSocket({ address: '127.0.0.1', port: 0 });
  const { port } = serverSocket.localAddress;
  /** @type {import('../../dist/cjs').ClientH3Connection} */
  const connection = await new Promise((resolve, reject) => {
    connect$(clientSocket, 'localhost', { peer: { address: '127.0.0.1', port }, trust: { ca: ca.cert } }).subscribe({ next: resolve, error: reject });
  });
  const request = () =>
    lastValueFrom(
      connection.controller.request({ ':method': 'POST', ':path': '/' }, body).pipe(
        switchMap((response) => response.body$),
        reduce((n, chunk) => n + chunk.length, 0),
      ),
    );
  for (let i = 0; i < WARM_UP; i++) await request();
  const sent0 = datagramsSent(serverSocket) + datagramsSent(clientSocket);
  counting = true;
  for (let i = 0; i < MEASURED; i++) {
    const n = await request();
    if (n !== answer.length) throw new Error(`request ${i}: ${n} bytes of ${answer.length}`);
  }
  counting = false;
  const sent = datagramsSent(serverSocket) + datagramsSent(clientSocket) - sent0;
  console.log(JSON.stringify({ nativeCallsPerRequest: calls / MEASURED, datagramsPerRequest: sent / MEASURED }));
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
