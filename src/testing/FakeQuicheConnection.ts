import { asyncScheduler, Subject } from 'rxjs';

import type { QuicErrorCode } from '../errors/codes';
import type { napi } from '../native/binding';
import type { SocketAddress } from '../socket/Incoming';
import { decodeFakeFrames, encodeFakeFrames, type FakeFrame } from './FakeFrame';
import { FAKE_LOCAL_ADDRESS, FAKE_PEER_ADDRESS, shortHeaderPacket } from './fakeIncoming';

/** Transport APPLICATION_ERROR (RFC 9000 §20.1): what an application close becomes before the handshake. */
const APPLICATION_ERROR = 0xc;
/** Transport PROTOCOL_VIOLATION: the close a failed `recv` queues unless told otherwise. */
const PROTOCOL_VIOLATION = 0xa;

/**
 * One call the code under test made on a {@link FakeQuicheConnection}.
 */
export interface FakeCall {
  /** The method name, e.g. `'recv'`, `'send'`, `'streamSend'`. */
  readonly method: string;
  /**
   * The arguments. Byte arguments are copied when the call is made (callers reuse their buffers);
   * `send` records `[out.length, lengths.length, uniform]` instead of the buffers.
   */
  readonly args: readonly unknown[];
  /** The clock's time when the call was made: the virtual frame inside `testScheduler.run`. */
  readonly at: number;
}

/**
 * How a {@link FakeQuicheConnection} starts.
 */
export interface FakeQuicheConnectionOptions {
  /** A server (`true`) or client connection. Defaults to `true`. */
  readonly isServer?: boolean;
  /** Our first source connection ID. Defaults to 8 bytes of `0x01`. */
  readonly scid?: Uint8Array;
  /** The peer's connection ID, the DCID of what we send. Defaults to 8 bytes of `0x02`. */
  readonly dcid?: Uint8Array;
  /** The local address. Defaults to {@link FAKE_LOCAL_ADDRESS}. */
  readonly local?: SocketAddress;
  /** The peer's address, where `send()` batches go. Defaults to {@link FAKE_PEER_ADDRESS}. */
  readonly peer?: SocketAddress;
  /** Starts established. Defaults to `false`. */
  readonly established?: boolean;
  /** What `timeout()` returns while nothing else is scripted, in ms; `null` for never. Defaults to `null`. */
  readonly timeout?: number | null;
  /** How many more source IDs the peer accepts (`scidsLeft()`). Defaults to `0`. */
  readonly scidsLeft?: number;
  /** The send capacity of each new stream, in bytes. Defaults to 1 MiB. */
  readonly streamCapacity?: number;
  /**
   * How long a closing connection drains before `isClosed()`, in ms. `null` (the default) closes
   * it as soon as our CONNECTION_CLOSE is sent or the peer's is received; a number keeps it
   * draining (`isDraining()`, with `timeout()` counting down) until `onTimeout()` after that time.
   */
  readonly drainTimeout?: number | null;
  /** The negotiated ALPN. Defaults to `''`. */
  readonly applicationProto?: string;
  /** The SNI the client sent. Defaults to `null`. */
  readonly serverName?: string | null;
  /** What `dgramMaxWritableLen()` returns; `null` means the peer takes no datagrams. Defaults to `1200`. */
  readonly dgramMaxWritableLen?: number | null;
  /** The log to append calls to, e.g. one shared with a recording application. Defaults to a new array. */
  readonly calls?: FakeCall[];
  /** The clock for {@link FakeCall.at} and draining. Defaults to `asyncScheduler.now()` (virtual inside `testScheduler.run`). */
  readonly now?: () => number;
}

/** One stream's state, both directions. */
interface FakeStream {
  // Received bytes not yet read.
  readonly incoming: Buffer[];
  finReceived: boolean;
  finRead: boolean;
  // The peer's RESET_STREAM code; streamRecv throws StreamReset while set.
  resetCode: number | null;
  // The reset was reported by streamRecv: the stream is no longer readable.
  resetReported: boolean;
  // Everything the application wrote, and whether it sent the FIN.
  readonly written: Buffer[];
  finSent: boolean;
  capacity: number;
  // The peer's STOP_SENDING code; streamSend throws StreamStopped while set.
  stoppedCode: number | null;
  readShut: boolean;
  writeShut: boolean;
}

/**
 * A scriptable stand-in for a native quiche connection, for marble specs of the worker and of your
 * own {@link ApplicationOverQuic}.
 *
 * It implements the whole `napi.Connection` surface, so it goes wherever a `QuicheConnection` goes
 * (`IoWorker`, `InitialQuicConnection`, your application), and it needs no native addon. It models
 * what applications and the worker rely on: handshake state, closing and draining, timers, stream
 * reads and writes with capacity, FIN, RESET_STREAM and STOP_SENDING, datagrams, and source
 * connection IDs. What it does not model (paths, qlog, keylog) is recorded and answers neutrally.
 *
 * Every method the code under test calls is appended to {@link calls} in order, with the clock's
 * time, so a spec can assert the worker's step order. The scripting methods (`establish`,
 * `deliverStream`, `closeByPeer`, `failNextRecv`, …) are the peer's and quiche's doing and are not
 * recorded. A datagram built with `fakePacket()` scripts the same events from the wire: `recv`
 * applies its {@link FakeFrame}s. What the application writes goes out of `send()` as fake
 * datagrams (one frame each) that `FakeDatagramSender` decodes.
 *
 * ## Example
 * ```ts
 * const conn = new FakeQuicheConnection({ established: true, timeout: 25 });
 * conn.deliverStream(0, 'ping', true);
 * myApp.processReads(conn);
 * myApp.processWrites(conn);
 * expect(conn.writtenTo(0)).toEqual({ data: Buffer.from('pong'), fin: true });
 * expect(conn.callNames('streamRecv', 'streamSend')).toEqual(['streamRecv', 'streamSend']);
 * ```
 */
export class FakeQuicheConnection implements napi.Connection {
  /** Every call the code under test made, in order. */
  readonly calls: FakeCall[];
  /** Each call as it is made, for marble assertions. */
  readonly calls$ = new Subject<FakeCall>();

  /** Runs after `recv` has applied a datagram's frames, e.g. to script quiche's reaction to a packet. */
  afterRecv: ((buf: Uint8Array, conn: FakeQuicheConnection) => void) | null = null;
  /** Runs after `onTimeout`, e.g. to script loss recovery. */
  afterTimeout: ((conn: FakeQuicheConnection) => void) | null = null;
  /** What `timeout()` returns when no scripted value is queued; see {@link scriptTimeouts}. */
  timeoutMs: number | null;

  private readonly options: FakeQuicheConnectionOptions;
  private readonly clock: () => number;
  private readonly local: SocketAddress;
  private readonly peer: SocketAddress;
  private readonly dcid: Buffer;
  private established: boolean;
  private earlyData = false;
  private closed = false;
  // The addresses of the previous recv (what a null address stands for).
  private lastRecvFrom: napi.SocketAddress | null = null;
  private lastRecvTo: napi.SocketAddress | null = null;
  private timedOut = false;
  // When draining ends, while draining.
  private drainUntil: number | null = null;
  private localErr: napi.ConnectionErrorInfo | null = null;
  private peerErr: napi.ConnectionErrorInfo | null = null;
  // Raw datagrams scripted with queueDatagram, sent before any frame.
  private readonly rawOut: Buffer[] = [];
  // Frames the application produced, sent one per datagram.
  private readonly framesOut: FakeFrame[] = [];
  private readonly timeouts: (number | null)[] = [];
  private readonly recvFailures: { code: QuicErrorCode; wireCode: number }[] = [];
  private readonly sendFailures: QuicErrorCode[] = [];
  private readonly streams = new Map<number, FakeStream>();
  private readonly datagramsIn: Buffer[] = [];
  private readonly scids: Buffer[];
  private readonly retired: Buffer[] = [];
  private scidsLeftValue: number;
  private scidSeq = 0;
  private datagramsReceived = 0;
  private bytesReceived = 0;
  private packetsSent = 0;
  private bytesSent = 0;

  /**
   * @param options How the connection starts; every field has a default.
   */
  constructor(options: FakeQuicheConnectionOptions = {}) {
    this.options = options;
    this.calls = options.calls ?? [];
    this.clock = options.now ?? (() => asyncScheduler.now());
    this.local = options.local ?? FAKE_LOCAL_ADDRESS;
    this.peer = options.peer ?? FAKE_PEER_ADDRESS;
    this.dcid = Buffer.from(options.dcid ?? Buffer.alloc(8, 0x02));
    this.scids = [Buffer.from(options.scid ?? Buffer.alloc(8, 0x01))];
    this.established = options.established ?? false;
    this.timeoutMs = options.timeout ?? null;
    this.scidsLeftValue = options.scidsLeft ?? 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection

  /**
   * The names of the calls made so far, in order.
   *
   * @param only Keep only these methods (all when empty).
   * @returns The method names.
   */
  callNames(...only: string[]): string[] {
    const keep = only.length === 0 ? null : new Set(only);
    return this.calls.filter((c) => keep === null || keep.has(c.method)).map((c) => c.method);
  }

  /** Forgets the calls recorded so far. */
  clearCalls(): void {
    this.calls.length = 0;
  }

  /**
   * What the application wrote to a stream so far.
   *
   * @param streamId The stream.
   * @returns Every byte accepted by `streamSend`, and whether the FIN was sent.
   */
  writtenTo(streamId: number): { data: Buffer; fin: boolean } {
    const s = this.streams.get(streamId);
    return { data: Buffer.concat(s?.written ?? []), fin: s?.finSent ?? false };
  }

  // ---------------------------------------------------------------------------------------------
  // Scripting: what the peer or quiche does. Not recorded in `calls`.

  /** Completes the handshake. */
  establish(): void {
    this.established = true;
    this.earlyData = false;
  }

  /** Puts the connection in 0-RTT early data: `isInEarlyData()` until {@link establish}. */
  enterEarlyData(): void {
    if (!this.established) this.earlyData = true;
  }

  /** Queues raw datagrams for `send()` to return ahead of any frame (handshake packets, ACKs). */
  queueDatagram(...datagrams: Uint8Array[]): void {
    for (const d of datagrams) this.rawOut.push(Buffer.from(d));
  }

  /**
   * Queues values for the next `timeout()` calls, one per call; after them, {@link timeoutMs}.
   *
   * @param values Milliseconds, or `null` for no timer.
   */
  scriptTimeouts(...values: (number | null)[]): void {
    this.timeouts.push(...values);
  }

  /**
   * Makes the next `recv` fail like quiche on a protocol error: it queues a transport
   * CONNECTION_CLOSE with `wireCode` and throws an error whose `code` is `code`.
   *
   * @param code The error name, e.g. `'InvalidFrame'`. Defaults to `'InvalidPacket'`.
   * @param wireCode The transport error code sent. Defaults to PROTOCOL_VIOLATION (0xa).
   */
  failNextRecv(code: QuicErrorCode = 'InvalidPacket', wireCode = PROTOCOL_VIOLATION): void {
    this.recvFailures.push({ code, wireCode });
  }

  /**
   * Makes the next `send` throw an error whose `code` is `code`, as when quiche fails internally.
   *
   * @param code The error name. Defaults to `'InvalidState'`.
   */
  failNextSend(code: QuicErrorCode = 'InvalidState'): void {
    this.sendFailures.push(code);
  }

  /**
   * The peer sends stream data.
   *
   * @param streamId The stream.
   * @param data The bytes; a string is UTF-8 encoded.
   * @param fin Whether the peer finished the stream. Defaults to `false`.
   */
  deliverStream(streamId: number, data: string | Uint8Array, fin = false): void {
    this.apply({ type: 'stream', streamId, data: toBuffer(data), fin });
  }

  /** The peer sends a DATAGRAM frame. */
  deliverDatagram(data: string | Uint8Array): void {
    this.apply({ type: 'datagram', data: toBuffer(data) });
  }

  /** The peer resets a stream (RESET_STREAM): `streamRecv` throws `StreamReset` with `errorCode`. */
  resetByPeer(streamId: number, errorCode: number): void {
    this.apply({ type: 'resetStream', streamId, errorCode });
  }

  /** The peer stops reading a stream (STOP_SENDING): `streamSend` throws `StreamStopped` with `errorCode`. */
  stopByPeer(streamId: number, errorCode: number): void {
    this.apply({ type: 'stopSending', streamId, errorCode });
  }

  /**
   * The peer closes the connection (CONNECTION_CLOSE): `peerError()` reports it and the connection
   * closes (or drains, with {@link FakeQuicheConnectionOptions.drainTimeout}).
   */
  closeByPeer(init: { isApp?: boolean; errorCode?: number; reason?: string } = {}): void {
    this.apply({ type: 'connectionClose', isApp: init.isApp ?? true, errorCode: init.errorCode ?? 0, reason: init.reason ?? '' });
  }

  /** The idle timeout expires: the connection closes silently (`isTimedOut()`), sending nothing. */
  idleTimeout(): void {
    this.closed = true;
    this.timedOut = true;
    this.drainUntil = null;
    this.framesOut.length = 0;
  }

  /**
   * The peer retires one of our source connection IDs (RETIRE_CONNECTION_ID): it leaves
   * `sourceIds()`, shows up in `retiredScids()` and `retiredScidNext()`, and the peer accepts one
   * more.
   *
   * @param cid The retired ID; it must be one of `sourceIds()`.
   */
  retireByPeer(cid: Uint8Array): void {
    const i = this.scids.findIndex((c) => c.equals(Buffer.from(cid)));
    if (i < 0) throw new Error(`FakeQuicheConnection: ${Buffer.from(cid).toString('hex')} is not an active source ID`);
    const [removed] = this.scids.splice(i, 1);
    this.retired.push(removed!);
    this.scidsLeftValue++;
  }

  /**
   * Sets how many more bytes a stream accepts, e.g. `0` to make `streamSend` return `null`.
   *
   * @param streamId The stream.
   * @param bytes Its new send capacity.
   */
  setStreamCapacity(streamId: number, bytes: number): void {
    this.stream(streamId).capacity = bytes;
  }

  // ---------------------------------------------------------------------------------------------
  // napi.Connection: packets and timers

  recv(buf: Uint8Array, from: napi.SocketAddress | null, to: napi.SocketAddress | null, segmentSize?: number | null): number {
    // As the addon: null means the address of the previous call (recorded resolved).
    if ((from ?? this.lastRecvFrom) === null || (to ?? this.lastRecvTo) === null) {
      throw nativeError('InvalidArgument', 'no address given, and none before');
    }
    from = this.lastRecvFrom = from ?? this.lastRecvFrom;
    to = this.lastRecvTo = to ?? this.lastRecvTo;
    this.record('recv', [Buffer.from(buf), from, to, segmentSize ?? null]);
    if (this.closed) throw nativeError('ConnectionClosed', 'the connection is closed');
    const failure = this.recvFailures.shift();
    if (failure) {
      this.closeLocally({ isApp: false, errorCode: failure.wireCode, reason: '' });
      throw nativeError(failure.code, `fake recv failure: ${failure.code}`);
    }
    // While draining, quiche reads nothing more.
    if (this.drainUntil !== null) return 0;
    const size = segmentSize && segmentSize > 0 ? segmentSize : buf.length;
    for (let offset = 0; offset < buf.length; offset += size) {
      const datagram = buf.subarray(offset, Math.min(buf.length, offset + size));
      this.datagramsReceived++;
      this.bytesReceived += datagram.length;
      for (const frame of decodeFakeFrames(datagram) ?? []) this.apply(frame);
    }
    this.afterRecv?.(buf, this);
    return buf.length;
  }

  send(out: Uint8Array, lengths: Uint32Array, uniform?: boolean | null): napi.SendBatch | null {
    this.record('send', [out.length, lengths.length, uniform ?? false]);
    const failure = this.sendFailures.shift();
    if (failure) throw nativeError(failure, `fake send failure: ${failure}`);
    if (this.closed) return null;
    let count = 0;
    let bytes = 0;
    let first = 0;
    while (count < lengths.length) {
      const next = this.peekDatagram();
      if (next === null) break;
      if (count === 0 && next.length > out.length) throw nativeError('BufferTooShort', 'the send buffer cannot hold one packet');
      if (bytes + next.length > out.length) break;
      if (uniform && count > 0 && (next.length > first || lengths[count - 1]! < first)) break;
      this.takeDatagram();
      out.set(next, bytes);
      lengths[count] = next.length;
      if (count === 0) first = next.length;
      bytes += next.length;
      count++;
    }
    if (count === 0) return null;
    this.packetsSent += count;
    this.bytesSent += bytes;
    return { count, bytes, segmentSize: first, to: { ...this.peer }, from: { ...this.local }, delayUs: 0 };
  }

  timeout(): number | null {
    this.record('timeout', []);
    if (this.closed) return null;
    if (this.drainUntil !== null) return Math.max(0, this.drainUntil - this.clock());
    return this.timeouts.length > 0 ? this.timeouts.shift()! : this.timeoutMs;
  }

  onTimeout(): void {
    this.record('onTimeout', []);
    if (this.drainUntil !== null && this.clock() >= this.drainUntil) {
      this.drainUntil = null;
      this.closed = true;
    }
    this.afterTimeout?.(this);
  }

  // ---------------------------------------------------------------------------------------------
  // napi.Connection: streams

  streamSend(streamId: number, data: Uint8Array, fin: boolean): number | null {
    this.record('streamSend', [streamId, Buffer.from(data), fin]);
    const s = this.stream(streamId);
    if (s.stoppedCode !== null) {
      throw nativeError('StreamStopped', `stream stopped by the peer streamId=${streamId} errorCode=${s.stoppedCode}`);
    }
    if (s.finSent || s.writeShut) throw nativeError('FinalSize', `stream already finished streamId=${streamId}`);
    const n = Math.min(data.length, s.capacity);
    if (data.length > 0 && n === 0) return null;
    const sentFin = fin && n === data.length;
    if (n === 0 && !sentFin) return 0;
    const chunk = Buffer.from(data.subarray(0, n));
    s.written.push(chunk);
    s.capacity -= n;
    if (sentFin) s.finSent = true;
    this.framesOut.push({ type: 'stream', streamId, data: chunk, fin: sentFin });
    return n;
  }

  streamRecv(streamId: number, out: Uint8Array): napi.StreamRead | null {
    this.record('streamRecv', [streamId, out.length]);
    const s = this.streams.get(streamId);
    if (s === undefined) throw nativeError('InvalidStreamState', `no such stream streamId=${streamId}`);
    if (s.resetCode !== null) {
      s.resetReported = true;
      throw nativeError('StreamReset', `stream reset by the peer streamId=${streamId} errorCode=${s.resetCode}`);
    }
    let bytes = 0;
    while (bytes < out.length && s.incoming.length > 0) {
      const chunk = s.incoming[0]!;
      const n = Math.min(chunk.length, out.length - bytes);
      out.set(chunk.subarray(0, n), bytes);
      bytes += n;
      if (n === chunk.length) s.incoming.shift();
      else s.incoming[0] = chunk.subarray(n);
    }
    const fin = s.finReceived && !s.finRead && s.incoming.length === 0;
    if (bytes === 0 && !fin) return null;
    if (fin) s.finRead = true;
    return { bytes, fin };
  }

  streamShutdown(streamId: number, direction: napi.Shutdown, errorCode: number): boolean {
    this.record('streamShutdown', [streamId, direction, errorCode]);
    const s = this.stream(streamId);
    if ((direction as string) === 'read') {
      if (s.readShut || s.finRead) return false;
      s.readShut = true;
      s.incoming.length = 0;
      this.framesOut.push({ type: 'stopSending', streamId, errorCode });
      return true;
    }
    if (s.writeShut || s.finSent) return false;
    s.writeShut = true;
    // Data not yet sent is abandoned.
    for (let i = this.framesOut.length - 1; i >= 0; i--) {
      const f = this.framesOut[i]!;
      if (f.type === 'stream' && f.streamId === streamId) this.framesOut.splice(i, 1);
    }
    this.framesOut.push({ type: 'resetStream', streamId, errorCode });
    return true;
  }

  streamCapacity(streamId: number): number {
    this.record('streamCapacity', [streamId]);
    const s = this.stream(streamId);
    if (s.stoppedCode !== null) {
      throw nativeError('StreamStopped', `stream stopped by the peer streamId=${streamId} errorCode=${s.stoppedCode}`);
    }
    return s.finSent || s.writeShut ? 0 : s.capacity;
  }

  streamPriority(streamId: number, urgency: number, incremental: boolean): void {
    this.record('streamPriority', [streamId, urgency, incremental]);
  }

  streamReadable(streamId: number): boolean {
    this.record('streamReadable', [streamId]);
    const s = this.streams.get(streamId);
    return s !== undefined && isReadable(s);
  }

  streamWritable(streamId: number, len: number): boolean {
    this.record('streamWritable', [streamId, len]);
    const s = this.streams.get(streamId);
    if (s?.stoppedCode != null) {
      throw nativeError('StreamStopped', `stream stopped by the peer streamId=${streamId} errorCode=${s.stoppedCode}`);
    }
    return s !== undefined ? this.isWritable(streamId, s) && s.capacity >= len : this.mayOpen(streamId);
  }

  streamFinished(streamId: number): boolean {
    this.record('streamFinished', [streamId]);
    return this.streams.get(streamId)?.finRead ?? false;
  }

  streamClosed(streamId: number): boolean {
    this.record('streamClosed', [streamId]);
    const s = this.streams.get(streamId);
    if (s === undefined) return true;
    const readDone = s.finRead || s.readShut || s.resetCode !== null || !this.peerSends(streamId);
    const writeDone = s.finSent || s.writeShut || s.stoppedCode !== null || !this.weSend(streamId);
    return readDone && writeDone;
  }

  readable(): Array<number> {
    this.record('readable', []);
    return [...this.streams].filter(([, s]) => isReadable(s)).map(([id]) => id);
  }

  writable(): Array<number> {
    this.record('writable', []);
    return [...this.streams].filter(([id, s]) => this.isWritable(id, s) && s.capacity > 0).map(([id]) => id);
  }

  streamReadableNext(): number | null {
    this.record('streamReadableNext', []);
    for (const [id, s] of this.streams) if (isReadable(s)) return id;
    return null;
  }

  streamWritableNext(): number | null {
    this.record('streamWritableNext', []);
    for (const [id, s] of this.streams) if (this.isWritable(id, s) && s.capacity > 0) return id;
    return null;
  }

  peerStreamsLeftBidi(): number {
    this.record('peerStreamsLeftBidi', []);
    return 100;
  }

  peerStreamsLeftUni(): number {
    this.record('peerStreamsLeftUni', []);
    return 100;
  }

  // ---------------------------------------------------------------------------------------------
  // napi.Connection: datagrams

  dgramSend(data: Uint8Array): boolean {
    this.record('dgramSend', [Buffer.from(data)]);
    const max = this.maxDatagram();
    if (max === null) throw nativeError('InvalidState', 'the peer does not accept datagrams');
    if (data.length > max) throw nativeError('BufferTooShort', `datagram larger than ${max} bytes`);
    this.framesOut.push({ type: 'datagram', data: Buffer.from(data) });
    return true;
  }

  dgramRecv(out: Uint8Array): number | null {
    this.record('dgramRecv', [out.length]);
    const next = this.datagramsIn[0];
    if (next === undefined) return null;
    if (next.length > out.length) throw nativeError('BufferTooShort', `datagram of ${next.length} bytes`);
    this.datagramsIn.shift();
    out.set(next, 0);
    return next.length;
  }

  dgramMaxWritableLen(): number | null {
    this.record('dgramMaxWritableLen', []);
    return this.maxDatagram();
  }

  dgramRecvQueueLen(): number {
    this.record('dgramRecvQueueLen', []);
    return this.datagramsIn.length;
  }

  dgramSendQueueLen(): number {
    this.record('dgramSendQueueLen', []);
    return this.framesOut.filter((f) => f.type === 'datagram').length;
  }

  // ---------------------------------------------------------------------------------------------
  // napi.Connection: state and closing

  close(app: boolean, errorCode: number, reason?: string | Uint8Array | null): boolean {
    this.record('close', [app, errorCode, typeof reason === 'string' || reason == null ? reason ?? '' : Buffer.from(reason)]);
    if (this.closed || this.localErr !== null || this.drainUntil !== null) return false;
    const text = typeof reason === 'string' || reason == null ? reason ?? '' : Buffer.from(reason).toString('utf8');
    // RFC 9000 §10.2.3: before the handshake, an application close goes out as APPLICATION_ERROR.
    const visible = this.established || this.earlyData;
    this.closeLocally(app && !visible ? { isApp: false, errorCode: APPLICATION_ERROR, reason: '' } : { isApp: app, errorCode, reason: text });
    return true;
  }

  isEstablished(): boolean {
    this.record('isEstablished', []);
    return this.established;
  }

  isInEarlyData(): boolean {
    this.record('isInEarlyData', []);
    return this.earlyData;
  }

  earlyDataReason(): number {
    this.record('earlyDataReason', []);
    return 0;
  }

  isResumed(): boolean {
    this.record('isResumed', []);
    return false;
  }

  isReadable(): boolean {
    this.record('isReadable', []);
    for (const s of this.streams.values()) if (isReadable(s)) return true;
    return this.datagramsIn.length > 0;
  }

  isDraining(): boolean {
    this.record('isDraining', []);
    return this.drainUntil !== null;
  }

  isClosed(): boolean {
    this.record('isClosed', []);
    return this.closed;
  }

  isTimedOut(): boolean {
    this.record('isTimedOut', []);
    return this.timedOut;
  }

  isServer(): boolean {
    this.record('isServer', []);
    return this.options.isServer ?? true;
  }

  peerError(): napi.ConnectionErrorInfo | null {
    this.record('peerError', []);
    return this.peerErr === null ? null : { ...this.peerErr };
  }

  localError(): napi.ConnectionErrorInfo | null {
    this.record('localError', []);
    return this.localErr === null ? null : { ...this.localErr };
  }

  stats(): napi.ConnectionStats {
    this.record('stats', []);
    return {
      recv: this.datagramsReceived,
      sent: this.packetsSent,
      lost: 0,
      spuriousLost: 0,
      retrans: 0,
      sentBytes: this.bytesSent,
      recvBytes: this.bytesReceived,
      ackedBytes: 0,
      lostBytes: 0,
      streamRetransBytes: 0,
      dgramRecv: 0,
      dgramSent: 0,
      pathsCount: 1,
      resetStreamCountLocal: 0,
      stoppedStreamCountLocal: 0,
      resetStreamCountRemote: 0,
      stoppedStreamCountRemote: 0,
      dataBlockedSentCount: 0,
      streamDataBlockedSentCount: 0,
      dataBlockedRecvCount: 0,
      streamDataBlockedRecvCount: 0,
      streamsBlockedBidiRecvCount: 0,
      streamsBlockedUniRecvCount: 0,
      pathChallengeRxCount: 0,
      amplificationLimitedCount: 0,
      bytesInFlightDurationUs: 0,
    };
  }

  pathStats(): Array<napi.PathStats> {
    this.record('pathStats', []);
    return [
      {
        localAddr: { ...this.local },
        peerAddr: { ...this.peer },
        validationState: 'validated',
        active: true,
        recv: this.datagramsReceived,
        sent: this.packetsSent,
        lost: 0,
        retrans: 0,
        totalPtoCount: 0,
        dgramRecv: 0,
        dgramSent: 0,
        dgramLost: 0,
        rttUs: 0,
        rttVarUs: 0,
        cwnd: 0,
        sentBytes: this.bytesSent,
        recvBytes: this.bytesReceived,
        lostBytes: 0,
        streamRetransBytes: 0,
        pmtu: 1200,
        deliveryRate: 0,
      },
    ];
  }

  session(): Buffer | null {
    this.record('session', []);
    return null;
  }

  traceId(): string {
    this.record('traceId', []);
    return this.scids[0]?.toString('hex') ?? '';
  }

  applicationProto(): string {
    this.record('applicationProto', []);
    return this.established || this.earlyData ? this.options.applicationProto ?? '' : '';
  }

  serverName(): string | null {
    this.record('serverName', []);
    return this.options.serverName ?? null;
  }

  peerCertChain(): Array<Buffer> | null {
    this.record('peerCertChain', []);
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // napi.Connection: connection IDs

  sourceId(): Buffer {
    this.record('sourceId', []);
    return Buffer.from(this.scids[0] ?? Buffer.alloc(0));
  }

  destinationId(): Buffer {
    this.record('destinationId', []);
    return Buffer.from(this.dcid);
  }

  sourceIds(): Array<Buffer> {
    this.record('sourceIds', []);
    return this.scids.map((c) => Buffer.from(c));
  }

  scidsLeft(): number {
    this.record('scidsLeft', []);
    return this.scidsLeftValue;
  }

  activeScids(): number {
    this.record('activeScids', []);
    return this.scids.length;
  }

  newScid(scid: Uint8Array, resetToken: Uint8Array, retireIfNeeded: boolean): number {
    this.record('newScid', [Buffer.from(scid), Buffer.from(resetToken), retireIfNeeded]);
    if (scid.length === 0) throw nativeError('InvalidState', 'zero-length connection IDs are in use');
    if (this.scidsLeftValue <= 0) throw nativeError('IdLimit', 'the peer takes no more connection IDs');
    this.scids.push(Buffer.from(scid));
    this.scidsLeftValue--;
    return ++this.scidSeq;
  }

  retiredScidNext(): Buffer | null {
    this.record('retiredScidNext', []);
    return this.retired.shift() ?? null;
  }

  retiredScids(): number {
    this.record('retiredScids', []);
    return this.retired.length;
  }

  retireDcid(seq: number): void {
    this.record('retireDcid', [seq]);
  }

  availableDcids(): number {
    this.record('availableDcids', []);
    return 0;
  }

  // ---------------------------------------------------------------------------------------------
  // napi.Connection: paths, sizes, logs (recorded; neutral answers)

  probePath(local: napi.SocketAddress, peer: napi.SocketAddress): number {
    this.record('probePath', [local, peer]);
    return 0;
  }

  migrate(local: napi.SocketAddress, peer: napi.SocketAddress): number {
    this.record('migrate', [local, peer]);
    return 0;
  }

  migrateSource(local: napi.SocketAddress): number {
    this.record('migrateSource', [local]);
    return 0;
  }

  isPathValidated(from: napi.SocketAddress, to: napi.SocketAddress): boolean {
    this.record('isPathValidated', [from, to]);
    return true;
  }

  pathEventNext(): napi.PathEvent | null {
    this.record('pathEventNext', []);
    return null;
  }

  pathsIter(from: napi.SocketAddress): Array<napi.SocketAddress> {
    this.record('pathsIter', [from]);
    return this.closed ? [] : [{ ...this.peer }];
  }

  maxSendUdpPayloadSize(): number {
    this.record('maxSendUdpPayloadSize', []);
    return 1200;
  }

  sendQuantum(): number {
    this.record('sendQuantum', []);
    return 12_000;
  }

  sendAckEliciting(): void {
    this.record('sendAckEliciting', []);
    this.framesOut.push({ type: 'ping' });
  }

  setQlogFile(path: string, title: string, description: string): void {
    this.record('setQlogFile', [path, title, description]);
  }

  enableQlogStream(title: string, description: string): void {
    this.record('enableQlogStream', [title, description]);
  }

  takeQlog(): Buffer | null {
    this.record('takeQlog', []);
    return null;
  }

  setKeylogFile(path: string): void {
    this.record('setKeylogFile', [path]);
  }

  enableKeylogStream(): void {
    this.record('enableKeylogStream', []);
  }

  takeKeylog(): Buffer | null {
    this.record('takeKeylog', []);
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private record(method: string, args: unknown[]): void {
    const call: FakeCall = { method, args, at: this.clock() };
    this.calls.push(call);
    this.calls$.next(call);
  }

  /** Applies one frame from the peer (or a scripting method). */
  private apply(frame: FakeFrame): void {
    switch (frame.type) {
      case 'stream': {
        const s = this.stream(frame.streamId);
        if (s.readShut) return;
        if (frame.data.length > 0) s.incoming.push(Buffer.from(frame.data));
        if (frame.fin) s.finReceived = true;
        return;
      }
      case 'datagram':
        this.datagramsIn.push(Buffer.from(frame.data));
        return;
      case 'resetStream': {
        const s = this.stream(frame.streamId);
        s.resetCode = frame.errorCode;
        s.incoming.length = 0;
        return;
      }
      case 'stopSending':
        this.stream(frame.streamId).stoppedCode = frame.errorCode;
        return;
      case 'connectionClose':
        if (this.closed) return;
        this.peerErr = { isApp: frame.isApp, errorCode: frame.errorCode, reason: frame.reason };
        this.framesOut.length = 0;
        this.startClosing();
        return;
      case 'handshakeDone':
        this.establish();
        return;
      case 'earlyData':
        this.enterEarlyData();
        return;
      case 'ping':
        return;
    }
  }

  /** Records our close and queues the CONNECTION_CLOSE; `send()` then ends the connection. */
  private closeLocally(error: napi.ConnectionErrorInfo): void {
    this.localErr = error;
    this.framesOut.length = 0;
    this.framesOut.push({ type: 'connectionClose', ...error });
  }

  /** Closes now, or starts draining. */
  private startClosing(): void {
    const drain = this.options.drainTimeout ?? null;
    if (drain === null) this.closed = true;
    else this.drainUntil = this.clock() + drain;
  }

  /** The next datagram `send()` would write, without taking it. */
  private peekDatagram(): Buffer | null {
    if (this.rawOut.length > 0) return this.rawOut[0]!;
    const frame = this.framesOut[0];
    return frame === undefined ? null : shortHeaderPacket(this.dcid, encodeFakeFrames([frame]));
  }

  /** Takes the datagram {@link peekDatagram} returned; sending our CONNECTION_CLOSE ends the connection. */
  private takeDatagram(): void {
    if (this.rawOut.length > 0) {
      this.rawOut.shift();
      return;
    }
    const frame = this.framesOut.shift();
    if (frame?.type === 'connectionClose') this.startClosing();
  }

  private stream(streamId: number): FakeStream {
    let s = this.streams.get(streamId);
    if (s === undefined) {
      s = {
        incoming: [],
        finReceived: false,
        finRead: false,
        resetCode: null,
        resetReported: false,
        written: [],
        finSent: false,
        capacity: this.options.streamCapacity ?? 1 << 20,
        stoppedCode: null,
        readShut: false,
        writeShut: false,
      };
      this.streams.set(streamId, s);
    }
    return s;
  }

  /** Whether we may write to a stream: bidirectional, or unidirectional and ours. */
  private weSend(streamId: number): boolean {
    return (streamId & 0x2) === 0 || this.isLocal(streamId);
  }

  /** Whether the peer writes to a stream: bidirectional, or unidirectional and theirs. */
  private peerSends(streamId: number): boolean {
    return (streamId & 0x2) === 0 || !this.isLocal(streamId);
  }

  private isLocal(streamId: number): boolean {
    return (streamId & 0x1) === ((this.options.isServer ?? true) ? 1 : 0);
  }

  private mayOpen(streamId: number): boolean {
    return this.isLocal(streamId) && (this.established || this.earlyData);
  }

  private isWritable(streamId: number, s: FakeStream): boolean {
    return this.weSend(streamId) && !s.finSent && !s.writeShut && s.stoppedCode === null;
  }

  private maxDatagram(): number | null {
    return this.options.dgramMaxWritableLen === undefined ? 1200 : this.options.dgramMaxWritableLen;
  }
}

function isReadable(s: FakeStream): boolean {
  return s.incoming.length > 0 || (s.finReceived && !s.finRead) || (s.resetCode !== null && !s.resetReported);
}

function toBuffer(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
}

/** An error shaped like the addon's: a plain `Error` whose `code` is the quiche name. */
function nativeError(code: QuicErrorCode, message: string): Error & { code: QuicErrorCode } {
  return Object.assign(new Error(message), { code });
}
