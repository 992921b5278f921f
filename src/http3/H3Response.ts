import type { Observable } from 'rxjs';

import type { H3DatagramFlow } from './H3DatagramFlow';
import type { H3Header } from './H3Headers';
import type { H3StreamStats } from './H3StreamStats';

/**
 * A response a client received, from `ClientH3Controller.request()`.
 *
 * The body is read with backpressure (see `InboundBody`): nothing is read from quiche until
 * `body$` is subscribed or `body` iterated, and a body nobody reads keeps its stream open (and the
 * server waiting) until the connection closes.
 */
export interface H3Response {
  /** The request stream. */
  readonly streamId: number;
  /** The status. */
  readonly status: number;
  /** What happened on the request's stream so far (bytes each way, FINs, resets, STOP_SENDING). */
  readonly stats: H3StreamStats;
  /** Every field of the final response's header section, `:status` first. */
  readonly headers: readonly H3Header[];
  /** The header sections of informational (1xx) responses that came before, in order. */
  readonly informational: readonly (readonly H3Header[])[];
  /**
   * The response body as chunks. Read it once, as `body$` or `body`. Unsubscribing before the end
   * sends STOP_SENDING (H3_REQUEST_CANCELLED).
   *
   * Errors with a `QuicStreamError` `StreamReset` (with `applicationCode`) when the server resets
   * the stream, and with the connection's error when the connection fails.
   */
  readonly body$: Observable<Uint8Array>;
  /** The response body as an AsyncIterable: the pull form of `body$`. */
  readonly body: AsyncIterable<Uint8Array>;
  /**
   * The request's HTTP/3 datagram flow (RFC 9297), or `null`: a request that is an extended
   * CONNECT (it has `:protocol`) has one, with flow id `streamId / 4`.
   */
  readonly flow: H3DatagramFlow | null;
  /** The trailers: emits once after the body if the server sent any, then completes. */
  readonly trailers$: Observable<readonly H3Header[]>;

  /**
   * The value of the first field called `name`, or `undefined`.
   *
   * @param name The field name (case-insensitive).
   */
  header(name: string): string | undefined;
}
