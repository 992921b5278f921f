import { type Observable, Subject } from 'rxjs';

import type { ConnectionResult } from '../application/ApplicationOverQuic';
import { QuicError } from '../errors/QuicError';
import type { QuicStreamError } from '../errors/QuicStreamError';
import { OutboundBody } from '../http3/OutboundBody';
import type { napi, QuicheConnection } from '../native/binding';
import { fromNativeError } from '../native/errors';
import { ChurnMap } from '../util/ChurnMap';
import { TurnList } from '../util/TurnList';
import { HqDriver, sharedHqRecvBuffer } from './HqDriver';
import type { HqEvent } from './HqEvent';
import type { HqBodyInit, HqHandler, HqRequest } from './HqRequest';
import { MAX_HQ_REQUEST_LINE, parseHqRequest } from './hqRequestLine';
import { HQ_BAD_REQUEST, HQ_INTERNAL_ERROR, HQ_NOT_FOUND, HQ_REQUEST_CANCELLED } from './hqWireCodes';

const EMPTY = new Uint8Array(0);
const LF = 0x0a;

/** One request stream, both directions. */
interface ServedStream {
  readonly id: number;
  // The request line so far (until its LF or the FIN).
  head: Uint8Array[];
  headBytes: number;
  request: HqRequest | null;
  // The client's side is over: its FIN was read, it reset, or we stopped reading.
  readDone: boolean;
  // The response: a body being pulled, chunks pulled and not yet written, the FIN after them.
  body: OutboundBody | null;
  readonly chunks: Uint8Array[];
  finQueued: boolean;
  bytesSent: number;
  // Our side is over: FIN written, or reset.
  writeDone: boolean;
  // Codes of a STOP_SENDING / RESET_STREAM to send at the next turn.
  stopCode: number | null;
  resetCode: number | null;
  // In the driver's per-turn lists (see TurnList).
  inPending: number;
  inBlocked: number;
}

/**
 * An hq-interop (HTTP/0.9 over QUIC) server on one connection: the QUIC Interop Runner's
 * application protocol, as an {@link ApplicationOverQuic}.
 *
 * Each client-initiated bidirectional stream carries one request, `GET /path` ended by CRLF (or
 * LF, or the stream's FIN); the answer is the body, then the FIN, on the same stream, without
 * headers or status. Requests on one connection run in parallel, as many as the streams the
 * server's `initialMaxStreamsBidi` lets the client open.
 *
 * The request line is read as it arrives (at most {@link MAX_HQ_REQUEST_LINE} bytes); `handler` is
 * called as soon as it is complete, and the body it returns is pulled only while the stream has
 * flow-control room, so a slow client holds a file back instead of filling memory. Bytes after the
 * request line are read and dropped until the client's FIN.
 *
 * Emits what happens to each stream on {@link event$} (hot; see {@link HqEvent}).
 *
 * # Errors
 * Nothing here fails the connection; every failure ends one stream:
 * - a malformed request line (not `GET /path`, too long, a dot segment, an encoded separator):
 *   STOP_SENDING and RESET_STREAM with HQ_BAD_REQUEST, a `badRequest` event whose `error` is a
 *   `QuicError` with code `MessageError`; the handler is not called;
 * - `null` / `undefined` from the handler: RESET_STREAM with HQ_NOT_FOUND;
 * - a handler that throws or rejects, or a body that fails: RESET_STREAM with HQ_INTERNAL_ERROR
 *   (after whatever part of the body was already written), a `responseError` event;
 * - the client's RESET_STREAM before the request line was complete, or its STOP_SENDING: the
 *   response is abandoned (the body's producer is cancelled), a `reset` / `stopped` event.
 */
export class ServerHqDriver extends HqDriver {
  protected readonly isServer = true;
  private readonly streams = new ChurnMap<number, ServedStream>();
  // Streams with something new to write, and streams waiting for the peer's flow control: per-turn
  // lists without hash tables (see src/util/README.md: a driver's Sets kept what they held alive).
  private readonly pending = new TurnList<ServedStream>('inPending');
  private readonly blocked = new TurnList<ServedStream>('inBlocked');
  private readonly events = new Subject<HqEvent>();

  /** What happens to each stream; completes when the connection is gone. */
  readonly event$: Observable<HqEvent> = this.events.asObservable();

  /**
   * @param handler Answers each request.
   */
  constructor(private readonly handler: HqHandler) {
    super();
  }

  /** Requests whose response is still being written or waited for. */
  get openStreams(): number {
    return this.streams.size;
  }

  // ---- Reads -----------------------------------------------------------------------------------

  protected readStreams(qconn: QuicheConnection): void {
    for (const id of qconn.readable()) {
      if (this.disposed) return;
      if (id % 4 !== 0) {
        // hq-interop has no unidirectional streams: stop the client sending on one.
        tryShutdown(qconn, id, 'read', HQ_BAD_REQUEST);
        continue;
      }
      let s = this.streams.get(id);
      if (s === undefined) {
        s = newStream(id);
        this.streams.set(id, s);
      }
      this.readRequest(qconn, s);
    }
    this.probeWaiting(qconn);
  }

  /** Reads a stream's request line, then drains it to the FIN. */
  private readRequest(qconn: QuicheConnection, s: ServedStream): void {
    const buf = sharedHqRecvBuffer();
    while (!s.readDone) {
      let read;
      try {
        read = qconn.streamRecv(s.id, buf);
      } catch (e) {
        this.onReadError(s, e);
        return;
      }
      if (read === null) break;
      if (s.request === null && read.bytes > 0) {
        s.head.push(buf.slice(0, read.bytes));
        s.headBytes += read.bytes;
      }
      if (read.fin) s.readDone = true;
      if (s.request === null && (buf.subarray(0, read.bytes).includes(LF) || s.readDone || s.headBytes > MAX_HQ_REQUEST_LINE)) {
        this.onRequestLine(qconn, s);
      }
    }
    this.maybeForget(s);
  }

  private onReadError(s: ServedStream, e: unknown): void {
    const error = fromNativeError(e);
    s.readDone = true;
    if (error.code === 'StreamReset') {
      const errorCode = (error as QuicStreamError).applicationCode ?? 0;
      this.emit({ type: 'reset', streamId: s.id, errorCode });
    }
    // Without a complete request there is nothing to answer; with one, the client gave up on it.
    this.abandon(s, HQ_REQUEST_CANCELLED);
  }

  /** The request line is complete (an LF, the FIN) or too long: parse it and call the handler. */
  private onRequestLine(qconn: QuicheConnection, s: ServedStream): void {
    const bytes = concat(s.head, s.headBytes);
    s.head = [];
    const lf = bytes.indexOf(LF);
    let path: string;
    try {
      // No LF yet and no FIN: the line grew past the limit.
      if ((lf < 0 && !s.readDone) || lf > MAX_HQ_REQUEST_LINE) throw tooLong();
      path = parseHqRequest(lf < 0 ? bytes : bytes.subarray(0, lf));
    } catch (e) {
      const error = e as QuicError;
      this.emit({ type: 'badRequest', streamId: s.id, error });
      if (!s.readDone) s.stopCode = HQ_BAD_REQUEST;
      this.abandon(s, HQ_BAD_REQUEST);
      return;
    }
    const request: HqRequest = { streamId: s.id, path, isInEarlyData: qconn.isInEarlyData() };
    s.request = request;
    this.emit({ type: 'request', request });
    let result;
    try {
      result = this.handler(request);
    } catch (error) {
      this.failResponse(s, error);
      return;
    }
    if (isPromiseLike(result)) {
      result.then(
        (body) => this.respond(s, body),
        (error: unknown) => this.failResponse(s, error),
      );
    } else {
      this.respond(s, result);
    }
  }

  /**
   * After packets: finds streams the client stopped (STOP_SENDING) while we had nothing to write on
   * them (a handler still thinking, a body between chunks). quiche answers the STOP_SENDING itself
   * but tells only a writer; probing the capacity finds it, so the producer is cancelled.
   */
  private probeWaiting(qconn: QuicheConnection): void {
    for (const s of this.streams.values()) {
      if (s.request === null || s.writeDone || s.chunks.length > 0 || s.finQueued || this.blocked.has(s)) continue;
      try {
        qconn.streamCapacity(s.id);
      } catch (e) {
        this.onWriteError(s, e);
      }
    }
  }

  // ---- Responses -------------------------------------------------------------------------------

  private respond(s: ServedStream, body: HqBodyInit | null | undefined): void {
    if (!this.isCurrent(s) || s.writeDone || s.resetCode !== null) return;
    if (body === null || body === undefined) {
      this.emit({ type: 'notFound', streamId: s.id, path: s.request!.path });
      this.abandon(s, HQ_NOT_FOUND);
      return;
    }
    try {
      s.body = new OutboundBody(body, {
        chunk: (data) => {
          if (s.writeDone || s.resetCode !== null) return;
          if (data.length > 0) s.chunks.push(data);
          this.markPending(s);
        },
        end: () => {
          if (s.writeDone || s.resetCode !== null) return;
          s.finQueued = true;
          this.markPending(s);
        },
        fail: (error) => this.failResponse(s, error),
        sentBytes: () => s.bytesSent,
      });
    } catch (error) {
      this.failResponse(s, error);
      return;
    }
    this.markPending(s);
  }

  private failResponse(s: ServedStream, error: unknown): void {
    if (!this.isCurrent(s) || s.writeDone || s.resetCode !== null) return;
    this.emit({ type: 'responseError', streamId: s.id, path: s.request?.path ?? '', error });
    this.abandon(s, HQ_INTERNAL_ERROR);
  }

  /** Resets our side with `code` at the next write (dropping what was not written). */
  private abandon(s: ServedStream, code: number): void {
    s.body?.cancel();
    s.chunks.length = 0;
    s.finQueued = false;
    if (!s.writeDone && s.resetCode === null) s.resetCode = code;
    this.markPending(s);
  }

  private markPending(s: ServedStream): void {
    if (!this.isCurrent(s)) return;
    this.pending.add(s);
    this.signal();
  }

  private isCurrent(s: ServedStream): boolean {
    return !this.disposed && this.streams.get(s.id) === s;
  }

  // ---- Writes ----------------------------------------------------------------------------------

  protected writeStreams(qconn: QuicheConnection): boolean {
    this.blocked.drain((s) => this.pending.add(s));
    this.pending.drain((s) => this.flush(qconn, s));
    return this.pending.size > 0;
  }

  /** Sends a stream's shutdowns, then its chunks and FIN, pulling the body while quiche takes more. */
  private flush(qconn: QuicheConnection, s: ServedStream): void {
    if (!this.isCurrent(s)) return;
    if (s.stopCode !== null) {
      tryShutdown(qconn, s.id, 'read', s.stopCode);
      s.stopCode = null;
      s.readDone = true;
    }
    if (s.resetCode !== null && !s.writeDone) {
      tryShutdown(qconn, s.id, 'write', s.resetCode);
      s.writeDone = true;
    }
    try {
      while (!s.writeDone) {
        const chunk = s.chunks[0];
        if (chunk !== undefined && s.chunks.length === 1 && !s.finQueued && s.body !== null && !s.body.done) {
          // Hold the last chunk until the body says whether more follows, so the FIN rides on the
          // last data (aioquic's hq client loses a response whose FIN comes alone while another
          // response is open). At most two chunks wait here.
          if (s.body.busy) break;
          s.body.pull();
          if (s.chunks.length === 1 && !s.finQueued) break;
          continue;
        }
        if (chunk !== undefined) {
          const fin = s.finQueued && s.chunks.length === 1;
          const n = qconn.streamSend(s.id, chunk, fin);
          if (n === null || n < chunk.length) {
            if (n !== null && n > 0) {
              s.chunks[0] = chunk.subarray(n);
              s.bytesSent += n;
            }
            this.blocked.add(s);
            break;
          }
          s.chunks.shift();
          s.bytesSent += n;
          if (fin) this.finished(s);
        } else if (s.finQueued) {
          if (qconn.streamSend(s.id, EMPTY, true) === null) {
            this.blocked.add(s);
            break;
          }
          this.finished(s);
        } else if (s.body !== null && !s.body.done && !s.body.busy) {
          // Pull only when the stream has room: at most one chunk waits here.
          if (qconn.streamCapacity(s.id) === 0) {
            this.blocked.add(s);
            break;
          }
          s.body.pull();
          // An asynchronous producer: its sink marks the stream when it delivers.
          if (s.chunks.length === 0 && !s.finQueued) break;
        } else {
          break;
        }
      }
    } catch (e) {
      this.onWriteError(s, e);
    }
    this.maybeForget(s);
  }

  private finished(s: ServedStream): void {
    s.writeDone = true;
    s.finQueued = false;
    this.emit({ type: 'responseSent', streamId: s.id, path: s.request?.path ?? '', bytes: s.bytesSent });
  }

  /** quiche refused a write: the client stopped the stream (STOP_SENDING) or it is gone. */
  private onWriteError(s: ServedStream, e: unknown): void {
    const error = fromNativeError(e);
    s.body?.cancel();
    s.chunks.length = 0;
    s.finQueued = false;
    s.writeDone = true;
    this.blocked.delete(s);
    if (error.code === 'StreamStopped') {
      this.emit({ type: 'stopped', streamId: s.id, errorCode: (error as QuicStreamError).applicationCode ?? 0 });
    }
    // Nothing more will be answered: stop reading what is left of the request, too.
    if (!s.readDone) s.stopCode = HQ_REQUEST_CANCELLED;
    if (s.stopCode !== null) this.markPending(s);
    this.maybeForget(s);
  }

  /** Forgets a stream once both sides are over. */
  private maybeForget(s: ServedStream): void {
    if (s.readDone && s.writeDone && s.stopCode === null && this.streams.get(s.id) === s) {
      this.streams.delete(s.id);
      this.pending.delete(s);
      this.blocked.delete(s);
    }
  }

  protected onDispose(_result: ConnectionResult): void {
    for (const s of this.streams.values()) s.body?.cancel();
    this.streams.clear();
    this.pending.clear();
    this.blocked.clear();
    this.events.complete();
  }

  private emit(event: HqEvent): void {
    if (!this.disposed) this.events.next(event);
  }
}

function newStream(id: number): ServedStream {
  return {
    id,
    head: [],
    headBytes: 0,
    request: null,
    readDone: false,
    body: null,
    chunks: [],
    finQueued: false,
    bytesSent: 0,
    writeDone: false,
    stopCode: null,
    resetCode: null,
    inPending: 0,
    inBlocked: 0,
  };
}

function tryShutdown(qconn: QuicheConnection, id: number, direction: 'read' | 'write', code: number): void {
  try {
    qconn.streamShutdown(id, direction as napi.Shutdown, code);
  } catch {
    // Already finished or gone: nothing to stop.
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function tooLong(): QuicError {
  return new QuicError('MessageError', `malformed hq-interop request: the request line is longer than ${MAX_HQ_REQUEST_LINE} bytes`);
}

function isPromiseLike(value: unknown): value is PromiseLike<HqBodyInit | null | undefined> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
