// @ts-check
/**
 * Our HTTP/3 server and client in one process, for the probes `bench:check` runs
 * (`gc-probe.js`, `request-probe.js`): over loopback on the native socket (node:dgram where it is
 * not available), with a freshly generated CA and leaf certificate; the server reads each request's
 * body and answers 1 KiB.
 *
 * Plain JavaScript on the compiled library (`dist/cjs`), which `bench:check` builds first.
 */
'use strict';
const { lastValueFrom, reduce, switchMap } = require('rxjs');

const { bindQuicSocket, ConnectionParams, connect$, listen$, serveHttp3 } = require('../../dist/cjs');
const { napi } = require('../../dist/cjs/native/binding');

/** The 1 KiB answer to every request. */
const ANSWER = Buffer.alloc(1024, 0x57);

/**
 * Starts the server, connects the client and returns them with `request()`, which POSTs 1 KiB and
 * resolves to the response body's length.
 */
async function startH3Pair() {
  const ca = napi.generateCertificate({ isCa: true, commonName: 'rxjs-quiche bench CA', subjectAltNames: [] });
  const leaf = napi.generateCertificate({ subjectAltNames: ['localhost', '127.0.0.1'], issuerCert: ca.cert, issuerKey: ca.key });
  const body = Buffer.alloc(1024, 0x71);
  const serverSocket = await bindQuicSocket({ address: '127.0.0.1', port: 0 });
  const params = ConnectionParams.newServer({ disableClientIpValidation: true }, { certChain: leaf.cert + ca.cert, privateKey: leaf.key });
  const served = listen$(serverSocket, params)
    .pipe(
      serveHttp3(async (request) => {
        await lastValueFrom(request.body$, { defaultValue: null });
        return { status: 200, body: ANSWER };
      }),
    )
    .subscribe();
  const clientSocket = await bindQuicSocket({ address: '127.0.0.1', port: 0 });
  const { port } = serverSocket.localAddress;
  /** @type {import('../../dist/cjs').ClientH3Connection} */
  const connection = await new Promise((resolve, reject) => {
    connect$(clientSocket, 'localhost', { peer: { address: '127.0.0.1', port }, trust: { ca: ca.cert } }).subscribe({ next: resolve, error: reject });
  });
  /** @returns {Promise<number>} */
  const request = () =>
    lastValueFrom(
      connection.controller.request({ ':method': 'POST', ':path': '/' }, body).pipe(
        switchMap((response) => response.body$),
        reduce((n, chunk) => n + chunk.length, 0),
      ),
    );
  return { serverSocket, clientSocket, served, request };
}

module.exports = { ANSWER, startH3Pair };
