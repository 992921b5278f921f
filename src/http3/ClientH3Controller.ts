import type { Observable } from 'rxjs';

import type { H3RequestOptions } from './ClientH3Driver';
import { H3Controller, type H3DriverPort } from './H3Controller';
import type { H3HeadersInit } from './H3Headers';
import { checkPriority, type H3Priority } from './H3Priority';
import type { H3Response } from './H3Response';
import type { H3BodyInit } from './OutboundBody';

/** How a controller sends a request through its driver. Internal. */
export type SendRequest = (headers: H3HeadersInit, body?: H3BodyInit, options?: H3RequestOptions) => Observable<H3Response>;

/**
 * The controller of a {@link ClientH3Driver}: tokio-quiche's `ClientH3Controller`, with requests
 * as Observables.
 */
export class ClientH3Controller extends H3Controller {
  /**
   * @param port The driver's side.
   * @param sendRequest The driver's request function.
   */
  constructor(
    port: H3DriverPort,
    private readonly sendRequest: SendRequest,
  ) {
    super(port);
  }

  /**
   * Sends a request when subscribed, and emits its response once (then completes).
   *
   * `:method` defaults to `GET`, `:scheme` to `https`, `:path` to `/` and `:authority` to the
   * driver's authority (for `connect$`, the host). The body is pulled as the stream has capacity
   * (see `H3BodyInit`). Informational (1xx) responses are collected in `response.informational`.
   * A request the server's stream limit holds back waits until it may go.
   *
   * Unsubscribing before the response cancels the request: it leaves the queue, or its stream is
   * reset and stopped with H3_REQUEST_CANCELLED. After the response, the body's own subscription
   * decides.
   *
   * # Errors
   * `QuicStreamError` `StreamReset` when the server resets the stream before responding;
   * `Http3Error` `RequestRejected` when the server sent GOAWAY before the request went out; the
   * request body's own error if it fails first; the connection's error if it fails
   * (`ConnectionClosed` after a clean close).
   *
   * ## Example
   * ```ts
   * controller.request({ ':method': 'POST', ':path': '/upload' }, file).pipe(
   *   switchMap((res) => res.body$),
   * );
   * ```
   * @param headers The request's header fields.
   * @param body The body, if any.
   * @param options Trailers.
   * @returns An Observable of the response.
   */
  request(headers: H3HeadersInit, body?: H3BodyInit, options?: H3RequestOptions): Observable<H3Response> {
    return this.sendRequest(headers, body, options);
  }

  /**
   * Asks the server to change a request's priority: sends PRIORITY_UPDATE (RFC 9218 §7) on the
   * control stream at the driver's next turn. Ignored once the request's response is complete.
   * Our server shows it as `H3Request.priority` and a `priorityUpdate` event; it is advice, and
   * the server's application decides whether to act on it.
   *
   * @param streamId The request's stream (`response.streamId`, or a `newOutboundRequest` event).
   * @param priority The new priority.
   * @throws {RangeError} when the urgency is not an integer from 0 to 7.
   */
  updatePriority(streamId: number, priority: H3Priority): void {
    checkPriority(priority);
    this.port.send({ type: 'priorityUpdate', streamId, priority });
  }
}
