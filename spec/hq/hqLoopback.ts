/**
 * hq-interop over loopback sockets for the specs of this folder: a server running `serveHq`, and
 * clients made with `connectHq$` or with a raw QUIC application that writes whatever bytes a spec
 * wants on a stream (for malformed requests and resets).
 */
import type { Socket } from 'node:dgram';
import { type Observable, type ObservableInput, Subject, type Subscription } from 'rxjs';

import type { ApplicationOverQuic } from '../../src/application/ApplicationOverQuic';
import type { QuicheConnection } from '../../src/native/binding';
import { fromNativeError } from '../../src/native/errors';
import { connectWithConfig$ } from '../../src/router/connectWithConfig';
import { listen$ } from '../../src/router/listen';
import { ConnectionParams } from '../../src/settings/ConnectionParams';
import type { QuicSettings } from '../../src/settings/QuicSettings';
import type { ClientHqConnection } from '../../src/hq/ClientHqConnection';
import { connectHq$ } from '../../src/hq/connectHq';
import type { HqEvent } from '../../src/hq/HqEvent';
import type { HqHandler } from '../../src/hq/HqRequest';
import { HQ_INTEROP_ALPN, serveHq } from '../../src/hq/serveHq';
import type { ServerHqConnection } from '../../src/hq/ServerHqConnection';
import { bindUdp, closeAll, testCertificates, watch, within } from '../helpers/loopback';

let certs: ReturnType<typeof testCertificates> | undefined;

/** The test CA and leaf, made once per spec file. */
export function hqCertificates(): ReturnType<typeof testCertificates> {
  certs ??= testCertificates();
  return certs;
}

/** An hq-interop server on a loopback socket. */
export interface HqTestServer {
  readonly port: number;
  /** Every connection served so far, in order. */
  readonly connections: ServerHqConnection[];
  /** Every event of every connection, in order. */
  readonly events: HqEvent[];
  close(): void;
}

/** Starts `serveHq(handler)` on a new loopback socket. */
export async function startHqServer(handler: HqHandler, settings: Partial<QuicSettings> = {}): Promise<HqTestServer> {
  const c = hqCertificates();
  const socket = await bindUdp();
  const params = ConnectionParams.newServer({ alpn: [HQ_INTEROP_ALPN], ...settings }, { certChain: c.cert, privateKey: c.key });
  const connections: ServerHqConnection[] = [];
  const events: HqEvent[] = [];
  const subs: Subscription[] = [];
  subs.push(
    listen$(socket, params)
      .pipe(serveHq(handler))
      .subscribe((served) => {
        connections.push(served);
        subs.push(served.driver.event$.subscribe((e) => events.push(e)));
      }),
  );
  return {
    port: socket.address().port,
    connections,
    events,
    close: () => {
      for (const s of subs) s.unsubscribe();
      // Let the CONNECTION_CLOSE go out before the socket closes.
      setTimeout(() => closeAll(socket), 20);
    },
  };
}

/** A connected hq-interop client. */
export interface HqTestClient {
  readonly conn: ClientHqConnection;
  readonly socket: Socket;
  /** How `connectHq$` ended. */
  readonly outcome: ReturnType<typeof watch<ClientHqConnection>>['outcome'];
  close(): void;
}

/** Dials the server on `port` with `connectHq$`, trusting the test CA. */
export async function connectHqClient(port: number, settings: Partial<QuicSettings> = {}): Promise<HqTestClient> {
  const socket = await bindUdp();
  const watched = watch(connectHq$(socket, 'localhost', { peer: { address: '127.0.0.1', port }, trust: { ca: hqCertificates().ca }, settings }));
  const conn = await within(watched.first, 10_000, 'the hq-interop handshake');
  return {
    conn,
    socket,
    outcome: watched.outcome,
    close: () => {
      watched.subscription.unsubscribe();
      setTimeout(() => closeAll(socket), 20);
    },
  };
}

/** What a raw client saw on one stream. */
export interface RawStreamResult {
  readonly data: Buffer;
  readonly fin: boolean;
  /** The server's RESET_STREAM code, if it reset the stream. */
  readonly resetCode: number | null;
}

/**
 * A raw QUIC client application: writes exactly the bytes a spec gives on a stream (with or
 * without FIN, or a RESET_STREAM) and records what comes back. For what `ClientHqDriver` refuses
 * to send.
 */
export class RawHqClient implements ApplicationOverQuic {
  private qconn: QuicheConnection | null = null;
  private readonly wake$ = new Subject<void>();
  private readonly work: Array<(q: QuicheConnection) => void> = [];
  private readonly streams = new Map<number, { chunks: Buffer[]; done: (r: RawStreamResult) => void }>();
  private readonly buf = new Uint8Array(65536);

  onConnEstablished(qconn: QuicheConnection): void {
    this.qconn = qconn;
  }

  shouldAct(): boolean {
    return this.qconn !== null;
  }

  waitForData(): ObservableInput<unknown> {
    return this.wake$;
  }

  processReads(qconn: QuicheConnection): void {
    for (const id of qconn.readable()) {
      const s = this.streams.get(id);
      if (!s) continue;
      for (;;) {
        let r;
        try {
          r = qconn.streamRecv(id, this.buf);
        } catch (e) {
          const error = fromNativeError(e) as { applicationCode?: number };
          this.streams.delete(id);
          s.done({ data: Buffer.concat(s.chunks), fin: false, resetCode: error.applicationCode ?? -1 });
          break;
        }
        if (r === null) break;
        s.chunks.push(Buffer.from(this.buf.subarray(0, r.bytes)));
        if (r.fin) {
          this.streams.delete(id);
          s.done({ data: Buffer.concat(s.chunks), fin: true, resetCode: null });
          break;
        }
      }
    }
  }

  processWrites(qconn: QuicheConnection): void {
    while (this.work.length > 0) this.work.shift()!(qconn);
  }

  /**
   * Sends `bytes` on stream `id` (with a FIN unless `fin` is false) and resolves with what the
   * server answers on it.
   */
  send(id: number, bytes: string | Uint8Array, fin = true): Promise<RawStreamResult> {
    const result = new Promise<RawStreamResult>((resolve) => this.streams.set(id, { chunks: [], done: resolve }));
    this.run((q) => q.streamSend(id, typeof bytes === 'string' ? Buffer.from(bytes) : bytes, fin));
    return result;
  }

  /** Runs `f` against the connection on the worker's next turn. */
  run(f: (q: QuicheConnection) => void): void {
    this.work.push(f);
    setImmediate(() => this.wake$.next());
  }
}

/** Dials the server with a {@link RawHqClient} (ALPN hq-interop). */
export async function connectRaw(port: number): Promise<{ app: RawHqClient; close(): void }> {
  const socket = await bindUdp();
  const app = new RawHqClient();
  const params = ConnectionParams.newClient({ alpn: [HQ_INTEROP_ALPN] }, undefined, {}, { trust: { ca: hqCertificates().ca } });
  const watched = watch(connectWithConfig$(socket, 'localhost', params, app, { peer: { address: '127.0.0.1', port } }) as Observable<unknown>);
  await within(watched.first, 10_000, 'the raw handshake');
  return {
    app,
    close: () => {
      watched.subscription.unsubscribe();
      setTimeout(() => closeAll(socket), 20);
    },
  };
}
