import {
  asyncScheduler,
  from,
  isObservable,
  Observable,
  type ObservableInput,
  of,
  type Subscriber,
  type Subscription,
  timer,
} from 'rxjs';

import type { ConnectionResult } from '../application/ApplicationOverQuic';
import type { HandshakeInfo } from '../connection/HandshakeInfo';
import { Http3Error } from '../errors/Http3Error';
import { QuicError } from '../errors/QuicError';
import type { napi } from '../native/binding';
import type { Http3Settings } from '../settings/Http3Settings';
import type { H3QuicheConnection } from './H3ConnectionLike';
import { flowIdOf, type H3DatagramFlow } from './H3DatagramFlow';
import { checkPriority } from './H3Priority';
import { type DriverCommand, H3Driver, type H3DriverOptions } from './H3Driver';
import { statusHeaders, toH3Headers } from './H3Headers';
import type { H3Request } from './H3Request';
import type { H3ResponseInit } from './H3ResponseInit';
import type { H3Stream } from './H3Stream';
import { H3_INTERNAL_ERROR, H3_MESSAGE_ERROR, H3_NO_ERROR, H3_REQUEST_REJECTED } from './h3WireCodes';
import { validateRequestHeaders } from './validateRequestHeaders';
import { ServerH3Controller } from './ServerH3Controller';
import { ServerRequest } from './ServerRequest';

/**
 * The server side of HTTP/3: tokio-quiche's `ServerH3Driver`. Create it with its controller,
 * start it on an accepted connection, and answer the requests the controller's `request$` emits.
 *
 * What it enforces, as tokio-quiche does:
 * - `maxRequestsPerConnection`: a request beyond the limit closes the connection with H3_NO_ERROR
 *   (0x100) and is ignored (`connectionShutdown` event, reason `maxRequestsPerConnection`).
 * - `postAcceptTimeout`: counted from the start of the handshake; if no request arrives in time,
 *   the connection closes with H3_NO_ERROR (`connectionShutdown`, reason `postAcceptTimeout`).
 *   The first request cancels it.
 * - A request stream gets a high priority until its response starts; responses default to
 *   urgency 3, incremental.
 * - GOAWAY (`controller.sendGoaway()`) names the stream after the highest one seen, and later
 *   requests are refused with H3_REQUEST_REJECTED. (tokio-quiche sends the highest id itself,
 *   which by RFC 9114 §5.2 would tell the client that last request was not processed.)
 * - A GOAWAY from the client is reported and changes nothing for streams in flight.
 *
 * Where it differs: request trailers are delivered on `request.trailers$` (tokio-quiche drops
 * them). When a response ends before its request body was read at all, the server sends
 * STOP_SENDING with H3_NO_ERROR (RFC 9114 §4.1) instead of leaving the stream half open.
 *
 * ## Example
 * ```ts
 * const { driver, controller } = ServerH3Driver.create({ maxRequestsPerConnection: 1_000 });
 * controller.request$.subscribe((req) => req.respond({ status: 200, body: `hello ${req.path}` }));
 * iqc.start(driver);
 * ```
 */
export class ServerH3Driver extends H3Driver {
  /** A server opens flows for datagrams alone only with extended CONNECT, as tokio-quiche does. */
  protected override acceptsAutonomousFlows(): boolean {
    return this.settings.enableExtendedConnect;
  }

  /** Requests' bodies are held to their content-length (RFC 9114 §4.1.2). */
  protected override readonly checksContentLength = true;

  protected readonly isServer = true;
  // Requests accepted so far (for maxRequestsPerConnection).
  private requests = 0;
  // The highest request stream id seen, or -1.
  private maxStreamSeen = -1;
  // The id our GOAWAY named: requests on streams >= it are refused.
  private goawayId: number | null = null;
  // Armed from onConnEstablished until the first request.
  private postAcceptTimer: Subscription | null = null;
  // The driver closed the connection itself (limit, timeout): report it once.
  private shutdownReported = false;
  // request$ has one subscriber; requests wait here until it comes.
  private readonly queued: H3Request[] = [];
  private requestSubscriber: Subscriber<H3Request> | null = null;
  // request$'s subscriber left: later requests are refused.
  private requestsUnwanted = false;
  // How the connection ended, once it has.
  private ended: { readonly error: QuicError | null } | null = null;
  // Streams quiche reported a PRIORITY_UPDATE for before their request came: onHeaders takes it.
  // (quiche reports one for a stream not yet open too, so no other request needs the extra call.)
  private readonly earlyPriorityUpdates = new Set<number>();
  // quiche's answer once it said the connection is out of early data, which it then stays.
  private earlyDataOver = false;
  // Requests of this poll loop, to boost if still unanswered at its end.
  private readonly unboosted: H3Stream[] = [];

  /**
   * Requests as they arrive. One subscriber: requests that arrive before it subscribes wait for
   * it (their number is bounded by the streams the client may open). Completes when the
   * connection closes cleanly, errors with its error otherwise (an `Http3Error` for an HTTP/3
   * protocol error). Once the subscriber has left, new requests are refused with
   * H3_REQUEST_REJECTED.
   */
  readonly request$: Observable<H3Request> = new Observable<H3Request>((subscriber) => {
    if (this.requestSubscriber !== null || this.requestsUnwanted) {
      subscriber.error(new QuicError('InvalidState', 'request$ takes a single subscriber'));
      return;
    }
    this.requestSubscriber = subscriber;
    while (this.queued.length > 0 && this.requestSubscriber === subscriber) subscriber.next(this.queued.shift()!);
    if (this.ended) {
      this.requestSubscriber = null;
      if (this.ended.error) subscriber.error(this.ended.error);
      else subscriber.complete();
      return;
    }
    return () => {
      if (this.requestSubscriber !== subscriber) return;
      this.requestSubscriber = null;
      this.requestsUnwanted = true;
    };
  });

  /**
   * Creates a driver and its controller: tokio-quiche's `ServerH3Driver::new`.
   *
   * @param settings The HTTP/3 settings. Defaults to `DEFAULT_HTTP3_SETTINGS`.
   * @param options Scheduler, buffering, a fake HTTP/3 layer for specs.
   * @returns The driver (start it on the connection) and its controller.
   * @throws {QuicSettingsError} for an invalid setting.
   */
  static create(
    settings: Partial<Http3Settings> = {},
    options: H3DriverOptions = {},
  ): { driver: ServerH3Driver; controller: ServerH3Controller } {
    const driver = new ServerH3Driver(settings, options);
    return { driver, controller: new ServerH3Controller(driver, driver.request$) };
  }

  private constructor(settings: Partial<Http3Settings>, options: H3DriverOptions) {
    super(settings, options);
  }

  /** Creates the HTTP/3 layer and arms the post-accept timeout. */
  override onConnEstablished(qconn: H3QuicheConnection, handshakeInfo: HandshakeInfo): void {
    super.onConnEstablished(qconn, handshakeInfo);
    const timeout = this.settings.postAcceptTimeout;
    if (timeout === undefined) return;
    // The timeout runs from the start of the handshake.
    const remaining = timeout - handshakeInfo.elapsed;
    if (remaining <= 0) {
      this.shutDown(qconn, 'postAcceptTimeout');
      return;
    }
    this.postAcceptTimer = timer(remaining, this.scheduler ?? asyncScheduler).subscribe(() => {
      this.postAcceptTimer = null;
      this.sendInternal({ type: 'postAcceptTimeout' });
    });
  }

  /**
   * Polls, then boosts the requests that came in and are still unanswered (tokio-quiche's boost
   * ahead of every response until theirs starts). One a handler answered at once is not boosted:
   * its response is written in this turn, and quiche gives the stream the response's priority
   * as it takes the headers, before any packet is built, so the boost would change nothing for
   * the price of a native call per request.
   */
  protected override pollAll(qconn: H3QuicheConnection): void {
    super.pollAll(qconn);
    if (this.unboosted.length === 0) return;
    for (const s of this.unboosted) {
      if (s.frames.length === 0 && !s.headersWritten && !s.writeDone && s.resetWriteCode === null && this.streams.get(s.id) === s) {
        this.boostPriority(qconn, s.id);
      }
    }
    this.unboosted.length = 0;
  }

  /** Keeps the latest PRIORITY_UPDATE of an open request for `H3Request.priority`, and reports it. */
  protected override onPriorityUpdate(streamId: number): void {
    const s = this.streams.get(streamId);
    if (!s) {
      // Not opened yet: quiche keeps it (as a stream of its own), and onHeaders takes it.
      this.earlyPriorityUpdates.add(streamId);
      return;
    }
    const value = this.h3!.takeLastPriorityUpdate(streamId);
    if (value === null) return;
    s.priorityUpdate = value;
    this.emit({ type: 'priorityUpdate', streamId, value });
  }

  protected onHeaders(qconn: H3QuicheConnection, event: napi.H3Event): void {
    const streamId = event.streamId;
    const headers = event.headers ?? [];
    const moreFrames = event.moreFrames ?? false;
    const existing = this.streams.get(streamId);
    if (existing) {
      // A second header section on a request stream: the request's trailers.
      if (this.observed) this.emit({ type: 'headers', streamId, headers, moreFrames });
      existing.inbound.setTrailers(headers);
      return;
    }
    const limit = this.settings.maxRequestsPerConnection;
    if (limit !== undefined && this.requests >= limit) {
      this.shutDown(qconn, 'maxRequestsPerConnection');
      return;
    }
    this.postAcceptTimer?.unsubscribe();
    this.postAcceptTimer = null;
    if (streamId > this.maxStreamSeen) this.maxStreamSeen = streamId;
    const isInEarlyData = this.isInEarlyData(qconn);
    if (this.observed) this.emit({ type: 'headers', streamId, headers, moreFrames, isInEarlyData });
    const s = this.openStream(streamId);
    this.requests++;
    if ((this.goawayId !== null && streamId >= this.goawayId) || this.requestsUnwanted) {
      s.inbound.discard('the request was refused');
      this.stopReading(s, H3_REQUEST_REJECTED);
      this.resetWriting(s, H3_REQUEST_REJECTED);
      return;
    }
    const malformed = validateRequestHeaders(headers);
    if (malformed !== null) {
      // RFC 9114 §4.1.2: a malformed request is a stream error; the handler never sees it.
      s.inbound.discard(malformed);
      this.stopReading(s, H3_MESSAGE_ERROR);
      this.resetWriting(s, H3_MESSAGE_ERROR);
      this.emit({
        type: 'responseError',
        streamId,
        error: new Http3Error('MessageError', { wireCode: H3_MESSAGE_ERROR, message: `stream ${streamId}: malformed request: ${malformed}` }),
      });
      return;
    }
    this.unboosted.push(s);
    if (this.earlyPriorityUpdates.delete(streamId)) s.priorityUpdate = this.h3!.takeLastPriorityUpdate(streamId) ?? undefined;
    // tokio-quiche: a server makes datagram flows only with extended CONNECT enabled.
    const flowId = this.settings.enableExtendedConnect ? flowIdOf(streamId, headers) : null;
    const flow = flowId === null ? null : this.openFlow(s, flowId);
    const request = this.makeRequest(s, headers, isInEarlyData, flow);
    if (this.requestSubscriber) this.requestSubscriber.next(request);
    else this.queued.push(request);
  }

  /** Whether the connection is in 0-RTT: asked of quiche until it says no (a handshake does not go back). */
  private isInEarlyData(qconn: H3QuicheConnection): boolean {
    if (this.earlyDataOver) return false;
    const early = qconn.isInEarlyData();
    this.earlyDataOver = !early;
    return early;
  }

  private makeRequest(
    s: H3Stream,
    headers: readonly napi.H3Header[],
    isInEarlyData: boolean,
    flow: H3DatagramFlow | null,
  ): H3Request {
    return new ServerRequest(s, headers, isInEarlyData, flow, (response) => this.respond(s, response));
  }

  /** Answers a request: see {@link H3Request.respond}. */
  private respond(s: H3Stream, response: H3ResponseInit | ObservableInput<H3ResponseInit>): void {
    if (s.answered) throw new QuicError('InvalidState', `stream ${s.id} was already answered`);
    s.answered = true;
    if (this.disposed || s.writeDone || s.resetWriteCode !== null) return;
    let source$: Observable<H3ResponseInit>;
    try {
      source$ = isResponseInit(response) ? of(response) : from(response as ObservableInput<H3ResponseInit>);
    } catch (e) {
      this.onResponseFailed(s, e);
      return;
    }
    const subscription = source$.subscribe({
      next: (init) => this.onResponse(s, init),
      error: (e: unknown) => this.onResponseFailed(s, e),
      complete: () => {
        if (!s.finalQueued) this.onResponseFailed(s, new QuicError('InvalidState', 'the handler completed without a final response'));
      },
    });
    if (s.finalQueued || s.writeDone) subscription.unsubscribe();
    else s.responseSubscription = subscription;
  }

  private onResponse(s: H3Stream, init: H3ResponseInit): void {
    if (s.finalQueued || s.writeDone || s.resetWriteCode !== null) return;
    const status = init?.status;
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      this.onResponseFailed(s, new QuicError('InvalidArgument', `a response status must be an integer from 100 to 599, got ${String(status)}`));
      return;
    }
    if (status < 200) {
      this.queueInformational(s, status, init.headers);
      return;
    }
    if (init.priority !== undefined) {
      try {
        checkPriority(init.priority);
      } catch (e) {
        this.onResponseFailed(s, e);
        return;
      }
    }
    for (const info of init.informational ?? []) this.queueInformational(s, info.status, info.headers);
    s.finalQueued = true;
    s.responseSubscription?.unsubscribe();
    s.responseSubscription = null;
    try {
      const trailers = init.trailers === undefined ? undefined : toH3Headers(init.trailers);
      this.queueMessage(s, statusHeaders(status, init.headers), init.body ?? undefined, trailers, init.priority);
    } catch (e) {
      // A body of a form we cannot send: the headers may be queued; reset rather than send half.
      this.resetWriting(s, H3_INTERNAL_ERROR);
      this.emit({ type: 'responseError', streamId: s.id, error: e });
    }
  }

  private queueInformational(s: H3Stream, status: number, headers: H3ResponseInit['headers']): void {
    if (!Number.isInteger(status) || status < 100 || status > 199) return;
    s.frames.push({ kind: 'headers', headers: statusHeaders(status, headers), fin: false, trailer: false });
    this.markWrite(s);
  }

  /** The handler failed (or gave no final response): answer 500 if nothing final was queued. */
  private onResponseFailed(s: H3Stream, error: unknown): void {
    s.responseSubscription = null;
    this.emit({ type: 'responseError', streamId: s.id, error });
    if (s.finalQueued || s.writeDone || s.resetWriteCode !== null) return;
    s.finalQueued = true;
    this.queueMessage(s, statusHeaders(500, undefined), undefined, undefined);
  }

  protected override onBodyFailed(s: H3Stream, error: unknown): void {
    this.emit({ type: 'responseError', streamId: s.id, error });
  }

  /** The response is complete: a request body nobody started reading is not needed (RFC 9114 §4.1). */
  protected override onFinWritten(s: H3Stream): void {
    super.onFinWritten(s);
    if (!s.readDone && !s.inbound.isClaimed) {
      s.inbound.discard('the response was sent before the request body was read');
      this.stopReading(s, H3_NO_ERROR);
    }
  }

  protected override runCommand(qconn: H3QuicheConnection, command: DriverCommand): boolean {
    if (command.type === 'postAcceptTimeout') {
      if (this.requests === 0) this.shutDown(qconn, 'postAcceptTimeout');
      return true;
    }
    return super.runCommand(qconn, command);
  }

  protected sendGoaway(qconn: H3QuicheConnection): boolean {
    // RFC 9114 §5.2: the first request stream id that will not be processed.
    const next = this.maxStreamSeen + 4;
    const id = this.goawayId === null ? next : Math.min(this.goawayId, next);
    try {
      this.h3!.sendGoaway(qconn, id);
    } catch (e) {
      if ((e as { code?: unknown })?.code === 'StreamBlocked') return false;
      return true;
    }
    this.goawayId = id;
    return true;
  }

  /** Closes the connection with H3_NO_ERROR for `reason`, once. */
  private shutDown(qconn: H3QuicheConnection, reason: 'postAcceptTimeout' | 'maxRequestsPerConnection'): void {
    if (this.shutdownReported) return;
    this.shutdownReported = true;
    this.postAcceptTimer?.unsubscribe();
    this.postAcceptTimer = null;
    if (!qconn.isClosed()) qconn.close(true, H3_NO_ERROR, '');
    this.emit({ type: 'connectionShutdown', reason });
  }

  protected override onDispose(error: QuicError | null, _result: ConnectionResult): void {
    this.postAcceptTimer?.unsubscribe();
    this.postAcceptTimer = null;
    this.ended = { error };
    this.queued.length = 0;
    const subscriber = this.requestSubscriber;
    this.requestSubscriber = null;
    if (!subscriber) return;
    if (error) subscriber.error(error);
    else subscriber.complete();
  }
}

// A response object rather than an Observable, a Promise, an array or an iterable of them.
function isResponseInit(value: unknown): value is H3ResponseInit {
  return (
    typeof value === 'object' &&
    value !== null &&
    !isObservable(value) &&
    !Array.isArray(value) &&
    typeof (value as { then?: unknown }).then !== 'function' &&
    typeof (value as { status?: unknown }).status === 'number'
  );
}
