import { randomBytes } from 'node:crypto';
import { NEVER, type ObservableInput, of, Subject, timer } from 'rxjs';

import type { ApplicationOverQuic } from '../../src/application/ApplicationOverQuic';
import type { QuicheConnection } from '../../src/native/binding';
import { EchoServerApp } from '../helpers/echoApps';
import { type LoopbackClient, type LoopbackServer, loopbackParams, startClient, startServer, within } from '../helpers/loopback';

/**
 * A client with nothing to write until a timer fires `delayMs` after the handshake: its
 * `waitForData` returns a Promise, or an Observable (a Subject the timer feeds), that settles then.
 * It writes `message` on stream 0 in the `processWrites` that follows, and collects the echo.
 */
class LateWriterApp implements ApplicationOverQuic {
  qconn: QuicheConnection | null = null;
  /** When the data became ready, and when it was written. */
  readyAt = 0;
  writtenAt = 0;
  readonly echoed: Promise<Buffer>;
  private resolveEchoed!: (b: Buffer) => void;
  private ready = false;
  private written = false;
  private readonly ready$ = new Subject<void>();
  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private readonly received: Buffer[] = [];
  private readonly buf = new Uint8Array(65536);

  constructor(
    private readonly kind: 'promise' | 'observable',
    private readonly delayMs: number,
    private readonly message: Uint8Array,
  ) {
    this.readyPromise = new Promise((resolve) => (this.resolveReady = resolve));
    this.echoed = new Promise((resolve) => (this.resolveEchoed = resolve));
  }

  onConnEstablished(qconn: QuicheConnection): void {
    this.qconn = qconn;
    timer(this.delayMs).subscribe(() => {
      this.ready = true;
      this.readyAt = Date.now();
      this.resolveReady();
      this.ready$.next();
    });
  }

  shouldAct(): boolean {
    return this.qconn !== null;
  }

  waitForData(): ObservableInput<unknown> {
    if (this.written) return NEVER;
    if (this.kind === 'promise') return this.readyPromise;
    return this.ready ? of(undefined) : this.ready$;
  }

  processReads(qconn: QuicheConnection): void {
    let r;
    while (qconn.streamReadable(0) && (r = qconn.streamRecv(0, this.buf)) !== null) {
      if (r.bytes > 0) this.received.push(Buffer.from(this.buf.subarray(0, r.bytes)));
      if (r.fin) return this.resolveEchoed(Buffer.concat(this.received));
    }
  }

  processWrites(qconn: QuicheConnection): void {
    if (!this.ready || this.written) return;
    expect(qconn.streamSend(0, this.message, true)).toBe(this.message.length);
    this.written = true;
    this.writtenAt = Date.now();
  }
}

// tokio-quiche: async_callbacks (there, async TLS callbacks); here the async application callback,
// waitForData, that tokio-quiche's driver uses for its own timers and channels.
describe('asynchronous waitForData over loopback', () => {
  it.each<[string, 'promise' | 'observable']>([
    ['a Promise', 'promise'],
    ['an Observable', 'observable'],
  ])('writes after %s from waitForData settles, with nothing else waking the worker', async (_name, kind) => {
    const { server, client } = loopbackParams();
    let listener: LoopbackServer<EchoServerApp> | undefined;
    let dialer: LoopbackClient<LateWriterApp> | undefined;
    try {
      listener = await startServer(server, () => new EchoServerApp());
      const message = randomBytes(2_000);
      // By 300 ms after the handshake the connection is quiet: only its 56 s idle timer is armed,
      // so the worker wakes for this write only through waitForData.
      dialer = await startClient(listener.address, client, new LateWriterApp(kind, 300, message));
      await within(dialer.conn.first, 2_000, 'the handshake');
      expect(await within(dialer.app.echoed, 2_000, 'the echo')).toEqual(message);

      expect(dialer.app.writtenAt - dialer.app.readyAt).toBeLessThan(50);
      const accepted = await listener.connection(0);
      expect(Buffer.concat(accepted.app.received.get(0) ?? [])).toEqual(message);
    } finally {
      dialer?.close();
      listener?.close();
    }
  });
});
