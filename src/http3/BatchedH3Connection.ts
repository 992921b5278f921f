import { napi, type QuicheConnection } from '../native/binding';
import type { H3ConnectionLike, H3QuicheConnection } from './H3ConnectionLike';
import { decodeFieldSection, encodeFieldSection } from './h3FieldSection';
import type { H3Header } from './H3Headers';

/** Events one `pollEvents` crossing brings at most. */
const BATCH_EVENTS = 128;

/** The event types by the kind number `pollEvents` writes. */
const KINDS = ['headers', 'data', 'finished', 'reset', 'priorityUpdate', 'goaway'] as const;

// The buffers `pollEvents` writes into, shared by every connection: each batch is decoded into the
// connection's own queue before the call returns, so nothing in them outlives the call.
const nums = new Float64Array(BATCH_EVENTS * 4);
let sectionBytes = Buffer.allocUnsafe(16 * 1024);

/**
 * The native HTTP/3 connection as the driver uses it ({@link H3ConnectionLike}), over the batched
 * native calls: the default HTTP/3 layer of every driver.
 *
 * `poll()` serves events from a queue that one `pollEvents` crossing refills with everything quiche
 * has (up to 128 events), decoded from numbers and bytes into plain objects; the header-sending
 * calls encode their fields into a shared buffer for the `send…Encoded` calls. The napi-rs objects
 * `poll()` and the `H3Header[]` calls made per event and per field were most of the boundary's cost.
 *
 * Events come in quiche's order; one polled before a call the driver makes in between (a body read,
 * a response) is the same event `poll()` would have returned then, since quiche reports only what
 * it already holds. A driver that stops polling mid-batch (it was disposed) drops the rest with the
 * connection.
 *
 * ## Example
 * ```ts
 * const h3 = BatchedH3Connection.withTransport(qconn, new napi.H3Config());
 * for (let e = h3.poll(qconn); e !== null; e = h3.poll(qconn)) dispatch(e);
 * ```
 */
export class BatchedH3Connection implements H3ConnectionLike {
  // Events polled and not yet returned, from `head` on.
  private readonly queue: napi.H3Event[] = [];
  private head = 0;
  // The stream whose last recvBody did not fill the buffer: quiche has nothing more for it until
  // packets arrive, which only the next refill can follow. -1: none.
  private drainedStream = -1;
  // quiche said it had no more events at the last refill, and nothing since could have made one: no
  // packets (inputArrived) and no body read (quiche's recv_body can reach a FIN or trailers, which
  // the next poll reports). The poll that would find nothing is skipped.
  private drained = false;

  /**
   * Creates the HTTP/3 layer of a connection, which queues our SETTINGS.
   *
   * @param qconn The established (or early-data) QUIC connection.
   * @param config The HTTP/3 configuration.
   * @throws What `napi.H3Connection.withTransport` throws (`InternalError`, `StreamLimit`).
   */
  static withTransport(qconn: H3QuicheConnection, config: napi.H3Config): BatchedH3Connection {
    return new BatchedH3Connection(napi.H3Connection.withTransport(qconn as QuicheConnection, config));
  }

  /** @param native The native HTTP/3 connection to drive. */
  constructor(private readonly native: napi.H3Connection) {}

  /**
   * The next event, or `null` when quiche has none: from the queue, refilled by one crossing.
   *
   * @throws What `pollEvents` throws: an HTTP/3 protocol error, raised once the events quiche
   * returned before it were served.
   */
  poll(conn: H3QuicheConnection): napi.H3Event | null {
    if (this.head === this.queue.length) {
      if (this.drained) return null;
      this.queue.length = 0;
      this.head = 0;
      this.refill(conn as QuicheConnection);
      if (this.queue.length === 0) return null;
    }
    return this.queue[this.head++]!;
  }

  private refill(conn: QuicheConnection): void {
    this.drainedStream = -1;
    let n = this.native.pollEvents(conn, nums, sectionBytes);
    while (n < 0) {
      // One field section is larger than the buffer: quiche's event waits in the addon meanwhile.
      sectionBytes = Buffer.allocUnsafe(Math.max(-n, sectionBytes.length * 2));
      n = this.native.pollEvents(conn, nums, sectionBytes);
    }
    // After the events, pollEvents says whether quiche had no more (-1) or one waits (-2).
    this.drained = n < BATCH_EVENTS && nums[n * 4] === -1;
    const bytes = sectionBytes;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const kind = nums[i * 4]!;
      const streamId = nums[i * 4 + 1]!;
      const detail = nums[i * 4 + 2]!;
      const end = nums[i * 4 + 3]!;
      if (kind === 0) {
        const headers = decodeFieldSection(bytes, start, end);
        this.queue.push({ type: 'headers', streamId, headers, moreFrames: detail === 1, errorCode: undefined });
      } else {
        const errorCode = kind === 3 ? detail : undefined;
        this.queue.push({ type: KINDS[kind] ?? 'unknown', streamId, headers: undefined, moreFrames: undefined, errorCode });
      }
      start = end;
    }
  }

  /** Sends a request; see `napi.H3Connection.sendRequest`. */
  sendRequest(conn: H3QuicheConnection, headers: H3Header[], fin: boolean): number {
    return this.native.sendRequestEncoded(conn as QuicheConnection, encodeFieldSection(headers), fin);
  }

  /** Sends response headers; see `napi.H3Connection.sendResponse`. */
  sendResponse(
    conn: H3QuicheConnection,
    streamId: number,
    headers: H3Header[],
    fin: boolean,
    urgency?: number,
    incremental?: boolean,
  ): void {
    this.native.sendResponseEncoded(conn as QuicheConnection, streamId, encodeFieldSection(headers), fin, urgency, incremental);
  }

  /** Sends response headers and the body bytes the stream takes now; see `napi.H3Connection.sendResponseWithBody`. */
  sendResponseWithBody(
    conn: H3QuicheConnection,
    streamId: number,
    headers: H3Header[],
    body: Uint8Array,
    fin: boolean,
    urgency?: number,
    incremental?: boolean,
  ): number {
    const encoded = encodeFieldSection(headers);
    return this.native.sendResponseWithBody(conn as QuicheConnection, streamId, encoded, body, fin, urgency, incremental);
  }

  /** Sends a 1xx response or trailers; see `napi.H3Connection.sendAdditionalHeaders`. */
  sendAdditionalHeaders(conn: H3QuicheConnection, streamId: number, headers: H3Header[], isTrailer: boolean, fin: boolean): void {
    this.native.sendAdditionalHeadersEncoded(conn as QuicheConnection, streamId, encodeFieldSection(headers), isTrailer, fin);
  }

  sendBody(conn: H3QuicheConnection, streamId: number, body: Uint8Array, fin: boolean): number | null {
    return this.native.sendBody(conn as QuicheConnection, streamId, body, fin);
  }

  /**
   * Reads body bytes; `null` when none are ready. quiche's `recv_body` fills `out` with all it has
   * (across DATA frames), so after a read that did not fill it the next one is `null`: that one is
   * answered here, without the crossing, unless a poll came in between (packets may have arrived).
   */
  recvBody(conn: H3QuicheConnection, streamId: number, out: Uint8Array): number | null {
    if (streamId === this.drainedStream) {
      this.drainedStream = -1;
      return null;
    }
    this.drained = false;
    const n = this.native.recvBody(conn as QuicheConnection, streamId, out);
    this.drainedStream = n !== null && n < out.length ? streamId : -1;
    return n;
  }

  /** Packets arrived: quiche may have events again (see `H3ConnectionLike.inputArrived`). */
  inputArrived(): void {
    this.drained = false;
  }

  sendGoaway(conn: H3QuicheConnection, id: number): void {
    this.native.sendGoaway(conn as QuicheConnection, id);
  }

  sendPriorityUpdateForRequest(conn: H3QuicheConnection, streamId: number, urgency: number, incremental: boolean): void {
    this.native.sendPriorityUpdateForRequest(conn as QuicheConnection, streamId, urgency, incremental);
  }

  takeLastPriorityUpdate(streamId: number): string | null {
    return this.native.takeLastPriorityUpdate(streamId);
  }

  peerSettingsRaw(): Array<Array<number>> | null {
    return this.native.peerSettingsRaw();
  }
}
