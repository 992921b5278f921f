import { Subject, type Observable } from 'rxjs';

import type { ApplicationOverQuic, ConnectionResult } from '../../src/application/ApplicationOverQuic';
import type { HandshakeInfo } from '../../src/connection/HandshakeInfo';
import type { QuicheConnection } from '../../src/native/binding';

/**
 * A raw-QUIC echo server: whatever arrives on a stream goes back on it, and a FIN is echoed.
 */
export class EchoServerApp implements ApplicationOverQuic {
  established = false;
  closeResult: ConnectionResult | null = null;
  handshakeInfo: HandshakeInfo | null = null;
  readonly buf = new Uint8Array(65536);
  // Per stream, bytes read but not yet written back, and whether the FIN is owed.
  private readonly pending = new Map<number, { chunks: Uint8Array[]; fin: boolean }>();

  onConnEstablished(_q: QuicheConnection, info: HandshakeInfo): void {
    this.established = true;
    this.handshakeInfo = info;
  }
  shouldAct(): boolean {
    return this.established;
  }
  waitForData(): Observable<never> {
    return new Subject<never>();
  }
  processReads(q: QuicheConnection): void {
    for (const id of q.readable()) {
      let r;
      while ((r = q.streamRecv(id, this.buf)) !== null) {
        const p = this.pending.get(id) ?? { chunks: [], fin: false };
        if (r.bytes > 0) p.chunks.push(this.buf.slice(0, r.bytes));
        if (r.fin) p.fin = true;
        this.pending.set(id, p);
        if (r.fin) break;
      }
    }
  }
  processWrites(q: QuicheConnection): void {
    for (const [id, p] of this.pending) {
      while (p.chunks.length > 0) {
        const chunk = p.chunks[0]!;
        const last = p.chunks.length === 1 && p.fin;
        const n = q.streamSend(id, chunk, last);
        if (n === null) break;
        if (n < chunk.length) {
          p.chunks[0] = chunk.subarray(n);
          break;
        }
        p.chunks.shift();
      }
      if (p.chunks.length === 0 && p.fin) {
        if (q.streamSend(id, new Uint8Array(0), true) !== null || true) this.pending.delete(id);
      }
    }
  }
  onConnClose(_q: QuicheConnection, _m: unknown, result: ConnectionResult): void {
    this.closeResult = result;
  }
}

/**
 * A raw-QUIC echo client: sends `message` on stream 0 with a FIN, collects the echo, and resolves
 * `echoed` with it; then closes the connection (app code 0) if `closeWhenDone`.
 */
export class EchoClientApp implements ApplicationOverQuic {
  established = false;
  closeResult: ConnectionResult | null = null;
  private sent = 0;
  private readonly received: Uint8Array[] = [];
  private readonly buf = new Uint8Array(65536);
  private done = false;
  readonly echoed: Promise<Buffer>;
  private resolveEchoed!: (b: Buffer) => void;

  constructor(
    private readonly message: Uint8Array,
    private readonly closeWhenDone = true,
  ) {
    this.echoed = new Promise((resolve) => (this.resolveEchoed = resolve));
  }

  onConnEstablished(): void {
    this.established = true;
  }
  shouldAct(): boolean {
    return this.established;
  }
  waitForData(): Observable<never> {
    return new Subject<never>();
  }
  processReads(q: QuicheConnection): void {
    let r;
    while (!this.done && q.streamReadable(0) && (r = q.streamRecv(0, this.buf)) !== null) {
      if (r.bytes > 0) this.received.push(this.buf.slice(0, r.bytes));
      if (r.fin) {
        this.done = true;
        this.resolveEchoed(Buffer.concat(this.received));
        if (this.closeWhenDone) q.close(true, 0, 'done');
      }
    }
  }
  processWrites(q: QuicheConnection): void {
    if (this.sent > this.message.length) return;
    while (this.sent < this.message.length) {
      const n = q.streamSend(0, this.message.subarray(this.sent), true);
      if (n === null || n === 0) return;
      this.sent += n;
    }
    if (this.message.length === 0) q.streamSend(0, this.message, true);
    this.sent = this.message.length + 1;
  }
  onConnClose(_q: QuicheConnection, _m: unknown, result: ConnectionResult): void {
    this.closeResult = result;
  }
}
