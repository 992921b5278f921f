/**
 * hq-interop (HTTP/0.9 over QUIC, the QUIC Interop Runner's protocol): a server for a directory and
 * a client that fetches files from it, over loopback.
 *
 * Run:
 *   npx ts-node --transpile-only examples/hq-interop.ts [dir] [file ...]
 *
 * Without arguments it serves a temporary directory holding `hello.txt` and fetches it. The
 * server answers only files inside `dir` (a `..` or a symbolic link out of it is refused), read as
 * the stream has room. A throwaway CA and a certificate for `localhost` are generated.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { lastValueFrom, switchMap, take } from 'rxjs';

import { connectHq$, ConnectionParams, directoryHandler, HQ_INTEROP_ALPN, isQuicStreamError, listen$, napi, serveHq } from '../src';

function bindLoopback(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve(socket));
  });
}

async function main(): Promise<void> {
  let [dir, ...files] = process.argv.slice(2);
  if (dir === undefined) {
    dir = mkdtempSync(path.join(tmpdir(), 'hq-example-'));
    writeFileSync(path.join(dir, 'hello.txt'), 'hello over hq-interop\n');
    files = ['hello.txt'];
  }
  const ca = napi.generateCertificate({ isCa: true, commonName: 'hq-interop example CA', subjectAltNames: [] });
  const leaf = napi.generateCertificate({ subjectAltNames: ['localhost'], issuerCert: ca.cert, issuerKey: ca.key });

  const serverSocket = await bindLoopback();
  const server = listen$(serverSocket, ConnectionParams.newServer({ alpn: [HQ_INTEROP_ALPN] }, { certChain: leaf.cert + ca.cert, privateKey: leaf.key }))
    .pipe(serveHq(directoryHandler(dir)))
    .subscribe(({ driver }) => driver.event$.subscribe((e) => console.log(`server: ${e.type} on stream ${e.type === 'request' ? `${e.request.streamId} for ${e.request.path}` : e.streamId}`)));

  const clientSocket = await bindLoopback();
  try {
    const { port } = serverSocket.address();
    await lastValueFrom(
      connectHq$(clientSocket, 'localhost', { peer: { address: '127.0.0.1', port }, trust: { ca: ca.cert } }).pipe(
        switchMap(async ({ driver }) => {
          // All at once: one stream each.
          await Promise.all(
            files.map(async (f) => {
              try {
                const body = await driver.get(`/${f}`);
                console.log(`client: /${f}: ${body.length} bytes`);
              } catch (e) {
                // The server resets a stream it will not answer: HQ_NOT_FOUND (3), HQ_BAD_REQUEST (2).
                console.log(`client: /${f}: ${isQuicStreamError(e) ? `reset with code ${e.applicationCode}` : String(e)}`);
              }
            }),
          );
        }),
        take(1),
      ),
    );
  } finally {
    server.unsubscribe();
    setTimeout(() => {
      serverSocket.close();
      clientSocket.close();
    }, 50);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
