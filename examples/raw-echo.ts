/**
 * A raw-QUIC echo server and client, each an ApplicationOverQuic, talking over loopback.
 *
 * The server echoes every stream back, FIN included. The client sends one message on stream 0,
 * waits for the echo, closes the connection with NO_ERROR and prints what came back.
 *
 * Run:
 *   npx ts-node --transpile-only examples/raw-echo.ts [message]
 *   npx ts-node --transpile-only examples/raw-echo.ts "hello" --cert cert.pem --key key.pem --ca ca.pem
 *
 * Without `--cert`/`--key` it makes a throwaway CA and a certificate for `localhost` with
 * `napi.generateCertificate()`. With them, `--ca` is what the client trusts (defaults to Node's
 * root certificates), and the certificate must be valid for `localhost`.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { lastValueFrom, NEVER, type Observable } from 'rxjs';

import {
  applicationOverQuic,
  connectWithConfig$,
  ConnectionParams,
  listen$,
  napi,
  type ApplicationOverQuic,
  type QuicheConnection,
} from '../src';

/** The ALPN both ends speak. */
const ALPN = 'echo';

/**
 * The server side: whatever arrives on a stream goes back on it, and the FIN with it.
 */
class EchoServer implements ApplicationOverQuic {
  // Set by onConnEstablished: before that, the worker only runs the handshake.
  private established = false;
  // One read buffer for every stream.
  private readonly buf = new Uint8Array(64 * 1024);
  // Per stream: bytes read but not yet echoed, and whether the client's FIN is still to echo.
  private readonly owed = new Map<number, { chunks: Uint8Array[]; fin: boolean }>();

  onConnEstablished(): void {
    this.established = true;
  }

  shouldAct(): boolean {
    return this.established;
  }

  waitForData(): Observable<never> {
    // Only the client's packets make work for an echo server, and those wake the worker anyway.
    return NEVER;
  }

  processReads(conn: QuicheConnection): void {
    for (const streamId of conn.readable()) {
      const owed = this.owed.get(streamId) ?? { chunks: [], fin: false };
      this.owed.set(streamId, owed);
      try {
        for (let read = conn.streamRecv(streamId, this.buf); read !== null; read = conn.streamRecv(streamId, this.buf)) {
          if (read.bytes > 0) owed.chunks.push(this.buf.slice(0, read.bytes));
          if (read.fin) {
            owed.fin = true;
            break;
          }
        }
      } catch {
        // The client reset the stream: nothing more to echo on it.
        this.owed.delete(streamId);
      }
    }
  }

  processWrites(conn: QuicheConnection): void {
    for (const [streamId, owed] of this.owed) {
      while (owed.chunks.length > 0) {
        const chunk = owed.chunks[0]!;
        const last = owed.chunks.length === 1 && owed.fin;
        const written = conn.streamSend(streamId, chunk, last);
        // Flow control: the rest waits for the next step.
        if (written === null) break;
        if (written < chunk.length) {
          owed.chunks[0] = chunk.subarray(written);
          break;
        }
        owed.chunks.shift();
        if (last) owed.fin = false;
      }
      // An empty stream, or a FIN that arrived after the data was echoed.
      if (owed.chunks.length === 0 && owed.fin && conn.streamSend(streamId, new Uint8Array(0), true) !== null) {
        owed.fin = false;
      }
      if (owed.chunks.length === 0 && !owed.fin) this.owed.delete(streamId);
    }
  }
}

/**
 * The client side: sends `message` on stream 0 with a FIN, collects the echo, then closes.
 */
class EchoClient implements ApplicationOverQuic {
  /** The echo, once the server's FIN arrives. */
  readonly echoed: Promise<Buffer>;
  private resolveEchoed!: (echo: Buffer) => void;
  private established = false;
  // How much of the message quiche has taken, and whether the FIN went with it.
  private sent = 0;
  private finSent = false;
  private readonly received: Buffer[] = [];
  private readonly buf = new Uint8Array(64 * 1024);

  constructor(private readonly message: Uint8Array) {
    this.echoed = new Promise((resolve) => (this.resolveEchoed = resolve));
  }

  onConnEstablished(): void {
    this.established = true;
  }

  shouldAct(): boolean {
    return this.established;
  }

  waitForData(): Observable<never> {
    return NEVER;
  }

  processReads(conn: QuicheConnection): void {
    // Stream 0 does not exist for quiche until we write to it: ask before reading.
    if (!conn.streamReadable(0)) return;
    for (let read = conn.streamRecv(0, this.buf); read !== null; read = conn.streamRecv(0, this.buf)) {
      this.received.push(Buffer.from(this.buf.subarray(0, read.bytes)));
      if (read.fin) {
        this.resolveEchoed(Buffer.concat(this.received));
        // NO_ERROR: the worker completes once quiche has drained the connection.
        conn.close(true, 0, 'done');
        return;
      }
    }
  }

  processWrites(conn: QuicheConnection): void {
    while (!this.finSent) {
      const rest = this.message.subarray(this.sent);
      const written = conn.streamSend(0, rest, true);
      if (written === null) return;
      this.sent += written;
      this.finSent = written === rest.length;
      if (!this.finSent && written === 0) return;
    }
  }
}

/** The server's certificate, and what the client trusts. */
function credentials(options: { cert?: string; key?: string; ca?: string }): { certChain: string; privateKey: string; ca?: string } {
  if (options.cert !== undefined || options.key !== undefined) {
    if (options.cert === undefined || options.key === undefined) throw new Error('give both --cert and --key');
    return {
      certChain: readFileSync(options.cert, 'utf8'),
      privateKey: readFileSync(options.key, 'utf8'),
      ...(options.ca !== undefined ? { ca: readFileSync(options.ca, 'utf8') } : {}),
    };
  }
  const ca = napi.generateCertificate({ isCa: true, commonName: 'raw-echo example CA', subjectAltNames: [] });
  const leaf = napi.generateCertificate({ subjectAltNames: ['localhost'], issuerCert: ca.cert, issuerKey: ca.key });
  return { certChain: leaf.cert + ca.cert, privateKey: leaf.key, ca: ca.cert };
}

/** A UDP socket bound on loopback, on any free port. */
function bindLoopback(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { cert: { type: 'string' }, key: { type: 'string' }, ca: { type: 'string' } },
  });
  const message = Buffer.from(positionals[0] ?? 'hello over raw QUIC');
  const tls = credentials(values);

  const serverSocket = await bindLoopback();
  const clientSocket = await bindLoopback();
  const serverParams = ConnectionParams.newServer({ alpn: [ALPN] }, { certChain: tls.certChain, privateKey: tls.privateKey });
  const clientParams = ConnectionParams.newClient({ alpn: [ALPN] }, undefined, {}, tls.ca !== undefined ? { trust: { ca: tls.ca } } : {});

  // The server: every accepted connection runs its own EchoServer.
  const server = listen$(serverSocket, serverParams)
    .pipe(applicationOverQuic(() => new EchoServer()))
    .subscribe({
      next: (conn) => console.log(`server: connection from ${conn.peerAddr.address}:${conn.peerAddr.port}`),
      error: (err) => console.error('server failed:', err),
    });

  try {
    const client = new EchoClient(message);
    const { address, port } = serverSocket.address();
    console.log(`client: sending ${message.length} bytes to ${address}:${port}`);
    // Completes when the client's close has drained; errors with a typed QuicError otherwise.
    await lastValueFrom(connectWithConfig$(clientSocket, 'localhost', clientParams, client, { peer: { address, port } }), {
      defaultValue: undefined,
    });
    const echo = await client.echoed;
    console.log(`client: echoed ${JSON.stringify(echo.toString('utf8'))}`);
    if (!echo.equals(message)) throw new Error('the echo differs from the message');
  } finally {
    // Closes the server's connections (each with a CONNECTION_CLOSE) and stops accepting.
    server.unsubscribe();
    serverSocket.close();
    clientSocket.close();
  }
}

// A safety net: the example never takes this long.
const watchdog = setTimeout(() => {
  console.error('raw-echo: timed out');
  process.exit(1);
}, 10_000).unref();

main().then(
  () => clearTimeout(watchdog),
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
