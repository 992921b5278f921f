import { type Observable, type SchedulerLike, Subject } from 'rxjs';

import type { ApplicationOverQuic, ConnectionResult } from '../application/ApplicationOverQuic';
import type { ConnectionShutdownBehaviour } from '../connection/ConnectionShutdownBehaviour';
import type { HandshakeInfo } from '../connection/HandshakeInfo';
import { executeQuicCommand } from '../connection/QuicCommand';
import { Http3Error } from '../errors/Http3Error';
import { QuicError } from '../errors/QuicError';
import { QuicStreamError } from '../errors/QuicStreamError';
import type { Metrics } from '../metrics/Metrics';
import { napi, type QuicheConnection } from '../native/binding';
import { fromNativeError } from '../native/errors';
import { resolveHttp3Settings, toH3ConfigOptions, type Http3Settings } from '../settings/Http3Settings';
import { ChurnMap } from '../util/ChurnMap';
import { TurnList } from '../util/TurnList';
import { BatchedH3Connection } from './BatchedH3Connection';
import type { H3Command } from './H3Command';
import type { H3ConnectionFactory, H3ConnectionLike, H3QuicheConnection } from './H3ConnectionLike';
import type { H3DriverPort } from './H3Controller';
import type { H3Event } from './H3Event';
import { DatagramFlow, decodeVarint } from './H3DatagramFlow';
import { fieldValue, type H3Header } from './H3Headers';
import { H3Stream, type OutboundFrame } from './H3Stream';
import { H3_INTERNAL_ERROR, H3_MESSAGE_ERROR, H3_NO_ERROR, H3_REQUEST_CANCELLED } from './h3WireCodes';
import { type H3BodyInit, OutboundBody } from './OutboundBody';

/** The most flows a peer may open by sending datagrams for flow ids no request has. */
export const MAX_AUTONOMOUS_FLOWS = 256;

/**
 * Options of a driver beyond its {@link Http3Settings}: mostly for tests and tuning.
 */
export interface H3DriverOptions {
  /**
   * Runs the driver's own timers (the post-accept timeout).
   *
   * Defaults to `asyncScheduler`. Marble specs need nothing: `TestScheduler.run()` virtualises it.
   */
  readonly scheduler?: SchedulerLike;
  /**
   * Chunks (of up to `maxRecvBodyBufSize` bytes) an incoming body buffers while its reader does not
   * keep up; beyond that, the driver stops reading the stream and QUIC flow control makes the peer
   * wait.
   *
   * Defaults to `16`.
   */
  readonly maxBufferedChunks?: number;
  /**
   * Makes the HTTP/3 layer in `onConnEstablished`. Defaults to `BatchedH3Connection.withTransport`
   * (the native layer over its batched calls); specs pass a fake.
   */
  readonly createH3Connection?: H3ConnectionFactory;
}

/** A command, or one the driver gives itself. Internal. */
export type DriverCommand = H3Command | { readonly type: 'postAcceptTimeout' };

/** Priority of the request streams until their response starts: ahead of every response (tokio-quiche's boost). */
const BOOSTED_URGENCY = 64;

/** An application close with H3_NO_ERROR: what unsubscribing from an HTTP/3 connection sends. */
export const H3_GRACEFUL_SHUTDOWN: ConnectionShutdownBehaviour = Object.freeze({
  sendApplicationClose: true,
  errorCode: H3_NO_ERROR,
  reason: '',
});

/** Default response priority (RFC 9218): urgency 3, incremental. */
export const DEFAULT_URGENCY = 3;
export const DEFAULT_INCREMENTAL = true;

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

// One read buffer for all drivers: JavaScript runs one turn at a time and every chunk is copied
// out before the next read, so an idle connection costs no buffer of its own.
let recvBuffer: Uint8Array | null = null;

// The same for DATAGRAM frames: a QUIC datagram fits in a UDP payload.
let dgramBuffer: Uint8Array | null = null;

function sharedDgramBuffer(): Uint8Array {
  dgramBuffer ??= new Uint8Array(65536);
  return dgramBuffer;
}

function sharedRecvBuffer(size: number): Uint8Array {
  if (recvBuffer === null || recvBuffer.length < size) recvBuffer = new Uint8Array(size);
  return recvBuffer.subarray(0, size);
}

const defaultFactory: H3ConnectionFactory = (qconn, config) => BatchedH3Connection.withTransport(qconn, config);

/**
 * The HTTP/3 driver: tokio-quiche's `H3Driver`, an {@link ApplicationOverQuic} that speaks HTTP/3
 * on a QUIC connection. Use {@link ServerH3Driver} or {@link ClientH3Driver}; this class holds what
 * they share.
 *
 * On the worker's turns it creates the HTTP/3 layer (`onConnEstablished`), drains quiche's HTTP/3
 * events (`processReads`: `poll()` until `null`, dispatched to the streams), and writes what the
 * application queued (`processWrites`: commands, then reads the consumers asked for, then every
 * stream's frames until quiche has no capacity). Between turns, `waitForData` wakes the worker when
 * a controller, a handler, a body or a reader queued work. Nothing touches quiche outside a turn.
 *
 * # Errors
 * An HTTP/3 protocol error from `poll()` (`ExcessiveLoad`, `FrameUnexpected`, …) is thrown from
 * `processReads` as an `Http3Error`; quiche has already queued the CONNECTION_CLOSE with its code,
 * so the worker sends it and the connection's Observable errors with the `Http3Error`. Every
 * stream in flight then fails with that error.
 */
export abstract class H3Driver implements ApplicationOverQuic<H3QuicheConnection>, H3DriverPort {
  /** The settings, resolved. */
  readonly settings: Readonly<Http3Settings>;
  /**
   * What the worker sends when the connection's Observable is unsubscribed: an application close
   * with H3_NO_ERROR (0x100), HTTP/3's clean close (RFC 9114 §8.1), rather than the QUIC default 0.
   */
  readonly shutdownBehaviour: ConnectionShutdownBehaviour = H3_GRACEFUL_SHUTDOWN;
  protected readonly scheduler: SchedulerLike | undefined;
  protected readonly maxBufferedChunks: number;
  private readonly createH3: H3ConnectionFactory;
  private readonly h3Config: napi.H3Config;

  /** The HTTP/3 layer, once the connection is established. */
  protected h3: H3ConnectionLike | null = null;
  /** The connection, once established: only touched during the worker's turns. */
  protected qconn: H3QuicheConnection | null = null;
  /** Active streams by id. */
  protected readonly streams = new ChurnMap<number, H3Stream>();
  // The per-turn lists below are TurnLists, not Sets: a driver's Sets, cleared or replaced every
  // turn, kept what they held alive through young collections (see src/util/README.md).
  // Streams with something to write now (frames, a body to pull, a shutdown to send).
  private readonly pendingWrites = new TurnList<H3Stream>('inPendingWrites');
  // Streams waiting for flow control: retried at every turn, never a reason to wake.
  private readonly blockedWrites = new TurnList<H3Stream>('inBlockedWrites');
  // Streams whose reader asked for data.
  private readonly readDemand = new TurnList<H3Stream>('inReadDemand');
  // Commands for the next turn, in order.
  private readonly commands: DriverCommand[] = [];
  // The first command waits for the control stream's flow control: packets will bring the retry.
  private commandsBlocked = false;
  // The read buffer (shared by every driver; chunks are copied out of it at once).
  private readonly recvBuf: Uint8Array;
  private settingsForwarded = false;
  /** HTTP/3 datagram flows (RFC 9297) by flow id. */
  protected readonly flows = new ChurnMap<number, DatagramFlow>();
  // Flows with datagrams to send.
  private readonly pendingDatagrams = new TurnList<DatagramFlow>('inPendingDatagrams');
  private unrouted = 0;
  // Flows opened by a datagram alone, bounded by MAX_AUTONOMOUS_FLOWS.
  private autonomousFlows = 0;
  /** The controller completed: close once idle. */
  protected controllerDone = false;
  /** The connection has closed (onConnClose ran or the driver was disposed). */
  protected disposed = false;
  // Inside processReads/processWrites: work queued now is handled by this turn, not a new wake.
  private inTurn = false;
  // Events, datagrams and stopped streams the current processReads handed on.
  private readsDelivered = 0;
  private readonly wake$ = new Subject<void>();
  private readonly events = new Subject<H3Event>();

  /** {@inheritDoc H3DriverPort.event$} */
  readonly event$: Observable<H3Event> = this.events.asObservable();

  /**
   * @param settings The HTTP/3 settings (partial: the rest take their defaults).
   * @param options Scheduler, buffering and a fake HTTP/3 layer for specs.
   * @throws {QuicSettingsError} for an invalid setting.
   */
  protected constructor(settings: Partial<Http3Settings> = {}, options: H3DriverOptions = {}) {
    this.settings = resolveHttp3Settings(settings);
    this.scheduler = options.scheduler;
    this.maxBufferedChunks = options.maxBufferedChunks ?? 16;
    this.createH3 = options.createH3Connection ?? defaultFactory;
    this.h3Config = new napi.H3Config(toH3ConfigOptions(this.settings));
    this.recvBuf = sharedRecvBuffer(this.settings.maxRecvBodyBufSize);
  }

  /** Whether this driver serves (true) or requests (false). */
  protected abstract readonly isServer: boolean;

  /** A `headers` event: a request, a response, or trailers. */
  protected abstract onHeaders(qconn: H3QuicheConnection, event: napi.H3Event): void;

  /** Subclass work at the start of each write turn (the client starts queued requests here). */
  protected beforeWrites(_qconn: H3QuicheConnection): void {}

  /** Whether work other than streams keeps the connection busy (the client's queued requests). */
  protected hasPendingWork(): boolean {
    return false;
  }

  /** The peer sent GOAWAY. */
  protected onGoaway(_id: number): void {}

  /** A stream's read side failed (reset, error): the subclass fails what waits on it. */
  protected onStreamFailed(_stream: H3Stream, _error: unknown): void {}

  /** Whether someone still waits on a stream beyond its body (the client's unanswered request). */
  protected awaitsStreamEnd(_stream: H3Stream): boolean {
    return false;
  }

  /** A stream's read side ended cleanly (the FIN). */
  protected onStreamFinished(_stream: H3Stream): void {}

  /** A stream is done in both directions and forgotten. */
  protected onStreamClosed(_stream: H3Stream): void {}

  /** An outbound body failed; the stream is being reset. */
  protected onBodyFailed(_stream: H3Stream, _error: unknown): void {}

  /** The connection is gone; fail or complete what the subclass holds. */
  protected onDispose(_error: QuicError | null, _result: ConnectionResult): void {}

  // ---- ApplicationOverQuic -------------------------------------------------------------------

  /**
   * Creates the HTTP/3 layer, which queues our SETTINGS. Subclasses add their checks and timers.
   *
   * @throws {QuicError} `InvalidState` when a server driver runs on a client connection or the
   * other way round, or what creating the HTTP/3 layer threw.
   */
  onConnEstablished(qconn: H3QuicheConnection, _handshakeInfo: HandshakeInfo): void {
    if (qconn.isServer() !== this.isServer) {
      throw new QuicError(
        'InvalidState',
        `a ${this.isServer ? 'server' : 'client'} HTTP/3 driver cannot run on a ${qconn.isServer() ? 'server' : 'client'} connection`,
      );
    }
    try {
      this.h3 = this.createH3(qconn, this.h3Config);
    } catch (e) {
      throw fromNativeError(e);
    }
    this.qconn = qconn;
  }

  /** Ready once the HTTP/3 layer exists. */
  shouldAct(): boolean {
    return this.h3 !== null;
  }

  /**
   * Emits when the application queued work since the last turn: a command, a response, body
   * bytes, a reader's demand. A wake never comes inside a turn; the worker coalesces wakes into one
   * step.
   */
  waitForData(_qconn: H3QuicheConnection): Observable<void> {
    return this.wake$;
  }

  /**
   * Drains quiche's HTTP/3 events. What the handlers queue meanwhile, this turn's `processWrites`
   * writes. Returns `false` when there was no event, datagram or stopped stream: the packets only
   * carried acknowledgements or flow control, and the worker may flush without waiting for a
   * reaction.
   */
  processReads(qconn: H3QuicheConnection): boolean {
    this.inTurn = true;
    this.readsDelivered = 0;
    try {
      this.h3?.inputArrived?.();
      this.pollAll(qconn);
      this.readDatagrams(qconn);
      this.probeIdleWriters(qconn);
    } finally {
      this.inTurn = false;
    }
    return this.readsDelivered > 0;
  }

  /**
   * Finds streams the peer stopped (STOP_SENDING) while we had nothing to write on them: a handler
   * still thinking, a body producer between chunks. quiche resets such a stream itself but tells
   * only a writer, and reports no event; probing its capacity after packets arrived finds it, so
   * the handler or producer is cancelled instead of running for nothing. Streams with queued
   * frames find out when they write.
   */
  private probeIdleWriters(qconn: H3QuicheConnection): void {
    for (const s of this.streams.values()) {
      if (s.writeDone || s.frames.length > 0 || s.resetWriteCode !== null || this.blockedWrites.has(s)) continue;
      if (!this.hasCapacity(qconn, s)) {
        this.readsDelivered++;
        this.maybeClose(s);
      }
    }
  }

  /** Runs commands, serves readers, writes every stream's frames while quiche has capacity. */
  processWrites(qconn: H3QuicheConnection): void {
    this.inTurn = true;
    try {
      this.writeTurn(qconn);
    } finally {
      this.inTurn = false;
    }
    // Work queued during the turn and not done by it (a reader asked again, a stream got frames
    // after its flush): one more turn.
    if (
      (this.commands.length > 0 && !this.commandsBlocked) ||
      this.readDemand.size > 0 ||
      this.pendingWrites.size > 0 ||
      this.pendingDatagrams.size > 0
    ) {
      this.signal();
    }
  }

  private writeTurn(qconn: H3QuicheConnection): void {
    this.runCommands(qconn);
    if (this.disposed || qconn.isClosed()) return;
    this.beforeWrites(qconn);
    if (this.readDemand.size > 0) {
      // A snapshot: reading hands chunks to readers, who may ask again (for the next turn).
      let read = false;
      this.readDemand.drain((s) => {
        if (this.streams.get(s.id) === s && s.readable) read = this.readBody(qconn, s) || read;
      });
      // quiche reports a stream's FIN (and its trailers) only once its body has been read.
      if (read) this.pollAll(qconn);
    }
    // A snapshot: a stream still blocked re-adds itself for the next turn. The most urgent first
    // (RFC 9218): quiche orders what it has buffered, but when the congestion window limits what it
    // takes, whoever writes first gets the room.
    if (this.pendingWrites.size + this.blockedWrites.size > 0) {
      this.blockedWrites.drain((s) => this.pendingWrites.add(s));
      this.pendingWrites.drain((s) => this.flushStream(qconn, s), byUrgency);
    }
    this.sendDatagrams(qconn);
    this.closeIfIdle(qconn);
  }

  /**
   * The connection closed: every stream still open fails (with the connection's error, or
   * `ConnectionClosed` after a clean close), `event$` reports a failure and completes.
   */
  onConnClose(qconn: H3QuicheConnection, _metrics: Metrics, result: ConnectionResult): void {
    if (!this.disposed) this.emit({ type: 'connectionClosed', local: qconn.localError(), peer: qconn.peerError() });
    this.dispose(result);
  }

  // ---- H3DriverPort ----------------------------------------------------------------------------

  /** {@inheritDoc H3DriverPort.send} */
  send(command: H3Command): void {
    if (this.disposed) return;
    this.commands.push(command);
    this.signal();
  }

  /** Queues a command the driver gives itself (a timer's), for the next turn. */
  protected sendInternal(command: DriverCommand): void {
    if (this.disposed) return;
    this.commands.push(command);
    this.signal();
  }

  /** {@inheritDoc H3DriverPort.complete} */
  complete(): void {
    if (this.controllerDone) return;
    this.controllerDone = true;
    this.signal();
  }

  // ---- For the subclasses and the public helpers ----------------------------------------------

  /**
   * Closes the connection at once with an application close, H3_NO_ERROR by default. Not needed
   * before unsubscribing: the worker sends {@link shutdownBehaviour} (H3_NO_ERROR) by itself.
   *
   * @param errorCode The HTTP/3 error code. Defaults to H3_NO_ERROR (0x100).
   */
  closeNow(errorCode = H3_NO_ERROR): void {
    const qconn = this.qconn;
    if (!qconn || this.disposed) return;
    try {
      if (!qconn.isClosed()) qconn.close(true, errorCode, '');
    } catch {
      // Already closing.
    }
  }

  /**
   * Ends the driver without `onConnClose` (the worker skips it when the application never
   * started): fails what is open and completes `event$`. Idempotent; `onConnClose` calls it too.
   *
   * @param result How the connection ended.
   */
  dispose(result: ConnectionResult): void {
    if (this.disposed) return;
    this.disposed = true;
    // Made only when a stream is still open: most connections close with none, and an Error's stack
    // trace is not free.
    const error = result.ok ? null : result.error;
    let streamError = error;
    for (const s of this.streams.values()) {
      s.responseSubscription?.unsubscribe();
      s.responseSubscription = null;
      s.body?.cancel();
      // A stream whose body was read to its end and whose request was answered has no one to fail.
      if (s.inbound.isFinished && !this.awaitsStreamEnd(s)) continue;
      streamError ??= new QuicError('ConnectionClosed', 'the connection closed before the stream finished');
      if (!s.inbound.isFinished) s.inbound.fail(streamError);
      this.onStreamFailed(s, streamError);
    }
    this.streams.clear();
    this.pendingWrites.clear();
    this.blockedWrites.clear();
    this.readDemand.clear();
    this.commands.length = 0;
    for (const flow of this.flows.values()) flow.close();
    this.flows.clear();
    this.pendingDatagrams.clear();
    this.onDispose(error, result);
    if (error) this.emit({ type: 'connectionError', error });
    this.events.complete();
    this.wake$.complete();
  }

  /**
   * Whether anybody watches `event$`: the events every request makes are only built then (an
   * object per event per request is garbage nobody reads on a busy server).
   */
  protected get observed(): boolean {
    return this.events.observed;
  }

  /** Emits an event. */
  protected emit(event: H3Event): void {
    this.events.next(event);
  }

  /**
   * Wakes the worker. Safe from anywhere; a no-op inside a turn. The worker never steps inside the
   * wake: it schedules one step (a microtask by default) however many wakes come before it runs.
   * So a response that a handler gives in the microtasks after the step that read its request
   * leaves in that step's flush, without another turn of the event loop.
   */
  protected signal(): void {
    if (this.inTurn || this.disposed) return;
    this.wake$.next();
  }

  /** Registers a new stream. */
  protected openStream(id: number): H3Stream {
    const s = new H3Stream(
      id,
      {
        demand: () => {
          this.readDemand.add(s);
          this.signal();
        },
        cancel: () => this.stopReading(s, H3_REQUEST_CANCELLED),
      },
      this.maxBufferedChunks,
    );
    this.streams.set(id, s);
    return s;
  }

  /**
   * Datagrams that arrived for no flow and were dropped: an unknown flow id (a stream without a
   * flow, one already closed, a server without `enableExtendedConnect`), or no flow-id prefix.
   */
  get unroutedDatagrams(): number {
    return this.unrouted;
  }

  /** Gives a stream its datagram flow. */
  protected openFlow(s: H3Stream, flowId: number): DatagramFlow {
    const flow = new DatagramFlow(flowId, {
      wake: () => {
        this.pendingDatagrams.add(flow);
        this.signal();
      },
    });
    s.flow = flow;
    this.flows.set(flowId, flow);
    return flow;
  }

  /** Whether a datagram for an unknown flow id opens a flow: clients always, servers by setting. */
  protected acceptsAutonomousFlows(): boolean {
    return true;
  }

  /**
   * Opens a flow no request has, for a datagram that named it (tokio-quiche's autonomous flows),
   * and reports it as a `newFlow` event; `undefined` when not accepted or over the limit.
   */
  private openAutonomousFlow(flowId: number): DatagramFlow | undefined {
    if (!this.acceptsAutonomousFlows() || this.autonomousFlows >= MAX_AUTONOMOUS_FLOWS) return undefined;
    if (this.streams.has(flowId * 4)) return undefined; // a request without a flow: not autonomous
    this.autonomousFlows++;
    const flow = new DatagramFlow(flowId, {
      wake: () => {
        this.pendingDatagrams.add(flow);
        this.signal();
      },
    });
    this.flows.set(flowId, flow);
    this.emit({ type: 'newFlow', flowId, flow });
    return flow;
  }

  /** Marks a stream as having something to write, and wakes the worker. */
  protected markWrite(s: H3Stream): void {
    if (this.streams.get(s.id) !== s) return;
    this.pendingWrites.add(s);
    this.signal();
  }

  /** Asks for STOP_SENDING with `code` on the next turn (no-op once the read side is done). */
  protected stopReading(s: H3Stream, code: number): void {
    if (s.readDone || s.stopReadCode !== null) return;
    s.stopReadCode = code;
    s.stats.sentStopSendingCode = code;
    this.markWrite(s);
  }

  /** Asks for RESET_STREAM with `code` on the next turn, dropping what was not written. */
  protected resetWriting(s: H3Stream, code: number): void {
    if (s.writeDone || s.resetWriteCode !== null) return;
    s.resetWriteCode = code;
    s.stats.sentResetCode = code;
    s.body?.cancel();
    s.frames.length = 0;
    this.markWrite(s);
  }

  /**
   * Queues a message: its header section, then `body` (pulled as capacity allows) and `trailers`.
   * Without body and trailers, the header section carries the FIN.
   *
   * @param s The stream.
   * @param headers The header section; `null` when already sent (a client's request headers).
   * @param body The body, if any.
   * @param trailers Trailers, if any.
   * @param priority The response priority (server).
   */
  protected queueMessage(
    s: H3Stream,
    headers: H3Header[] | null,
    body: H3BodyInit | undefined,
    trailers: H3Header[] | undefined,
    priority?: { readonly urgency: number; readonly incremental: boolean },
  ): void {
    const hasMore = body !== undefined || trailers !== undefined;
    if (priority) s.urgency = priority.urgency;
    if (headers !== null) {
      s.frames.push({
        kind: 'headers',
        headers,
        fin: !hasMore,
        trailer: false,
        ...(priority ? { urgency: priority.urgency, incremental: priority.incremental } : {}),
      });
    }
    if (!hasMore) {
      s.finQueued = true;
    } else {
      s.trailers = trailers ?? null;
      if (body === undefined) {
        this.finishBody(s);
      } else if (typeof body === 'string' || body instanceof Uint8Array) {
        // Bytes in hand: nothing to pull or to hold back, so they are queued at once (what
        // OutboundBody would deliver on its first pull, without it or a capacity check).
        const data = typeof body === 'string' ? utf8.encode(body) : body;
        if (data.length > 0) s.frames.push({ kind: 'body', data, fin: false });
        this.finishBody(s);
      } else {
        s.body = new OutboundBody(body, {
          chunk: (data) => {
            if (s.writeDone || s.resetWriteCode !== null) return;
            if (data.length > 0) s.frames.push({ kind: 'body', data, fin: false });
            this.markWrite(s);
          },
          end: () => {
            if (s.writeDone || s.resetWriteCode !== null) return;
            this.finishBody(s);
            this.markWrite(s);
          },
          fail: (error) => {
            this.resetWriting(s, H3_REQUEST_CANCELLED);
            this.onBodyFailed(s, error);
          },
          sentBytes: () => s.stats.bytesSent,
        });
      }
    }
    this.markWrite(s);
  }

  /** Queues what ends the stream after the body: the trailers, or the FIN. */
  private finishBody(s: H3Stream): void {
    if (s.trailers) {
      s.frames.push({ kind: 'headers', headers: s.trailers, fin: true, trailer: true });
    } else {
      const last = s.frames[s.frames.length - 1];
      if (last?.kind === 'body') last.fin = true;
      else s.frames.push({ kind: 'body', data: EMPTY, fin: true });
    }
    s.finQueued = true;
  }

  // ---- The turn's work --------------------------------------------------------------------------

  private runCommands(qconn: H3QuicheConnection): void {
    this.commandsBlocked = false;
    while (this.commands.length > 0 && !this.disposed) {
      const command = this.commands[0]!;
      if (!this.runCommand(qconn, command)) {
        // Blocked: retried at the next turn, which the peer's packets bring.
        this.commandsBlocked = true;
        return;
      }
      this.commands.shift();
    }
  }

  /** Runs one command; `false` to retry it next turn. */
  protected runCommand(qconn: H3QuicheConnection, command: DriverCommand): boolean {
    switch (command.type) {
      case 'quicCmd':
        executeQuicCommand(command.command, qconn as QuicheConnection);
        return true;
      case 'goaway':
        return this.sendGoaway(qconn);
      case 'shutdownStream': {
        const s = this.streams.get(command.streamId);
        if (!s) return true;
        const { read, write } = command.shutdown;
        if (read !== undefined && !s.readDone) {
          s.stopReadCode = read;
          s.stats.sentStopSendingCode = read;
          s.inbound.fail(
            new QuicStreamError('StreamStopped', {
              streamId: s.id,
              applicationCode: read,
              message: `stream ${s.id}: reading was stopped locally with code 0x${read.toString(16)}`,
            }),
          );
        }
        if (write !== undefined) this.resetWriting(s, write);
        this.flushStream(qconn, s);
        return true;
      }
      case 'postAcceptTimeout':
      case 'priorityUpdate':
        return true;
    }
  }

  /** Sends GOAWAY; `false` when the control stream is blocked (retry). */
  protected abstract sendGoaway(qconn: H3QuicheConnection): boolean;

  /** Polls until quiche has no event left, dispatching each. */
  protected pollAll(qconn: H3QuicheConnection): void {
    const h3 = this.h3;
    if (!h3) return;
    for (;;) {
      let event: napi.H3Event | null;
      try {
        event = h3.poll(qconn);
      } catch (e) {
        // quiche has queued the CONNECTION_CLOSE; the worker sends it and ends with this error.
        throw fromNativeError(e);
      }
      if (!this.settingsForwarded) this.forwardSettings(h3);
      if (event === null) return;
      this.readsDelivered++;
      this.dispatch(qconn, event);
      if (this.disposed) return;
    }
  }

  private forwardSettings(h3: H3ConnectionLike): void {
    const raw = h3.peerSettingsRaw();
    if (raw === null) return;
    this.settingsForwarded = true;
    this.readsDelivered++;
    this.emit({ type: 'settings', settings: raw.map((pair) => [pair[0] ?? 0, pair[1] ?? 0] as const) });
  }

  private dispatch(qconn: H3QuicheConnection, event: napi.H3Event): void {
    switch (event.type) {
      case 'headers': {
        this.onHeaders(qconn, event);
        if (this.checksContentLength) this.noteContentLength(qconn, event);
        return;
      }
      case 'data': {
        const s = this.streams.get(event.streamId);
        if (!s || s.readDone) return;
        s.readable = true;
        this.readBody(qconn, s);
        return;
      }
      case 'finished': {
        const s = this.streams.get(event.streamId);
        if (!s || s.readDone) return;
        if (s.expectedLength != null && s.stats.bytesReceived !== s.expectedLength) {
          this.malformedBody(qconn, s, `${s.stats.bytesReceived} bytes, not the ${s.expectedLength} of its content-length`);
          return;
        }
        s.readDone = true;
        s.readable = false;
        s.stats.receivedFin = true;
        if (this.observed) this.emit({ type: 'bodyBytesReceived', streamId: s.id, numBytes: 0, fin: true });
        s.inbound.end();
        this.onStreamFinished(s);
        this.maybeClose(s);
        return;
      }
      case 'reset':
        this.emit({ type: 'reset', streamId: event.streamId, errorCode: event.errorCode ?? 0 });
        this.onPeerReset(event.streamId, event.errorCode ?? 0);
        return;
      case 'goaway':
        this.emit({ type: 'goaway', id: event.streamId });
        this.onGoaway(event.streamId);
        return;
      case 'priorityUpdate':
        return this.onPriorityUpdate(event.streamId);
      default:
        return;
    }
  }

  /** A PRIORITY_UPDATE arrived (server): the subclass reads it. */
  protected onPriorityUpdate(_streamId: number): void {}

  /**
   * Whether a received message's body is held to its content-length (RFC 9114 §4.1.2): the server
   * checks requests. A client does not check responses (a HEAD or 304 response names a length it
   * does not carry).
   */
  protected readonly checksContentLength: boolean = false;

  /** Reads the content-length of a message's first header section, once. */
  private noteContentLength(qconn: H3QuicheConnection, event: napi.H3Event): void {
    const s = this.streams.get(event.streamId);
    if (!s || s.expectedLength !== undefined || !event.headers) return;
    const value = fieldValue(event.headers, 'content-length');
    if (value === undefined) {
      s.expectedLength = null;
    } else if (/^[0-9]{1,15}$/.test(value)) {
      s.expectedLength = Number(value);
    } else {
      this.malformedBody(qconn, s, `announced with an invalid content-length ${JSON.stringify(value)}`);
    }
  }

  /**
   * A malformed message (RFC 9114 §4.1.2): the stream is shut down both ways with H3_MESSAGE_ERROR
   * and its reader fails with an `Http3Error('MessageError')`; the connection and other streams go on.
   */
  private malformedBody(qconn: H3QuicheConnection, s: H3Stream, what: string): void {
    if (s.readDone) return;
    s.stats.sentStopSendingCode = H3_MESSAGE_ERROR;
    shutdown(qconn, s.id, 'read', H3_MESSAGE_ERROR);
    s.readDone = true;
    s.readable = false;
    this.resetWriting(s, H3_MESSAGE_ERROR);
    const error = new Http3Error('MessageError', { wireCode: H3_MESSAGE_ERROR, message: `stream ${s.id}: the body is ${what}` });
    s.inbound.fail(error);
    this.onStreamFailed(s, error);
    this.maybeClose(s);
  }

  /** The peer reset its sending side of a stream. */
  private onPeerReset(streamId: number, code: number): void {
    const s = this.streams.get(streamId);
    if (!s || s.readDone) return;
    s.readDone = true;
    s.readable = false;
    s.stats.receivedResetCode = code;
    const error = new QuicStreamError('StreamReset', { streamId, applicationCode: code });
    s.inbound.fail(error);
    this.onStreamFailed(s, error);
    this.maybeClose(s);
  }

  /**
   * Reads a stream's body while its reader wants more and quiche has some.
   *
   * @returns Whether anything was read.
   */
  private readBody(qconn: H3QuicheConnection, s: H3Stream): boolean {
    const h3 = this.h3!;
    let read = false;
    while (s.readable && s.inbound.wantsData && !s.readDone) {
      let n: number | null;
      try {
        n = h3.recvBody(qconn, s.id, this.recvBuf);
      } catch (e) {
        const error = fromNativeError(e);
        if (error.code === 'StreamReset') {
          this.emit({ type: 'reset', streamId: s.id, errorCode: (error as QuicStreamError).applicationCode ?? 0 });
          this.onPeerReset(s.id, (error as QuicStreamError).applicationCode ?? 0);
        } else {
          s.readDone = true;
          s.readable = false;
          s.inbound.fail(error);
          this.onStreamFailed(s, error);
          this.maybeClose(s);
        }
        return read;
      }
      if (n === null) {
        s.readable = false;
        break;
      }
      read = true;
      s.stats.bytesReceived += n;
      if (s.expectedLength != null && s.stats.bytesReceived > s.expectedLength) {
        this.malformedBody(qconn, s, `longer than the ${s.expectedLength} bytes of its content-length`);
        return read;
      }
      if (this.observed) this.emit({ type: 'bodyBytesReceived', streamId: s.id, numBytes: n, fin: false });
      s.inbound.push(this.recvBuf.slice(0, n));
    }
    return read;
  }

  /** Hands every received DATAGRAM to its flow (by its quarter-stream-id prefix) or drops it. */
  private readDatagrams(qconn: H3QuicheConnection): void {
    const buf = sharedDgramBuffer();
    for (;;) {
      let n: number | null;
      try {
        n = qconn.dgramRecv(buf);
      } catch {
        return; // datagrams are disabled, or one larger than the buffer (cannot happen over UDP)
      }
      if (n === null) return;
      const prefix = decodeVarint(buf.subarray(0, n));
      if (prefix === null) {
        this.unrouted++;
        continue;
      }
      this.readsDelivered++;
      const flow = this.flows.get(prefix[0]) ?? this.openAutonomousFlow(prefix[0]);
      if (flow === undefined) {
        this.unrouted++;
        continue;
      }
      flow.deliver(buf.slice(prefix[1], n));
    }
  }

  /** Sends the flows' queued datagrams; what quiche does not take is dropped (and counted). */
  private sendDatagrams(qconn: H3QuicheConnection): void {
    if (this.pendingDatagrams.size === 0) return;
    this.pendingDatagrams.drain((flow) => {
      for (const d of flow.outgoing) {
        let sent: boolean;
        try {
          sent = qconn.dgramSend(d);
        } catch {
          sent = false; // the peer takes no datagrams, or this one is too large
        }
        if (!sent) flow.droppedOutgoing++;
      }
      flow.outgoing.length = 0;
    });
  }

  /** Sends a stream's pending shutdowns and frames, pulling its body while quiche takes more. */
  protected flushStream(qconn: H3QuicheConnection, s: H3Stream): void {
    if (this.streams.get(s.id) !== s) return;
    if (s.stopReadCode !== null && !s.readDone) {
      shutdown(qconn, s.id, 'read', s.stopReadCode);
      s.readDone = true;
      s.readable = false;
    }
    if (s.resetWriteCode !== null && !s.writeDone) {
      shutdown(qconn, s.id, 'write', s.resetWriteCode);
      this.closeWrite(s);
    }
    while (!s.writeDone) {
      const frame = s.frames[0];
      if (frame === undefined) {
        const body = s.body;
        if (!body || body.done || body.busy) break;
        // Pull only when the stream can take bytes, so at most one chunk waits here.
        if (!this.hasCapacity(qconn, s)) {
          if (!s.writeDone) this.blockedWrites.add(s);
          break;
        }
        body.pull();
        if (s.frames.length === 0) break; // asynchronous: the sink marks the stream when it delivers
        continue;
      }
      const next = s.frames[1];
      if (frame.kind === 'headers' && next?.kind === 'body' && next.data.length > 0 && !s.headersWritten && this.isServer) {
        // A response and its body in hand: one native call for both where the layer has it.
        const written = this.writeResponseWithBody(qconn, s, frame, next);
        if (written > 0) s.frames.shift();
        if (written < 2) {
          if (!s.writeDone) this.blockedWrites.add(s);
          break;
        }
        s.frames.shift();
        if (next.fin) this.onFinWritten(s);
        continue;
      }
      if (!this.writeFrame(qconn, s, frame)) {
        // Blocked on flow control: retry at every turn until quiche takes it.
        if (!s.writeDone) this.blockedWrites.add(s);
        break;
      }
      s.frames.shift();
      if (frame.fin) this.onFinWritten(s);
    }
    // What was queued for this stream during the flush has been written (or is blocked).
    if (s.stopReadCode === null || s.readDone) this.pendingWrites.delete(s);
    this.maybeClose(s);
  }

  private hasCapacity(qconn: H3QuicheConnection, s: H3Stream): boolean {
    try {
      return qconn.streamCapacity(s.id) > 0;
    } catch (e) {
      this.onWriteError(qconn, s, e);
      return false;
    }
  }

  /** Writes one frame; `false` when quiche cannot take (all of) it now. */
  private writeFrame(qconn: H3QuicheConnection, s: H3Stream, frame: OutboundFrame): boolean {
    const h3 = this.h3!;
    try {
      if (frame.kind === 'headers') {
        if (!s.headersWritten && this.isServer) {
          h3.sendResponse(
            qconn,
            s.id,
            frame.headers,
            frame.fin,
            frame.urgency ?? DEFAULT_URGENCY,
            frame.incremental ?? DEFAULT_INCREMENTAL,
          );
        } else {
          h3.sendAdditionalHeaders(qconn, s.id, frame.headers, frame.trailer, frame.fin);
        }
        s.headersWritten = true;
        return true;
      }
      const n = h3.sendBody(qconn, s.id, frame.data, frame.fin);
      if (n === null) return false;
      s.stats.bytesSent += n;
      if (n < frame.data.length) {
        frame.data = frame.data.subarray(n);
        return false;
      }
      return true;
    } catch (e) {
      if ((e as { code?: unknown })?.code === 'StreamBlocked') return false;
      this.onWriteError(qconn, s, e);
      return false;
    }
  }

  /**
   * Writes a stream's first header section (server) and the body frame after it, with
   * `sendResponseWithBody` when the layer has it, else frame by frame.
   *
   * @returns How many of the two frames were written whole: 0 (blocked or failed), 1 (the headers;
   * the body is blocked, `body.data` is what is left) or 2.
   */
  private writeResponseWithBody(
    qconn: H3QuicheConnection,
    s: H3Stream,
    headers: OutboundFrame & { kind: 'headers' },
    body: OutboundFrame & { kind: 'body' },
  ): number {
    const h3 = this.h3!;
    if (h3.sendResponseWithBody === undefined) {
      if (!this.writeFrame(qconn, s, headers)) return 0;
      return this.writeFrame(qconn, s, body) ? 2 : 1;
    }
    let n: number;
    try {
      n = h3.sendResponseWithBody(
        qconn,
        s.id,
        headers.headers,
        body.data,
        body.fin,
        headers.urgency ?? DEFAULT_URGENCY,
        headers.incremental ?? DEFAULT_INCREMENTAL,
      );
    } catch (e) {
      // StreamBlocked comes from the headers only: nothing was sent, retry.
      if ((e as { code?: unknown })?.code !== 'StreamBlocked') this.onWriteError(qconn, s, e);
      return 0;
    }
    s.headersWritten = true;
    s.stats.bytesSent += n;
    if (n < body.data.length) {
      body.data = body.data.subarray(n);
      return 1;
    }
    return 2;
  }

  /**
   * A write failed. After the peer's STOP_SENDING (`StreamStopped`) quiche has reset the stream
   * itself; for anything else (a header value outside Latin-1, a stream in a bad state) we reset it
   * with H3_INTERNAL_ERROR so the peer does not wait forever.
   */
  private onWriteError(qconn: H3QuicheConnection, s: H3Stream, e: unknown): void {
    const error = fromNativeError(e);
    if (error.code === 'StreamStopped') s.stats.receivedStopSendingCode = (error as QuicStreamError).applicationCode ?? 0;
    else shutdown(qconn, s.id, 'write', H3_INTERNAL_ERROR);
    this.closeWrite(s);
    this.onBodyFailed(s, error);
  }

  /** Our FIN went out. */
  protected onFinWritten(s: H3Stream): void {
    s.stats.sentFin = true;
    this.closeWrite(s);
  }

  private closeWrite(s: H3Stream): void {
    s.writeDone = true;
    s.frames.length = 0;
    s.body?.cancel();
    s.responseSubscription?.unsubscribe();
    s.responseSubscription = null;
  }

  /** Forgets a stream once both directions are done. */
  protected maybeClose(s: H3Stream): void {
    if (!s.isClosed || this.streams.get(s.id) !== s) return;
    this.streams.delete(s.id);
    this.pendingWrites.delete(s);
    this.blockedWrites.delete(s);
    this.readDemand.delete(s);
    if (s.flow) {
      this.flows.delete(s.flow.id);
      this.pendingDatagrams.delete(s.flow);
      s.flow.close();
    }
    this.onStreamClosed(s);
    if (this.observed) this.emit({ type: 'streamClosed', streamId: s.id });
    if (this.controllerDone) this.signal();
  }

  /** After the controller completed: close with H3_NO_ERROR once nothing is active. */
  private closeIfIdle(qconn: H3QuicheConnection): void {
    if (!this.controllerDone || this.streams.size > 0 || this.hasPendingWork()) return;
    if (!qconn.isClosed()) qconn.close(true, H3_NO_ERROR, '');
  }

  /** Raises a stream's priority until its response starts (server). */
  protected boostPriority(qconn: H3QuicheConnection, streamId: number): void {
    try {
      qconn.streamPriority(streamId, BOOSTED_URGENCY, false);
    } catch {
      // The stream is already gone; nothing to prioritise.
    }
  }
}

function shutdown(qconn: H3QuicheConnection, streamId: number, direction: 'read' | 'write', code: number): void {
  try {
    qconn.streamShutdown(streamId, direction as napi.Shutdown, code);
  } catch {
    // The stream is already closed in that direction.
  }
}

/** The most urgent first (RFC 9218: a lower urgency is more urgent). */
function byUrgency(a: H3Stream, b: H3Stream): number {
  return a.urgency - b.urgency;
}
