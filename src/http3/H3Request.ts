import type { Observable, ObservableInput } from 'rxjs';

import type { H3DatagramFlow } from './H3DatagramFlow';
import type { H3Header } from './H3Headers';
import type { H3ResponseInit } from './H3ResponseInit';
import type { H3StreamStats } from './H3StreamStats';

/**
 * A request a server received: tokio-quiche's `IncomingH3Headers` with its body and a way to
 * answer. The server controller's `request$` emits these; `serveHttp3` hands them to a handler.
 *
 * The pseudo-header fields are read out for convenience (`''` when the request lacks one); the
 * full list is in `headers`.
 */
export interface H3Request {
  /** The request stream. */
  readonly streamId: number;
  /** Every field of the request's header section, pseudo-header fields first. */
  readonly headers: readonly H3Header[];
  /** `:method`. */
  readonly method: string;
  /** `:scheme`. */
  readonly scheme: string;
  /** `:authority`. */
  readonly authority: string;
  /** `:path`. */
  readonly path: string;
  /** Whether the request arrived in 0-RTT early data (replayable: serve only idempotent requests). */
  readonly isInEarlyData: boolean;
  /** What happened on the request's stream so far (bytes each way, FINs, resets, STOP_SENDING). */
  readonly stats: H3StreamStats;
  /**
   * The raw Priority Field Value (RFC 9218, e.g. `u=1, i`) of the latest PRIORITY_UPDATE the client
   * sent for this request, if any: kept up to date while the request is open (a `priorityUpdate`
   * event reports each change). The priority the request started with is its `priority` header.
   */
  readonly priority: string | undefined;

  /**
   * The request's HTTP/3 datagram flow (RFC 9297), or `null`: only an extended CONNECT (a
   * `:protocol`, e.g. `connect-udp` of RFC 9298) on a server with `enableExtendedConnect` has one,
   * with flow id `streamId / 4`. Datagrams for a request without a flow are dropped.
   */
  readonly flow: H3DatagramFlow | null;

  /**
   * The request body as chunks, read with backpressure (see `InboundBody`). Read it once, as
   * `body$` or `body`. Unsubscribing before the end sends STOP_SENDING (H3_REQUEST_CANCELLED).
   *
   * Errors with a `QuicStreamError` `StreamReset` (with `applicationCode`) when the client resets
   * the stream, and with the connection's error when the connection fails.
   */
  readonly body$: Observable<Uint8Array>;
  /** The request body as an AsyncIterable: the pull form of `body$`. */
  readonly body: AsyncIterable<Uint8Array>;
  /**
   * The request's trailers, delivered (tokio-quiche drops them): emits once after the body if the
   * client sent trailers, then completes.
   */
  readonly trailers$: Observable<readonly H3Header[]>;

  /**
   * The value of the first field called `name`, or `undefined`.
   *
   * @param name The field name (case-insensitive).
   */
  header(name: string): string | undefined;

  /**
   * Answers the request, once. `response` is a response, or an Observable (or Promise) of them:
   * each 1xx one is sent as it comes, the first final one (status ≥ 200) is the response, and the
   * subscription ends there. If it fails or completes without a final response before one was
   * sent, the server answers 500.
   *
   * @param response The response.
   * @throws {QuicError} `InvalidState` when the request was already answered.
   */
  respond(response: H3ResponseInit | ObservableInput<H3ResponseInit>): void;
}
