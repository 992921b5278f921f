import { Observable, type Subscriber } from 'rxjs';

import type { ConnectionResult } from '../application/ApplicationOverQuic';
import { Http3Error } from '../errors/Http3Error';
import { QuicError } from '../errors/QuicError';
import type { napi } from '../native/binding';
import { fromNativeError } from '../native/errors';
import type { Http3Settings } from '../settings/Http3Settings';
import { ChurnMap } from '../util/ChurnMap';
import { ClientH3Controller } from './ClientH3Controller';
import { ClientResponse } from './ClientResponse';
import type { H3QuicheConnection } from './H3ConnectionLike';
import { flowIdOf } from './H3DatagramFlow';
import { formatPriority, type H3Priority } from './H3Priority';
import { type DriverCommand, H3Driver, type H3DriverOptions } from './H3Driver';
import { fieldValue, type H3Header, type H3HeadersInit, headerValue, toH3Headers } from './H3Headers';
import type { H3Response } from './H3Response';
import type { H3Stream } from './H3Stream';
import { H3_REQUEST_CANCELLED, H3_REQUEST_REJECTED } from './h3WireCodes';
import type { H3BodyInit } from './OutboundBody';

/**
 * Options of one request beyond its headers and body.
 */
export interface H3RequestOptions {
  /** Trailers, sent after the body. */
  readonly trailers?: H3HeadersInit;
  /**
   * The priority asked of the server (RFC 9218), sent as the `priority` header (unless the
   * headers already have one). Change it later with `ClientH3Controller.updatePriority`.
   *
   * Defaults to none: the server uses its default (urgency 3, incremental, for ours).
   */
  readonly priority?: H3Priority;
}

/**
 * Options of a {@link ClientH3Driver}.
 */
export interface ClientH3DriverOptions extends H3DriverOptions {
  /**
   * The `:authority` of requests that do not give one (usually the host connected to).
   *
   * Defaults to `undefined`: requests must give `:authority`.
   */
  readonly authority?: string;
}

// A request from request() until its response is handed over (or it fails).
interface PendingRequest {
  readonly headers: H3Header[];
  readonly body: H3BodyInit | undefined;
  readonly trailers: H3Header[] | undefined;
  readonly subscriber: Subscriber<H3Response>;
  // The stream, once the request was sent.
  stream: H3Stream | null;
  // The response was handed over, the request failed, or the caller unsubscribed.
  settled: boolean;
  // The final response, once received (later header sections are trailers).
  response: H3Response | null;
}

/**
 * The client side of HTTP/3: tokio-quiche's `ClientH3Driver`. Create it with its controller, run
 * it on a client connection (`connectWithConfig$`, or simply `connect$`), and send requests with
 * `controller.request()`.
 *
 * Requests are sent in order. One that cannot be opened now (the server's stream limit, or flow
 * control: `StreamLimit` / `StreamBlocked`) waits in a queue and is retried at every turn of the
 * worker, so it goes out as soon as the server grants more streams (MAX_STREAMS); many requests
 * can be in flight on one connection. After a GOAWAY from the server, queued requests fail with
 * an `Http3Error` `RequestRejected` (retry them on a new connection) and requests in flight carry
 * on.
 *
 * ## Example
 * ```ts
 * const { driver, controller } = ClientH3Driver.create({}, { authority: 'example.org' });
 * connectWithConfig$(socket, 'example.org', params, driver).subscribe();
 * controller.request({ ':method': 'GET', ':path': '/' }).subscribe((res) => console.log(res.status));
 * ```
 */
export class ClientH3Driver extends H3Driver {
  protected readonly isServer = false;
  private readonly authority: string | undefined;
  // Requests not sent yet, in order.
  private readonly queue: PendingRequest[] = [];
  // Requests sent, by stream id, until their stream closes.
  private readonly sent = new ChurnMap<number, PendingRequest>();
  private goawayReceived = false;
  // The connection's error, once it has ended.
  private endError: QuicError | null = null;

  /**
   * Creates a driver and its controller: tokio-quiche's `ClientH3Driver::new`.
   *
   * @param settings The HTTP/3 settings. Defaults to `DEFAULT_HTTP3_SETTINGS`.
   * @param options The default `:authority`, scheduler, buffering, a fake HTTP/3 layer for specs.
   * @returns The driver (run it on the connection) and its controller.
   * @throws {QuicSettingsError} for an invalid setting.
   */
  static create(
    settings: Partial<Http3Settings> = {},
    options: ClientH3DriverOptions = {},
  ): { driver: ClientH3Driver; controller: ClientH3Controller } {
    const driver = new ClientH3Driver(settings, options);
    return { driver, controller: new ClientH3Controller(driver, (h, b, o) => driver.request(h, b, o)) };
  }

  private constructor(settings: Partial<Http3Settings>, options: ClientH3DriverOptions) {
    super(settings, options);
    this.authority = options.authority;
  }

  /**
   * Sends a request; see {@link ClientH3Controller.request}.
   */
  request(headers: H3HeadersInit, body?: H3BodyInit, options: H3RequestOptions = {}): Observable<H3Response> {
    return new Observable<H3Response>((subscriber) => {
      if (this.disposed) {
        subscriber.error(this.endError ?? new QuicError('ConnectionClosed', 'the connection is closed'));
        return;
      }
      if (this.goawayReceived) {
        subscriber.error(goawayError());
        return;
      }
      const pending: PendingRequest = {
        headers: this.requestHeaders(headers, options.priority),
        body: body ?? undefined,
        trailers: options.trailers === undefined ? undefined : toH3Headers(options.trailers),
        subscriber,
        stream: null,
        settled: false,
        response: null,
      };
      this.queue.push(pending);
      this.signal();
      return () => {
        if (pending.settled) return;
        pending.settled = true;
        const s = pending.stream;
        if (s === null) {
          const i = this.queue.indexOf(pending);
          if (i >= 0) this.queue.splice(i, 1);
          return;
        }
        // Unsubscribed before the response: cancel the request both ways.
        s.inbound.discard('the request was cancelled');
        this.stopReading(s, H3_REQUEST_CANCELLED);
        this.resetWriting(s, H3_REQUEST_CANCELLED);
      };
    });
  }

  /** Pseudo-header fields first; `:method`, `:scheme`, `:authority` and `:path` filled in when missing. */
  private requestHeaders(init: H3HeadersInit, priority: H3Priority | undefined): H3Header[] {
    const list = toH3Headers(init);
    if (priority !== undefined && headerValue(list, 'priority') === undefined) list.push({ name: 'priority', value: formatPriority(priority) });
    const has = (name: string): boolean => list.some((h) => h.name === name);
    const method = headerValue(list, ':method') ?? 'GET';
    const pseudo: H3Header[] = [];
    if (!has(':method')) pseudo.push({ name: ':method', value: method });
    if (method !== 'CONNECT') {
      if (!has(':scheme')) pseudo.push({ name: ':scheme', value: 'https' });
      if (!has(':path')) pseudo.push({ name: ':path', value: '/' });
    }
    if (!has(':authority') && this.authority !== undefined) pseudo.push({ name: ':authority', value: this.authority });
    return pseudo.concat(list);
  }

  /** Sends queued requests while the server lets us open streams. */
  protected override beforeWrites(qconn: H3QuicheConnection): void {
    while (this.queue.length > 0) {
      const p = this.queue[0]!;
      const fin = p.body === undefined && p.trailers === undefined;
      let streamId: number;
      try {
        streamId = this.h3!.sendRequest(qconn, p.headers, fin);
      } catch (e) {
        const code = (e as { code?: unknown })?.code;
        // Blocked by the stream limit or flow control: retry at the next turn (MAX_STREAMS, MAX_DATA).
        if (code === 'StreamBlocked' || code === 'StreamLimit') return;
        this.queue.shift();
        p.settled = true;
        p.subscriber.error(code === 'FrameUnexpected' && this.goawayReceived ? goawayError() : fromNativeError(e));
        continue;
      }
      this.queue.shift();
      const s = this.openStream(streamId);
      s.headersWritten = true;
      const flowId = flowIdOf(streamId, p.headers);
      if (flowId !== null) this.openFlow(s, flowId);
      p.stream = s;
      this.sent.set(streamId, p);
      if (fin) {
        s.finQueued = true;
        s.writeDone = true;
      } else {
        this.queueMessage(s, null, p.body, p.trailers);
      }
      if (this.observed) this.emit({ type: 'newOutboundRequest', streamId });
    }
  }

  protected override hasPendingWork(): boolean {
    return this.queue.length > 0;
  }

  protected onHeaders(_qconn: H3QuicheConnection, event: napi.H3Event): void {
    const streamId = event.streamId;
    const headers = event.headers ?? [];
    if (this.observed) this.emit({ type: 'headers', streamId, headers, moreFrames: event.moreFrames ?? false });
    const s = this.streams.get(streamId);
    const p = this.sent.get(streamId);
    if (!s || !p) return;
    if (p.response) {
      // After the final response: trailers.
      s.inbound.setTrailers(headers);
      return;
    }
    const status = Number(fieldValue(headers, ':status'));
    if (status >= 100 && status < 200) {
      s.informational.push(headers);
      return;
    }
    const response: H3Response = new ClientResponse(s, status, headers);
    p.response = response;
    if (p.settled) return;
    p.settled = true;
    p.subscriber.next(response);
    p.subscriber.complete();
  }

  /** The read side failed before the response: the request fails, and we stop sending. */
  protected override onStreamFailed(s: H3Stream, error: unknown): void {
    const p = this.sent.get(s.id);
    if (!p || p.settled) return;
    p.settled = true;
    this.resetWriting(s, H3_REQUEST_CANCELLED);
    p.subscriber.error(error);
  }

  protected override awaitsStreamEnd(s: H3Stream): boolean {
    const p = this.sent.get(s.id);
    return p !== undefined && !p.settled;
  }

  /** The stream ended without a final response. */
  protected override onStreamFinished(s: H3Stream): void {
    const p = this.sent.get(s.id);
    if (!p || p.settled || p.response) return;
    p.settled = true;
    p.subscriber.error(new Http3Error('MessageError', { message: `stream ${s.id} ended without a response` }));
  }

  /**
   * The request body failed: before the response, the request fails and the stream is cancelled.
   * Not when the server stopped the upload (STOP_SENDING): it may still answer, and a complete
   * response must not be discarded for that (RFC 9114 §4.1).
   */
  protected override onBodyFailed(s: H3Stream, error: unknown): void {
    const p = this.sent.get(s.id);
    if (!p || p.settled || (error as { code?: unknown })?.code === 'StreamStopped') return;
    p.settled = true;
    s.inbound.discard('the request failed');
    this.stopReading(s, H3_REQUEST_CANCELLED);
    p.subscriber.error(error);
  }

  protected override onStreamClosed(s: H3Stream): void {
    this.sent.delete(s.id);
  }

  /** No new request after the server's GOAWAY; those in flight carry on. */
  protected override onGoaway(_id: number): void {
    this.goawayReceived = true;
    for (const p of this.queue.splice(0)) {
      p.settled = true;
      p.subscriber.error(goawayError());
    }
  }

  protected override runCommand(qconn: H3QuicheConnection, command: DriverCommand): boolean {
    if (command.type !== 'priorityUpdate') return super.runCommand(qconn, command);
    const s = this.streams.get(command.streamId);
    if (!s || s.readDone) return true; // the response is complete: nothing left to prioritise
    try {
      this.h3!.sendPriorityUpdateForRequest(qconn, command.streamId, command.priority.urgency, command.priority.incremental);
    } catch (e) {
      // The control stream is blocked: retry next turn. Other errors (a stream we did not open) drop it.
      return (e as { code?: unknown })?.code !== 'StreamBlocked';
    }
    return true;
  }

  protected sendGoaway(qconn: H3QuicheConnection): boolean {
    try {
      // A client names a push id; we accept no push, so 0.
      this.h3!.sendGoaway(qconn, 0);
    } catch (e) {
      if ((e as { code?: unknown })?.code === 'StreamBlocked') return false;
    }
    return true;
  }

  protected override onDispose(error: QuicError | null, _result: ConnectionResult): void {
    this.endError = error;
    const queued = this.queue.splice(0);
    // Made only when a request is still queued: an Error's stack trace costs ~0.1 ms per connection.
    const failure = queued.length > 0 ? (error ?? new QuicError('ConnectionClosed', 'the connection closed before the request was sent')) : null;
    for (const p of queued) {
      p.settled = true;
      p.subscriber.error(failure);
    }
    this.sent.clear();
  }
}

function goawayError(): Http3Error {
  return new Http3Error('RequestRejected', {
    wireCode: H3_REQUEST_REJECTED,
    message: 'the server sent GOAWAY: the request was not sent (retry it on a new connection)',
  });
}
