/**
 * Fakes of the native QUIC and HTTP/3 connections for driver specs: scripted `poll()` events and
 * bodies in, recorded calls out. No quiche, no sockets, no time of their own.
 */
import { asapScheduler, type Subscription } from 'rxjs';

import { HandshakeInfo } from '../../src/connection/HandshakeInfo';
import type { H3ConnectionLike, H3QuicheConnection } from '../../src/http3/H3ConnectionLike';
import type { H3Driver } from '../../src/http3/H3Driver';
import type { H3Header } from '../../src/http3/H3Headers';
import type { napi } from '../../src/native/binding';

/** An error shaped like the addon's: `code`, data in the message. */
export function nativeError(code: string, message = code): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/** The QUIC connection under the HTTP/3 layer: records closes, shutdowns and priorities. */
export class FakeQuicheConnection implements H3QuicheConnection {
  readonly closes: Array<{ app: boolean; errorCode: number }> = [];
  readonly shutdowns: Array<{ streamId: number; direction: string; errorCode: number }> = [];
  readonly priorities: Array<{ streamId: number; urgency: number; incremental: boolean }> = [];
  /** What `streamCapacity()` answers (wired to the fake HTTP/3 layer's budget by `startOnFakes`). */
  capacityOf: (streamId: number) => number = () => 1_000_000;
  earlyData = false;

  constructor(private readonly server = true) {}

  close(app: boolean, errorCode: number): boolean {
    if (this.closes.length > 0) return false;
    this.closes.push({ app, errorCode });
    return true;
  }
  isServer(): boolean {
    return this.server;
  }
  isEstablished(): boolean {
    return true;
  }
  isInEarlyData(): boolean {
    return this.earlyData;
  }
  isClosed(): boolean {
    return this.closes.length > 0;
  }
  localError(): napi.ConnectionErrorInfo | null {
    const c = this.closes[0];
    return c ? { isApp: c.app, errorCode: c.errorCode, reason: '' } : null;
  }
  peerError(): napi.ConnectionErrorInfo | null {
    return null;
  }

  streamShutdown(streamId: number, direction: napi.Shutdown, errorCode: number): boolean {
    this.shutdowns.push({ streamId, direction: String(direction), errorCode });
    return true;
  }
  streamPriority(streamId: number, urgency: number, incremental: boolean): void {
    this.priorities.push({ streamId, urgency, incremental });
  }
  streamCapacity(streamId: number): number {
    return this.capacityOf(streamId);
  }
  /** DATAGRAM frames sent, and ones waiting to be received. */
  readonly dgramsSent: Uint8Array[] = [];
  readonly dgramsIn: Uint8Array[] = [];
  dgramSend(data: Uint8Array): boolean {
    this.dgramsSent.push(data.slice());
    return true;
  }
  dgramRecv(out: Uint8Array): number | null {
    const d = this.dgramsIn.shift();
    if (d === undefined) return null;
    out.set(d);
    return d.length;
  }
}

/** What the fake HTTP/3 layer was asked to write, in order. */
export type Written =
  | { kind: 'request'; streamId: number; headers: H3Header[]; fin: boolean }
  | { kind: 'response'; streamId: number; headers: H3Header[]; fin: boolean; urgency?: number; incremental?: boolean }
  | { kind: 'additional'; streamId: number; headers: H3Header[]; isTrailer: boolean; fin: boolean }
  | { kind: 'body'; streamId: number; bytes: number; fin: boolean }
  | { kind: 'goaway'; id: number }
  | { kind: 'priorityUpdate'; streamId: number; urgency: number; incremental: boolean };

/** The HTTP/3 layer: `poll()` returns scripted events, `recvBody()` scripted bytes. */
export class FakeH3Connection implements H3ConnectionLike {
  /** Events `poll()` returns, in order; then `null`. */
  readonly events: napi.H3Event[] = [];
  /** Body bytes waiting per stream. */
  readonly bodies = new Map<number, Uint8Array[]>();
  readonly written: Written[] = [];
  /** Thrown by the next `poll()`, once. */
  pollError: Error | null = null;
  /** The peer's SETTINGS, once "received". */
  settings: number[][] | null = [[6, 16384]];
  /** Errors `sendRequest` throws, in order, before it succeeds. */
  readonly requestErrors: Error[] = [];
  /** Body bytes quiche still takes (all streams together); at 0, `sendBody` says `null` (Done). */
  budget = Number.POSITIVE_INFINITY;
  nextRequestId = 0;
  readonly priorityUpdates = new Map<number, string>();
  recvBodyCalls = 0;

  /** Queues a request's HEADERS. */
  headers(streamId: number, headers: Record<string, string>, moreFrames = true): this {
    this.events.push({
      type: 'headers',
      streamId,
      headers: Object.entries(headers).map(([name, value]) => ({ name, value })),
      moreFrames,
    });
    return this;
  }
  /** Queues body chunks and a `data` event. */
  data(streamId: number, ...chunks: string[]): this {
    const list = this.bodies.get(streamId) ?? [];
    list.push(...chunks.map((c) => Buffer.from(c)));
    this.bodies.set(streamId, list);
    this.events.push({ type: 'data', streamId });
    return this;
  }
  /** Queues any event. */
  event(type: string, streamId: number, errorCode?: number): this {
    this.events.push({ type, streamId, ...(errorCode !== undefined ? { errorCode } : {}) });
    return this;
  }

  sendRequest(_c: unknown, headers: H3Header[], fin: boolean): number {
    const e = this.requestErrors.shift();
    if (e) throw e;
    const streamId = this.nextRequestId;
    this.nextRequestId += 4;
    this.written.push({ kind: 'request', streamId, headers, fin });
    return streamId;
  }
  sendResponse(_c: unknown, streamId: number, headers: H3Header[], fin: boolean, urgency?: number, incremental?: boolean): void {
    this.written.push({ kind: 'response', streamId, headers, fin, urgency, incremental } as Written);
  }
  sendAdditionalHeaders(_c: unknown, streamId: number, headers: H3Header[], isTrailer: boolean, fin: boolean): void {
    this.written.push({ kind: 'additional', streamId, headers, isTrailer, fin });
  }
  sendBody(_c: unknown, streamId: number, body: Uint8Array, fin: boolean): number | null {
    const n = Math.min(body.length, this.budget);
    if (n === 0 && body.length > 0) return null;
    this.budget -= n;
    this.written.push({ kind: 'body', streamId, bytes: n, fin: fin && n === body.length });
    return n;
  }
  recvBody(_c: unknown, streamId: number, out: Uint8Array): number | null {
    this.recvBodyCalls++;
    const list = this.bodies.get(streamId);
    const chunk = list?.shift();
    if (!chunk) return null;
    out.set(chunk.subarray(0, out.length));
    return Math.min(chunk.length, out.length);
  }
  poll(): napi.H3Event | null {
    if (this.pollError) {
      const e = this.pollError;
      this.pollError = null;
      throw e;
    }
    return this.events.shift() ?? null;
  }
  sendGoaway(_c: unknown, id: number): void {
    this.written.push({ kind: 'goaway', id });
  }
  sendPriorityUpdateForRequest(_c: unknown, streamId: number, urgency: number, incremental: boolean): void {
    this.written.push({ kind: 'priorityUpdate', streamId, urgency, incremental });
  }
  takeLastPriorityUpdate(streamId: number): string | null {
    return this.priorityUpdates.get(streamId) ?? null;
  }
  peerSettingsRaw(): number[][] | null {
    return this.settings;
  }
}

/** A driver started on fakes, with a stand-in for the worker's loop. */
export interface FakeRun {
  readonly qconn: FakeQuicheConnection;
  readonly h3: FakeH3Connection;
  /** One worker turn after packets arrived: processReads then processWrites. */
  turn(): void;
  /** Stops the stand-in worker. */
  stop(): void;
}

/**
 * Establishes `driver` on fakes and, like the worker, schedules one processWrites (asap, so in
 * virtual time under `TestScheduler.run`) whenever its waitForData emits, never inside the wake.
 * `elapsed` is the handshake's duration (virtual ms).
 */
export function startOnFakes(driver: H3Driver, h3: FakeH3Connection, options: { server?: boolean; elapsed?: number; now?: number } = {}): FakeRun {
  const qconn = new FakeQuicheConnection(options.server ?? true);
  qconn.capacityOf = () => Math.min(h3.budget, 1_000_000);
  const info = new HandshakeInfo(0);
  info.setElapsed(options.elapsed ?? 0);
  driver.onConnEstablished(qconn, info);
  let queued: Subscription | null = null;
  const wake: Subscription = (driver.waitForData(qconn) as import('rxjs').Observable<void>).subscribe(() => {
    queued ??= asapScheduler.schedule(() => {
      queued = null;
      driver.processWrites(qconn);
    });
  });
  wake.add(() => queued?.unsubscribe());
  return {
    qconn,
    h3,
    turn: () => {
      driver.processReads(qconn);
      driver.processWrites(qconn);
    },
    stop: () => wake.unsubscribe(),
  };
}

/** The fake factory option for a driver. */
export function fakeFactory(h3: FakeH3Connection): { createH3Connection: () => FakeH3Connection } {
  return { createH3Connection: () => h3 };
}
