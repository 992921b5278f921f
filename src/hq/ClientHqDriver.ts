import { lastValueFrom, Observable, type Subscriber, toArray } from 'rxjs';

import type { ConnectionResult } from '../application/ApplicationOverQuic';
import { GRACEFUL_SHUTDOWN } from '../connection/ConnectionShutdownBehaviour';
import { QuicError } from '../errors/QuicError';
import type { napi, QuicheConnection } from '../native/binding';
import { fromNativeError } from '../native/errors';
import { ChurnMap } from '../util/ChurnMap';
import { TurnList } from '../util/TurnList';
import { HqDriver, sharedHqRecvBuffer } from './HqDriver';
import { formatHqRequest } from './hqRequestLine';
import { HQ_REQUEST_CANCELLED } from './hqWireCodes';

/** One request, from `request()` until its FIN, error or cancellation. */
interface PendingRequest {
  readonly line: Uint8Array;
  readonly subscriber: Subscriber<Uint8Array>;
  // Assigned when the stream is opened; bytes of the line quiche has taken.
  streamId: number | null;
  written: number;
  // Unsubscribed before the end: the stream is shut down at the next turn.
  cancelled: boolean;
  // In the driver's list of requests to write (see TurnList).
  inToWrite: number;
}

/**
 * An hq-interop (HTTP/0.9 over QUIC) client on one connection, as an {@link ApplicationOverQuic}:
 * {@link request} sends `GET /path\r\n` and the FIN on a new bidirectional stream and emits the
 * body the server writes back.
 *
 * Requests run in parallel. When the server's stream limit is reached (its
 * `initial_max_streams_bidi`, raised by MAX_STREAMS as earlier requests finish), new requests wait
 * in order and start as streams become available, so any number may be issued at once.
 *
 * Use it through {@link connectHq$}, or start it yourself with `connectWithConfig$` and the ALPN
 * `hq-interop`.
 *
 * # Errors
 * A request fails alone: `QuicStreamError('StreamReset')` when the server resets its stream (its
 * `applicationCode` says why: HQ_NOT_FOUND, HQ_BAD_REQUEST, HQ_INTERNAL_ERROR for this library's
 * server), `QuicError('InvalidArgument')` for a path that cannot be sent. When the connection ends,
 * every request still open fails with the connection's error, or `QuicError('ConnectionClosed')`
 * after a clean close.
 */
export class ClientHqDriver extends HqDriver {
  protected readonly isServer = false;
  // Not yet on a stream, in order.
  private readonly queue: PendingRequest[] = [];
  // On a stream, by stream id.
  private readonly active = new ChurnMap<number, PendingRequest>();
  // Requests with request bytes still to write, or a cancellation to send.
  private readonly toWrite = new TurnList<PendingRequest>('inToWrite');
  private nextStreamId = 0;
  private closing = false;

  /**
   * Fetches `path`: tokio-quiche-style, lazily.
   *
   * <span class="informal">One request per subscription; the body as it arrives.</span>
   *
   * On subscription the request is queued for the next turn; each chunk the server writes is
   * emitted as it is read (a copy: keep it as long as you like), and the Observable completes at
   * the server's FIN. Unsubscribing before that cancels the request: STOP_SENDING (and, if the
   * request line was not all sent, RESET_STREAM) with HQ_REQUEST_CANCELLED.
   *
   * Chunks are pushed as quiche delivers them; QUIC flow control paces the server only by how
   * fast this client reads, which is at once. To bound memory, consume chunks as they come.
   *
   * @param path The request target: `/` followed by printable ASCII without spaces.
   * @returns An Observable of the body's chunks.
   */
  request(path: string): Observable<Uint8Array> {
    return new Observable<Uint8Array>((subscriber) => {
      let line: Uint8Array;
      try {
        line = formatHqRequest(path);
      } catch (error) {
        subscriber.error(error);
        return undefined;
      }
      if (this.disposed || this.closing) {
        subscriber.error(new QuicError('ConnectionClosed', 'the hq-interop connection is closed'));
        return undefined;
      }
      const r: PendingRequest = { line, subscriber, streamId: null, written: 0, cancelled: false, inToWrite: 0 };
      this.queue.push(r);
      this.signal();
      return () => this.cancel(r);
    });
  }

  /**
   * Fetches `path` and resolves with the whole body.
   *
   * @param path The request target.
   * @returns The body's bytes.
   * @throws (rejects) what {@link request} errors with.
   */
  async get(path: string): Promise<Uint8Array> {
    const chunks = await lastValueFrom(this.request(path).pipe(toArray()));
    return Buffer.concat(chunks);
  }

  /**
   * Closes the connection cleanly (an application close with HQ_NO_ERROR) at the next turn; what
   * is still open fails with `ConnectionClosed`. `connectHq$` then completes.
   */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.quicCommand({ type: 'connectionClose', behaviour: GRACEFUL_SHUTDOWN });
  }

  /** Requests not yet answered in full (queued or on a stream). */
  get openRequests(): number {
    return this.queue.length + this.active.size;
  }

  private cancel(r: PendingRequest): void {
    if (r.cancelled) return;
    r.cancelled = true;
    if (r.streamId === null) {
      const i = this.queue.indexOf(r);
      if (i >= 0) this.queue.splice(i, 1);
      return;
    }
    if (this.active.get(r.streamId) !== r) return; // finished already
    this.toWrite.add(r);
    this.signal();
  }

  // ---- Reads -----------------------------------------------------------------------------------

  protected readStreams(qconn: QuicheConnection): void {
    const buf = sharedHqRecvBuffer();
    for (const id of qconn.readable()) {
      const r = this.active.get(id);
      if (r === undefined || r.cancelled) {
        // A stream the server opened, or one we gave up on: not ours to read.
        tryShutdown(qconn, id, 'read', HQ_REQUEST_CANCELLED);
        continue;
      }
      for (;;) {
        let read;
        try {
          read = qconn.streamRecv(id, buf);
        } catch (e) {
          this.finish(r);
          if (r.written < r.line.length) tryShutdown(qconn, id, 'write', HQ_REQUEST_CANCELLED);
          r.subscriber.error(fromNativeError(e));
          break;
        }
        if (read === null) break;
        if (read.bytes > 0) r.subscriber.next(buf.slice(0, read.bytes));
        if (read.fin) {
          this.finish(r);
          r.subscriber.complete();
          break;
        }
        // The subscriber unsubscribed while handling the chunk: the next turn stops the stream.
        if (r.cancelled) break;
      }
    }
  }

  private finish(r: PendingRequest): void {
    if (r.streamId !== null) this.active.delete(r.streamId);
    this.toWrite.delete(r);
  }

  // ---- Writes ----------------------------------------------------------------------------------

  protected writeStreams(qconn: QuicheConnection): boolean {
    this.toWrite.drain((r) => this.writeRequest(qconn, r));
    // Open streams while the server allows more; the rest wait for its MAX_STREAMS.
    while (this.queue.length > 0 && peerStreamsLeft(qconn) > 0) {
      const r = this.queue.shift()!;
      r.streamId = this.nextStreamId;
      this.nextStreamId += 4;
      this.active.set(r.streamId, r);
      this.writeRequest(qconn, r);
    }
    return false;
  }

  /** Writes what is left of the request line (and the FIN), or the cancellation. */
  private writeRequest(qconn: QuicheConnection, r: PendingRequest): void {
    const id = r.streamId!;
    if (r.cancelled) {
      this.finish(r);
      tryShutdown(qconn, id, 'read', HQ_REQUEST_CANCELLED);
      if (r.written < r.line.length) tryShutdown(qconn, id, 'write', HQ_REQUEST_CANCELLED);
      return;
    }
    try {
      const n = qconn.streamSend(id, r.line.subarray(r.written), true);
      if (n !== null) r.written += n;
    } catch (e) {
      this.finish(r);
      r.subscriber.error(fromNativeError(e));
      return;
    }
    // Short of flow control: retried at every turn until quiche takes it all.
    if (r.written < r.line.length) this.toWrite.add(r);
    else this.toWrite.delete(r);
  }

  protected onDispose(result: ConnectionResult): void {
    const error = result.ok ? new QuicError('ConnectionClosed', 'the connection closed before the request finished') : result.error;
    const open = [...this.queue, ...this.active.values()];
    this.queue.length = 0;
    this.active.clear();
    this.toWrite.clear();
    for (const r of open) if (!r.cancelled) r.subscriber.error(error);
  }
}

function peerStreamsLeft(qconn: QuicheConnection): number {
  try {
    return qconn.peerStreamsLeftBidi();
  } catch {
    return 0;
  }
}

function tryShutdown(qconn: QuicheConnection, id: number, direction: 'read' | 'write', code: number): void {
  try {
    qconn.streamShutdown(id, direction as napi.Shutdown, code);
  } catch {
    // Already finished or gone.
  }
}
