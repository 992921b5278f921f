/**
 * Two real quiche connections joined in memory, in the style of quiche's `test_utils::Pipe`.
 *
 * No sockets and no timers: `advance()` moves every packet each side has ready to the other side
 * until neither has anything left to send. The client verifies the server's certificate for real,
 * against a CA made for the test run, so handshake failures are TLS failures and not shortcuts.
 * The hot buffers belong to the pair and are reused for every batch, as the worker pipeline does.
 */
import { randomBytes } from 'node:crypto';

import { napi } from '../../src/native/binding';

/** The client's address. Nothing is bound: the addresses only label the path. */
export const CLIENT_ADDRESS: napi.SocketAddress = { address: '127.0.0.1', port: 50_001 };

/** The server's address. */
export const SERVER_ADDRESS: napi.SocketAddress = { address: '127.0.0.1', port: 4_433 };

/** The ALPN protocol both ends speak unless a spec asks for another. */
export const TEST_ALPN = 'rxjs-quiche-test';

/** The name the client asks for (SNI) and verifies the server certificate against. */
export const SERVER_NAME = 'localhost';

/** The length of every connection ID the pair makes. */
export const CID_LEN = 16;

/** A test CA and a server certificate it signed. */
export interface TestCertificates {
  /** The CA: self-signed, trusted by the client. */
  readonly ca: napi.GeneratedCertificate;
  /** The server's leaf certificate, signed by `ca`, valid for `localhost` and `127.0.0.1`. */
  readonly leaf: napi.GeneratedCertificate;
  /** The server's chain as PEM, leaf first, then the CA. */
  readonly chain: string;
}

// Generating keys costs a few milliseconds; one CA per test file is enough.
let cached: TestCertificates | undefined;

/**
 * Makes a CA and a leaf signed by it with `napi.generateCertificate()`.
 *
 * @param options.leaf Overrides for the leaf (e.g. `{ days: -2 }` for an expired one). A fresh pair
 * is made whenever options are given; the default pair is made once per test file.
 * @returns The CA, the leaf, and the server's PEM chain.
 */
export function testCertificates(options: { leaf?: napi.CertificateOptions } = {}): TestCertificates {
  if (options.leaf === undefined && cached !== undefined) return cached;
  const ca = napi.generateCertificate({
    isCa: true,
    commonName: 'rxjs-quiche test CA',
    subjectAltNames: [],
  });
  const leaf = napi.generateCertificate({
    subjectAltNames: ['localhost', '127.0.0.1'],
    ...options.leaf,
    issuerCert: ca.cert,
    issuerKey: ca.key,
  });
  const made = { ca, leaf, chain: leaf.cert + ca.cert };
  if (options.leaf === undefined) cached = made;
  return made;
}

/** Transport settings both ends share: small enough that flow control is exercised. */
const transportDefaults: napi.ConfigOptions = {
  alpn: [TEST_ALPN],
  initialMaxData: 1_000_000,
  initialMaxStreamDataBidiLocal: 256_000,
  initialMaxStreamDataBidiRemote: 256_000,
  initialMaxStreamDataUni: 256_000,
  initialMaxStreamsBidi: 100,
  initialMaxStreamsUni: 100,
  maxIdleTimeoutMs: 30_000,
  maxSendUdpPayloadSize: 1350,
  maxRecvUdpPayloadSize: 1350,
};

/**
 * The options of a client config that verifies the server against the test CA.
 *
 * @param overrides Options that replace the defaults.
 */
export function clientConfigOptions(
  certs: TestCertificates,
  overrides: napi.ConfigOptions = {},
): napi.ConfigOptions {
  return { ...transportDefaults, verifyPeer: true, ca: [certs.ca.cert], ...overrides };
}

/**
 * The options of a server config presenting the test leaf (and the CA behind it).
 *
 * @param overrides Options that replace the defaults.
 */
export function serverConfigOptions(
  certs: TestCertificates,
  overrides: napi.ConfigOptions = {},
): napi.ConfigOptions {
  return {
    ...transportDefaults,
    verifyPeer: false,
    certChain: certs.chain,
    privateKey: certs.leaf.key,
    ...overrides,
  };
}

/** A fresh random connection ID. */
export function newCid(): Buffer {
  return randomBytes(CID_LEN);
}

/** How to build a pair. Every field is optional. */
export interface NativePairOptions {
  /** Client config options, over {@link clientConfigOptions}' defaults. */
  client?: napi.ConfigOptions;
  /** Server config options, over {@link serverConfigOptions}' defaults. */
  server?: napi.ConfigOptions;
  /** A ready client config (wins over `client`), e.g. to share one between connections. */
  clientConfig?: napi.Config;
  /** A ready server config (wins over `server`); share it to resume sessions. */
  serverConfig?: napi.Config;
  /** The certificates; defaults to {@link testCertificates}(). */
  certs?: TestCertificates;
  /** SNI and the name verified. Defaults to `localhost`; `null` sends none. */
  serverName?: string | null;
  /** A session from an earlier connection's `session()`, to resume it. */
  session?: Uint8Array;
}

/** Every datagram a connection had ready, copied out (for specs that inspect or rewrite packets). */
export interface CapturedBatch {
  readonly datagrams: Buffer[];
  readonly from: napi.SocketAddress;
  readonly to: napi.SocketAddress;
}

/** Bytes of the reused send buffer: room for 64 full-size packets. */
const OUT_BYTES = 64 * 1500;

/**
 * A client and a server connection joined in memory.
 *
 * ## Example
 * ```ts
 * const pair = NativePair.connect();
 * pair.handshake();
 * pair.client.streamSend(0, Buffer.from('hi'), true);
 * pair.advance();
 * ```
 */
export class NativePair {
  /** The send buffer both directions reuse: quiche writes packets into it back to back. */
  private readonly out = new Uint8Array(OUT_BYTES);
  /** The length of each packet `send()` wrote into `out`. */
  private readonly lengths = new Uint32Array(64);

  /** Datagrams moved so far, both directions. */
  datagramsMoved = 0;
  /** `send()` calls that returned a batch (each delivered by one `recv()`), both directions. */
  batchesMoved = 0;

  constructor(
    readonly client: napi.Connection,
    readonly server: napi.Connection,
    readonly certs: TestCertificates = testCertificates(),
  ) {}

  /**
   * Creates a client (with its first flight ready) and a server waiting for it.
   *
   * The server is accepted up front with its own CID, as quiche's `Pipe` does: quiche learns the
   * client's original DCID from the first Initial it receives.
   */
  static connect(options: NativePairOptions = {}): NativePair {
    const certs = options.certs ?? testCertificates();
    const clientConfig = options.clientConfig ?? new napi.Config(clientConfigOptions(certs, options.client));
    const serverConfig = options.serverConfig ?? new napi.Config(serverConfigOptions(certs, options.server));
    const serverName = options.serverName === undefined ? SERVER_NAME : options.serverName;
    const client = napi.Connection.connect(
      serverName,
      newCid(),
      CLIENT_ADDRESS,
      SERVER_ADDRESS,
      clientConfig,
      options.session,
    );
    const server = napi.Connection.accept(newCid(), null, SERVER_ADDRESS, CLIENT_ADDRESS, serverConfig);
    return new NativePair(client, server, certs);
  }

  /**
   * Moves everything `from` has ready to `to`, one GSO-style batch per `send()` call delivered as
   * one GRO-style `recv()` call, until `from` has nothing left. An error from `recv()` (a failed
   * handshake) is thrown to the caller; what `to` queued in answer goes out on the next flush.
   *
   * @returns The number of datagrams moved.
   */
  flush(from: napi.Connection, to: napi.Connection): number {
    let moved = 0;
    for (;;) {
      const batch = from.send(this.out, this.lengths, true);
      if (batch === null) return moved;
      this.batchesMoved += 1;
      this.datagramsMoved += batch.count;
      moved += batch.count;
      if (!to.isClosed()) {
        to.recv(this.out.subarray(0, batch.bytes), batch.from, batch.to, batch.segmentSize);
      }
    }
  }

  /**
   * Flushes both directions until neither side has anything to send.
   *
   * @returns The number of datagrams moved.
   */
  advance(): number {
    let total = 0;
    for (;;) {
      const moved = this.flush(this.client, this.server) + this.flush(this.server, this.client);
      if (moved === 0) return total;
      total += moved;
    }
  }

  /**
   * Advances until both ends have completed the handshake.
   *
   * @throws Error when a round moves nothing and the handshake is still incomplete.
   */
  handshake(): void {
    while (!(this.client.isEstablished() && this.server.isEstablished())) {
      if (this.advance() === 0) {
        throw new Error(
          `handshake stalled: client established=${this.client.isEstablished()} ` +
            `error=${JSON.stringify(this.client.localError() ?? this.client.peerError())}, ` +
            `server established=${this.server.isEstablished()} ` +
            `error=${JSON.stringify(this.server.localError() ?? this.server.peerError())}`,
        );
      }
    }
  }

  /** Copies out every datagram `conn` has ready, without delivering them. */
  static capture(conn: napi.Connection): CapturedBatch | null {
    const out = new Uint8Array(OUT_BYTES);
    const lengths = new Uint32Array(64);
    const datagrams: Buffer[] = [];
    let path: { from: napi.SocketAddress; to: napi.SocketAddress } | null = null;
    for (;;) {
      const batch = conn.send(out, lengths, false);
      if (batch === null) break;
      path ??= { from: batch.from, to: batch.to };
      let offset = 0;
      for (let i = 0; i < batch.count; i += 1) {
        const length = lengths[i] ?? 0;
        datagrams.push(Buffer.from(out.subarray(offset, offset + length)));
        offset += length;
      }
    }
    return path === null ? null : { datagrams, ...path };
  }
}

/**
 * Calls `fn` and returns what it threw, failing the spec when it returns normally.
 *
 * @returns The thrown error, typed loosely enough to read its `code` and `message`.
 */
export function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    // Not `instanceof Error`: the addon builds its errors with Node's own `Error`, which is not the
    // one inside jest's sandbox.
    if (typeof e === 'object' && e !== null && 'message' in e) return e as Error & { code?: string };
    throw new Error(`threw a non-Error: ${String(e)}`);
  }
  throw new Error('expected the call to throw, and it returned');
}
