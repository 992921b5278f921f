import {
  asyncScheduler,
  BehaviorSubject,
  from,
  map,
  merge,
  NEVER,
  Observable,
  type SchedulerLike,
  Subject,
  type Subscription,
  switchMap,
  take,
} from 'rxjs';

import type { ApplicationOverQuic, ConnectionResult } from '../application/ApplicationOverQuic';
import { HandshakeError } from '../errors/HandshakeError';
import { QuicError } from '../errors/QuicError';
import { QuicTransportError } from '../errors/QuicTransportError';
import type { Metrics } from '../metrics/Metrics';
import type { napi } from '../native/binding';
import { fromNativeError } from '../native/errors';
import type { ConnectionIdGenerator } from '../router/ConnectionIdGenerator';
import type { DatagramSender } from '../socket/DatagramSender';
import type { Incoming, SocketAddress } from '../socket/Incoming';
import { diagnostics } from '../metrics/diagnostics';
import { cidHex, hasHandshakePacket } from '../router/connectionId';
import { secureRandomBytes } from '../router/secureRandomBytes';
import { GRACEFUL_SHUTDOWN, type ConnectionShutdownBehaviour } from './ConnectionShutdownBehaviour';
import type { ConnectionStage } from './ConnectionStage';
import type { HandshakeInfo } from './HandshakeInfo';
import { immediateScheduler } from './immediateScheduler';
import { readConnectionStats, type QuicConnectionStats } from './QuicConnectionStats';
import type { WorkerConnection } from './WorkerConnection';

/** Transport error codes the worker sends itself (RFC 9000 §20.1). */
const INTERNAL_ERROR = 0x1;
const APPLICATION_ERROR = 0xc;
/** HTTP/3's NO_ERROR application code (RFC 9114 §8.1), a clean close like 0. */
const H3_NO_ERROR = 0x100;

/** How many packets one flush may write before it yields (tokio-quiche's 128-packet bound). */
const MAX_PACKETS_PER_FLUSH = 128;

/**
 * Bytes received since the last flush from which the step flushes at once instead of at the end of
 * the turn: two full-size datagrams (RFC 9000 §14.1: at least 1200 bytes). RFC 9000 §13.2.2 has a
 * receiver acknowledge at least every second ack-eliciting packet, and a bulk receiver whose ACKs
 * wait for the end of the turn slows its sender. Bytes, not datagrams: an ACK-only datagram is not
 * ack-eliciting, and counting it, a step that took the peer's ACK together with its next request
 * flushed an ACK of its own before the application's reply; the peer, now getting two datagrams
 * per exchange, did the same, and both ends sent twice the datagrams for good.
 */
const ACK_EVERY_BYTES = 2 * 1200;

/**
 * The connection IDs a worker keeps in its router's map.
 */
export interface ConnectionIdRegistry {
  /** Maps `cid` to this connection. */
  map(cid: Uint8Array): void;
  /** Forgets `cid`. */
  unmap(cid: Uint8Array): void;
  /** Makes the spare source IDs the peer may switch to (for migration); without one, none are issued. */
  readonly generator?: ConnectionIdGenerator;
  /** The client's original destination ID, unmapped once the handshake completes (servers). */
  readonly pendingCid?: Uint8Array;
}

/**
 * What the worker emits: `established` once, when the application starts.
 */
export type WorkerEvent = { readonly type: 'established'; readonly handshakeInfo: HandshakeInfo };

/**
 * Everything one connection's worker needs.
 */
export interface IoWorkerParams<C extends WorkerConnection> {
  /** The quiche connection. */
  readonly conn: C;
  /** The connection's packets, from its inbox. */
  readonly packet$: Observable<Incoming>;
  /** The socket's shared send half. */
  readonly sender: DatagramSender;
  /** The protocol on top. */
  readonly app: ApplicationOverQuic<C>;
  /** Handshake timing and timeout. */
  readonly handshakeInfo: HandshakeInfo;
  /** Counters. */
  readonly metrics: Metrics;
  /** The router map entries this connection owns. */
  readonly cids: ConnectionIdRegistry;
  /** Stop after the handshake until {@link IoWorker.resume} (tokio-quiche's `handshake()`). */
  readonly pauseAfterHandshake?: boolean;
  /** What unsubscribing sends. Defaults to the application's `shutdownBehaviour`, then {@link GRACEFUL_SHUTDOWN}. */
  readonly shutdownBehaviour?: ConnectionShutdownBehaviour;
  /**
   * Runs coalesced steps. Defaults to a microtask (what `asapScheduler` would do, without its
   * per-step allocations): packets that arrive together are handled in one step.
   */
  readonly stepScheduler?: SchedulerLike;
  /**
   * Runs the flush that follows one or more steps. Defaults to `stepScheduler` when one is given,
   * else to `setImmediate` ({@link immediateScheduler}): the flush waits until the Promise chains
   * the step set off have settled, so the application's reaction to a packet (the next request
   * after an awaited response) leaves in the same datagram as the ACK of that packet instead of
   * one datagram, and one wake-up of the peer, each.
   */
  readonly flushScheduler?: SchedulerLike;
  /**
   * `false` for a server whose client has not proven its address (no Retry token): until a
   * Handshake packet arrives from it (or the handshake completes) the worker sends at most three
   * times the bytes it received (RFC 9000 §8.1), whatever quiche hands it. Defaults to `undefined`: no limit beyond quiche's own.
   */
  readonly addressValidated?: boolean;
  /** Runs quiche's timers. Defaults to `asyncScheduler`. */
  readonly timerScheduler?: SchedulerLike;
  /** The connection's addresses, for diagnostics. */
  readonly localAddr?: SocketAddress;
  readonly peerAddr?: SocketAddress;
  /** Bytes of the send buffer (shared by every worker with the same size). Defaults to `65536`. */
  readonly sendBufferSize?: number;
}

/**
 * One connection's worker: tokio-quiche's `IoWorker`, as an Observable.
 *
 * Subscribing runs `merge(packet$, timer$, wake$)` into one step function, in tokio-quiche's order:
 * feed quiche every packet that arrived → `processReads` → `processWrites` → top up connection IDs →
 * flush → arm the timer from quiche's `timeout()` (kept when it already fires no later) → race
 * `waitForData` again. Unlike tokio-quiche, a step that took in less than two full-size
 * datagrams, and gave the application something to read, leaves the flush (and the timer after it)
 * to the end of the event loop's turn (`flushScheduler`), so what the application does in reaction
 * leaves in the same datagram as the ACK. It moves through the stages `handshake` → `running` → `closed`
 * ({@link ConnectionStage}).
 *
 * `run$()` emits `established` when the application starts, completes when the connection closes
 * cleanly (a local close, a peer's NO_ERROR close, the idle timeout) and errors with a
 * {@link QuicError} otherwise. Unsubscribing closes the connection with `shutdownBehaviour`,
 * flushes the CONNECTION_CLOSE and unmaps its connection IDs: it never just vanishes.
 */
export class IoWorker<C extends WorkerConnection> {
  private stageValue: ConnectionStage = 'handshake';
  // Packets were fed to quiche since the last step: processReads is due.
  private didRecv = false;
  // The first step of the running stage reads unconditionally (0-RTT data from the handshake).
  private firstRead = true;
  // Connection IDs may need issuing or unmapping: only packets (the peer's limit, its
  // RETIRE_CONNECTION_ID frames), timers and the handshake's end change what quiche reports.
  private idsDue = true;
  // quiche reported the connection established, which it stays.
  private wasEstablished = false;
  // Source IDs were issued up to quiche's room once established; only a retirement makes more.
  private scidsIssued = false;
  // A step is scheduled on the step scheduler, or (without one) queued as a microtask.
  private stepPending: Subscription | null = null;
  private stepQueued = false;
  // The flush after the last step is scheduled on the flush scheduler.
  private flushPending: Subscription | null = null;
  // Bytes fed to quiche since the last flush (see ACK_EVERY_BYTES).
  private receivedSinceFlush = 0;
  // A failure that ends the loop at the end of this step.
  private failure: QuicError | null = null;
  // The timer: where its events go while the loop runs, the armed action and when it fires
  // (on the timer scheduler's clock; Infinity when disarmed).
  private timerSink: { next(e: { kind: 'timeout' }): void } | null = null;
  private timerAction: Subscription | null = null;
  private timerAt = Infinity;
  // waitForData, raced again after every step: where its wake goes while the loop runs, the
  // subscription and the input it came from (see armWait).
  private wakeSink: { next(e: { kind: 'wake' }): void; error(e: unknown): void } | null = null;
  private waitSub: Subscription | null = null;
  private waitInput: unknown = null;
  // Whether the loop runs (false while paused after the handshake).
  private readonly running$ = new BehaviorSubject<boolean>(true);
  // The subscriber of run$, while running.
  private subscriber: { next(e: WorkerEvent): void; error(e: unknown): void; complete(): void } | null = null;
  // The send buffer and its lengths, shared by every worker (see sharedSendBuffer).
  private readonly out: Uint8Array;
  private readonly lengths: Uint32Array;
  private closedStats: QuicConnectionStats | null = null;
  // The client's original destination ID was unmapped (once the handshake completed).
  private pendingCidUnmapped = false;
  private established = false;
  /** RFC 9000 §8.1 accounting while the peer's address is unvalidated; off once it is. */
  private amplificationLimited: boolean;
  private amplificationReceived = 0;
  private amplificationSent = 0;
  // The address objects of the last packet quiche took (see recv).
  private recvPeer: SocketAddress | null = null;
  private recvLocal: SocketAddress | null = null;

  constructor(private readonly params: IoWorkerParams<C>) {
    ({ out: this.out, lengths: this.lengths } = sharedSendBuffer(params.sendBufferSize ?? 65536));
    this.amplificationLimited = params.addressValidated === false;
  }

  /** The stage the connection is in. */
  get stage(): ConnectionStage {
    return this.stageValue;
  }

  /**
   * Statistics of the closed connection; `null` before it closed. Read on first use: quiche's
   * counters no longer move once the worker has stopped, and building the snapshot costs more than
   * the rest of a connection's close.
   */
  get finalStats(): QuicConnectionStats | null {
    if (this.stageValue !== 'closed') return null;
    return (this.closedStats ??= readConnectionStats(this.params.conn));
  }

  /**
   * Runs the worker; see the class description for what it emits.
   *
   * @returns An Observable that runs the connection while subscribed.
   */
  run$(): Observable<WorkerEvent> {
    return new Observable<WorkerEvent>((subscriber) => {
      this.subscriber = subscriber;

      const packet$ = this.params.packet$.pipe(map((incoming) => ({ kind: 'packet' as const, incoming })));
      const timer$ = new Observable<{ kind: 'timeout' }>((sink) => {
        this.timerSink = sink;
        return () => {
          this.timerSink = null;
          this.disarmTimer();
        };
      });
      const wake$ = new Observable<{ kind: 'wake' }>((sink) => {
        this.wakeSink = sink;
        return () => {
          this.wakeSink = null;
          this.disarmWait();
        };
      });
      const loop = this.running$
        .pipe(switchMap((running) => (running ? merge(packet$, timer$, wake$) : NEVER)))
        .subscribe({
          next: (event) => {
            if (this.stageValue === 'closed') return;
            try {
              if (event.kind === 'packet') {
                this.recv(event.incoming);
                this.scheduleStep();
              } else if (event.kind === 'timeout') {
                this.onTimer();
              } else {
                // A wake that fires synchronously must not re-enter the step that armed it.
                this.scheduleStep();
              }
            } catch (e) {
              this.fail(e);
            }
          },
          // The inbox and timers do not error; waitForData may.
          error: (e) => this.fail(e),
        });

      // The client's first flight (or a server's first reply) goes out at once.
      this.guard(() => this.step());

      return () => {
        loop.unsubscribe();
        this.stepPending?.unsubscribe();
        this.stepPending = null;
        this.stepQueued = false;
        this.cancelFlush();
        if (this.stageValue !== 'closed') this.shutdown();
        this.subscriber = null;
      };
    });
  }

  /**
   * Resumes a worker paused after its handshake (tokio-quiche's `resume`): the application starts
   * and queued packets are processed.
   */
  resume(): void {
    if (this.stageValue !== 'paused') return;
    this.stageValue = 'running';
    this.firstRead = true;
    this.running$.next(true);
    this.guard(() => this.step());
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }

  private recv(incoming: Incoming): void {
    const { conn } = this.params;
    if (this.amplificationLimited) {
      // The client's first Handshake packet proves its address (RFC 9000 §8.1), as quiche decides.
      if (hasHandshakePacket(incoming.buf, incoming.gro)) this.amplificationLimited = false;
      else this.amplificationReceived += incoming.buf.length;
    }
    try {
      // Addresses the connection saw in the previous recv go as null: the native socket hands
      // the same objects for the same peer, and converting them is most of a small recv's cost.
      const { peer, local } = incoming;
      conn.recv(incoming.buf, peer === this.recvPeer ? null : peer, local === this.recvLocal ? null : local, incoming.gro ?? null);
      this.recvPeer = peer;
      this.recvLocal = local;
      this.didRecv = true;
      this.idsDue = true;
      this.receivedSinceFlush += incoming.buf.length;
    } catch (e) {
      // quiche has queued a CONNECTION_CLOSE for the protocol error; the step flushes it.
      this.failure ??= fromNativeError(e);
    }
  }

  private scheduleStep(): void {
    const scheduler = this.params.stepScheduler;
    if (scheduler === undefined) {
      // The default: a microtask, as asapScheduler would run it, without the action, handle and
      // Subscription it allocates per step (the largest allocation site of a request in a profile).
      if (this.stepQueued) return;
      this.stepQueued = true;
      queueMicrotask(this.runQueuedStep);
      return;
    }
    if (this.stepPending) return;
    this.stepPending = scheduler.schedule(() => {
      this.stepPending = null;
      this.guard(() => this.step());
    });
  }

  private readonly runQueuedStep = (): void => {
    if (!this.stepQueued) return; // cancelled by the teardown
    this.stepQueued = false;
    this.guard(() => this.step());
  };

  private onTimer(): void {
    const { conn, handshakeInfo } = this.params;
    if (this.stageValue === 'handshake' && handshakeInfo.isExpired(this.now())) {
      // tokio-quiche closes with APPLICATION_ERROR so the peer sees transport code 0xc.
      conn.close(false, APPLICATION_ERROR, '');
      this.params.metrics.failedHandshake('timeout');
      this.failure ??= new HandshakeError('HandshakeTimeout');
    } else {
      conn.onTimeout();
    }
    this.idsDue = true;
    this.step();
  }

  /** A send error means quiche failed internally: close like tokio-quiche does. */
  private failSend(e: unknown): void {
    const { conn } = this.params;
    this.failure ??= fromNativeError(e);
    if (conn.localError() === null) conn.close(false, INTERNAL_ERROR, '');
  }

  /**
   * One turn of the loop. The flush ({@link flushTurn}) follows at once when at least
   * {@link ACK_EVERY_BYTES} bytes arrived since the last one or when `processReads` reports that
   * they gave the application nothing (an ACK that opened the congestion window), and otherwise
   * once the reactions to this turn have run (see `flushScheduler`).
   */
  private step(): void {
    if (this.stageValue === 'closed' || this.stageValue === 'paused') return;
    const { conn, app } = this.params;

    if (this.failure === null && this.stageValue === 'handshake' && this.handshakeDone()) {
      this.startApplication();
      if ((this.stageValue as ConnectionStage) === 'paused') return;
    }
    // A step whose packets gave the application nothing to react to flushes at once.
    let quiet = false;
    if (this.failure === null && this.stageValue === 'running' && app.shouldAct()) {
      if (this.didRecv || this.firstRead) {
        this.firstRead = false;
        quiet = app.processReads(conn) === false;
      }
      // A server writes once established (tokio-quiche's rule: no 0.5-RTT data); a resuming client
      // writes in early data too, so its requests go out as 0-RTT.
      if (this.reportsEstablished(conn) || (conn.isInEarlyData() && !conn.isServer())) app.processWrites(conn);
    }
    this.didRecv = false;
    // On a failure quiche already holds the CONNECTION_CLOSE; finish() flushes it after onConnClose.
    if (this.failure !== null) return this.finish({ ok: false, error: this.failure });
    if (this.idsDue) {
      this.idsDue = false;
      this.refreshConnectionIds();
    }
    if (this.receivedSinceFlush >= ACK_EVERY_BYTES || quiet) {
      this.cancelFlush();
      this.flushTurn();
    } else {
      this.scheduleFlush();
    }
    this.armWait();
  }

  private scheduleFlush(): void {
    if (this.flushPending) return;
    const scheduler = this.params.flushScheduler ?? this.params.stepScheduler ?? immediateScheduler;
    this.flushPending = scheduler.schedule(() => {
      this.flushPending = null;
      this.guard(() => this.flushTurn());
    });
  }

  private cancelFlush(): void {
    this.flushPending?.unsubscribe();
    this.flushPending = null;
  }

  /** The end of a turn: flush, notice a close, and re-arm the timer from what was sent. */
  private flushTurn(): void {
    if (this.stageValue === 'closed' || this.stageValue === 'paused') return;
    const { conn } = this.params;
    this.receivedSinceFlush = 0;
    this.flush();

    if (this.failure !== null) return this.finish({ ok: false, error: this.failure });
    // quiche has no timeout for a closed connection: only then is it worth asking.
    const timeout = conn.timeout();
    if (timeout === null && conn.isClosed()) return this.finish(this.closeResult());
    if (this.stageValue === 'handshake' && this.handshakeDone()) {
      // The flush itself put quiche in early data: a resuming client writes its ClientHello (again
      // after a Retry) in send(). Start the application on the next step, not at the next packet,
      // so it can write 0-RTT data (tokio-quiche's Handshake-stage `on_flush` check).
      this.scheduleStep();
    }
    this.armTimer(timeout);
  }

  /**
   * Whether the handshake stage is over: established, or in early data (a 0-RTT server, a resuming
   * client), and not closed meanwhile. A client that gets the server's last handshake flight
   * together with its CONNECTION_CLOSE (a refused connection) is established for quiche, but its
   * handshake failed: the application never starts.
   */
  private handshakeDone(): boolean {
    const { conn } = this.params;
    return (conn.isEstablished() || conn.isInEarlyData()) && conn.peerError() === null && conn.localError() === null;
  }

  /** Whether quiche reports the connection established; asked until it is, since it stays so. */
  private reportsEstablished(conn: C): boolean {
    return (this.wasEstablished ||= conn.isEstablished());
  }

  private startApplication(): void {
    const { conn, app, handshakeInfo } = this.params;
    handshakeInfo.setElapsed(this.now());
    // Set first: if onConnEstablished throws, onConnClose still runs (when shouldAct), as in tokio-quiche.
    this.established = true;
    this.idsDue = true;
    app.onConnEstablished(conn, handshakeInfo);
    this.unmapPendingCidOnceEstablished();
    if (this.params.pauseAfterHandshake) {
      // Send what the handshake produced, then wait for resume() with packets queued in the inbox.
      this.flush();
      this.stageValue = 'paused';
      this.running$.next(false);
      this.disarmTimer();
      this.publishEstablished();
      this.subscriber?.next({ type: 'established', handshakeInfo });
      return;
    }
    this.stageValue = 'running';
    this.firstRead = true;
    this.publishEstablished();
    this.subscriber?.next({ type: 'established', handshakeInfo });
  }

  private publishEstablished(): void {
    if (!diagnostics.connectionEstablished.hasSubscribers) return;
    const { conn, handshakeInfo, localAddr, peerAddr } = this.params;
    diagnostics.connectionEstablished.publish({
      scid: cidHex(conn.sourceId()),
      local: localAddr,
      peer: peerAddr,
      isServer: conn.isServer(),
      handshakeMs: handshakeInfo.elapsed,
      inEarlyData: conn.isInEarlyData(),
    });
  }

  /**
   * Forgets the client's original destination ID once the handshake is complete. Not before: a
   * 0-RTT client keeps sending early data to that ID until it has our reply, and a server in
   * early data starts its application right after the first Initial.
   */
  private unmapPendingCidOnceEstablished(): void {
    const { conn, cids } = this.params;
    if (cids.pendingCid && !this.pendingCidUnmapped && this.reportsEstablished(conn)) {
      this.pendingCidUnmapped = true;
      cids.unmap(cids.pendingCid);
    }
  }

  /** Issues source IDs up to what the peer accepts, and unmaps the ones it retired. */
  private refreshConnectionIds(): void {
    const { conn, cids } = this.params;
    this.unmapPendingCidOnceEstablished();
    // The peer's room for our IDs is known once established and grows only as it retires one
    // (RETIRE_CONNECTION_ID): one question per step asks whether anything changed.
    const retired = conn.retiredScids();
    if (retired > 0) for (let cid = conn.retiredScidNext(); cid !== null; cid = conn.retiredScidNext()) cids.unmap(cid);
    if (cids.generator && this.established && (retired > 0 || !this.scidsIssued)) {
      this.scidsIssued = true;
      let left = conn.scidsLeft();
      while (left-- > 0) {
        const cid = cids.generator.newConnectionId();
        cids.map(cid);
        try {
          conn.newScid(cid, secureRandomBytes(16), false);
        } catch {
          cids.unmap(cid);
          break;
        }
      }
    }
  }

  /** Sends everything quiche has ready, in batches, through the shared send half. */
  private flush(): void {
    const { conn, sender } = this.params;
    if (this.amplificationLimited) {
      // A completed handshake proves the address too.
      if (this.established) this.amplificationLimited = false;
      else return this.flushWithinAmplificationLimit();
    }
    if (sender.flushConnection) {
      let more: boolean | null;
      try {
        more = sender.flushConnection(conn, MAX_PACKETS_PER_FLUSH);
      } catch (e) {
        this.failSend(e);
        return;
      }
      if (more !== null) {
        if (more) this.scheduleStep();
        return;
      }
    }
    let sent = 0;
    while (sent < MAX_PACKETS_PER_FLUSH) {
      const batch = this.nextBatch();
      if (!batch) return;
      sender.sendBatch(this.out, this.lengths, batch);
      sent += batch.count;
    }
    // More is ready than one flush may send: come back on the next step.
    this.scheduleStep();
  }

  /**
   * quiche's next batch, written into the shared send buffer: `null` when it has nothing, and
   * `undefined` when it failed (the connection is then being failed).
   */
  private nextBatch(): napi.SendBatch | null | undefined {
    const { conn, sender } = this.params;
    try {
      return conn.send(this.out, this.lengths, sender.gso);
    } catch (e) {
      this.failSend(e);
      return undefined;
    }
  }

  /**
   * Sends what quiche has ready, but never more than three times the bytes received from the
   * unvalidated peer (RFC 9000 §8.1) until its first Handshake packet arrives. quiche keeps this
   * limit itself, except in corners of its send path (the interop matrix saw 3.16–3.31× with
   * quiche's client under loss): packets over the budget are dropped here, which quiche treats as
   * lost and sends again once more has arrived.
   */
  private flushWithinAmplificationLimit(): void {
    const { sender, metrics } = this.params;
    for (;;) {
      const batch = this.nextBatch();
      if (!batch) return;
      const budget = 3 * this.amplificationReceived - this.amplificationSent;
      let count = 0;
      let bytes = 0;
      while (count < batch.count && bytes + this.lengths[count]! <= budget) bytes += this.lengths[count++]!;
      if (count > 0) {
        sender.sendBatch(this.out, this.lengths, count === batch.count ? batch : { ...batch, count, bytes });
        this.amplificationSent += bytes;
      }
      if (count < batch.count) {
        for (let i = count; i < batch.count; i++) metrics.amplificationLimitHit?.();
        return;
      }
    }
  }

  /** Arms the timer for quiche's `timeout` (just read from it), or the handshake deadline if sooner. */
  private armTimer(timeout: number | null): void {
    const { handshakeInfo } = this.params;
    let ms = timeout;
    if (this.stageValue === 'handshake' && handshakeInfo.deadline !== undefined) {
      const left = handshakeInfo.deadline - this.now();
      ms = ms === null ? left : Math.min(ms, left);
    }
    if (ms === null) return this.disarmTimer();
    if (this.timerSink === null) return;
    ms = Math.max(0, ms);
    const at = this.now() + ms;
    // A timer that fires no later than needed stays armed: firing early costs one step in which
    // quiche finds nothing due (its onTimeout checks the clock) and the timer is re-armed, while
    // re-arming on every step costs a clearInterval/setInterval pair per packet.
    if (this.timerAction !== null && this.timerAt <= at) return;
    this.disarmTimer();
    const scheduler = this.params.timerScheduler ?? asyncScheduler;
    this.timerAt = at;
    this.timerAction = scheduler.schedule(() => {
      this.timerAction = null;
      this.timerAt = Infinity;
      this.timerSink?.next({ kind: 'timeout' });
    }, ms);
  }

  /**
   * Races `waitForData` for the next step. A Subject the application returns again while the
   * previous subscription to it is still open stays subscribed: it is hot, so subscribing anew
   * would wait for the same next value, at the price of an unsubscribe and a subscribe per step.
   * Anything else (a Promise, a cold Observable) is subscribed afresh, as before every step.
   */
  private armWait(): void {
    const { conn, app } = this.params;
    if (this.wakeSink === null) return;
    if (this.stageValue !== 'running' || !app.shouldAct()) return this.disarmWait();
    const input = app.waitForData(conn);
    if (input === this.waitInput && input instanceof Subject && this.waitSub !== null && !this.waitSub.closed) return;
    this.disarmWait();
    this.waitInput = input;
    this.waitSub = from(input)
      .pipe(take(1))
      .subscribe({
        next: () => this.wakeSink?.next({ kind: 'wake' }),
        error: (e: unknown) => this.wakeSink?.error(e),
      });
  }

  private disarmWait(): void {
    this.waitSub?.unsubscribe();
    this.waitSub = null;
    this.waitInput = null;
  }

  private disarmTimer(): void {
    this.timerAction?.unsubscribe();
    this.timerAction = null;
    this.timerAt = Infinity;
  }


  /** How a connection that quiche reports closed ended. */
  private closeResult(): ConnectionResult {
    const { conn } = this.params;
    if (!this.established) return { ok: false, error: this.handshakeFailure() };
    const peer = conn.peerError();
    if (peer !== null && peer.errorCode !== 0 && !(peer.isApp && peer.errorCode === H3_NO_ERROR)) {
      return {
        ok: false,
        error: new QuicTransportError({ isApplication: peer.isApp, errorCode: peer.errorCode, reason: peer.reason, fromPeer: true }),
      };
    }
    return { ok: true };
  }

  /**
   * The error of a connection that closed before its handshake completed: a `HandshakeError`
   * whose cause is the CONNECTION_CLOSE (a TLS alert when certificate verification failed), or
   * `cause` when quiche reported no close. Counts the failure.
   */
  private handshakeFailure(cause?: QuicError): HandshakeError {
    const { conn, metrics } = this.params;
    const local = conn.localError();
    const peer = conn.peerError();
    const close = peer ?? local;
    const isTlsAlert = (e: typeof local): boolean => e !== null && !e.isApp && e.errorCode >= 0x100 && e.errorCode < 0x200;
    const tls = isTlsAlert(local) || isTlsAlert(peer) || cause?.code === 'TlsFail';
    metrics.failedHandshake(tls ? 'tlsFail' : cause?.code === 'CryptoFail' ? 'cryptoFail' : 'disconnect');
    const reason = close
      ? new QuicTransportError({
          isApplication: close.isApp,
          errorCode: close.errorCode,
          reason: close.reason,
          fromPeer: close === peer,
          ...(tls ? { code: 'TlsFail' as const } : {}),
          ...(cause ? { cause } : {}),
        })
      : cause;
    return new HandshakeError(
      'HandshakeConnectionClosed',
      reason ? { cause: reason, message: `the connection closed before the QUIC handshake completed: ${reason.message}` } : {},
    );
  }

  /** Ends the loop on an error from a callback, the peer or quiche. */
  private fail(e: unknown): void {
    if (this.stageValue === 'closed') return;
    const { conn } = this.params;
    const error = e instanceof QuicError ? e : new QuicError('ApplicationError', `application callback failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    this.failure ??= error;
    try {
      if (!conn.isClosed() && conn.localError() === null) conn.close(false, INTERNAL_ERROR, '');
    } catch {
      // The connection is past saving; finish regardless.
    }
    this.finish({ ok: false, error: this.failure });
  }

  /** The close stage: tokio-quiche's `IoWorker<Close>::close`, in its order. */
  private finish(result: ConnectionResult): void {
    if (this.stageValue === 'closed') return;
    const { conn, app, cids, metrics } = this.params;
    if (!result.ok && !this.established && !(result.error instanceof HandshakeError)) {
      result = { ok: false, error: this.handshakeFailure(result.error) };
    }
    const wasRunning = this.established;
    this.stageValue = 'closed';
    this.running$.next(false);
    this.disarmTimer();
    this.cancelFlush();
    if (wasRunning && app.shouldAct()) {
      try {
        app.onConnClose?.(conn, metrics, result);
      } catch {
        // A failing close hook must not stop the CONNECTION_CLOSE.
      }
    }
    this.flushQuietly();
    if (cids.pendingCid) cids.unmap(cids.pendingCid);
    for (const cid of conn.sourceIds()) cids.unmap(cid);
    for (let cid = conn.retiredScidNext(); cid !== null; cid = conn.retiredScidNext()) cids.unmap(cid);
    metrics.connectionClosed();
    if (diagnostics.connectionClosed.hasSubscribers) {
      diagnostics.connectionClosed.publish({
        scid: cidHex(conn.sourceId()),
        local: this.params.localAddr,
        peer: this.params.peerAddr,
        isServer: conn.isServer(),
        result,
      });
    }
    const subscriber = this.subscriber;
    if (!subscriber) return;
    if (result.ok) subscriber.complete();
    else subscriber.error(result.error);
  }

  /** Unsubscribed while open: close, flush the CONNECTION_CLOSE, and finish without a subscriber. */
  private shutdown(): void {
    const { conn } = this.params;
    const b = this.params.shutdownBehaviour ?? this.params.app.shutdownBehaviour ?? GRACEFUL_SHUTDOWN;
    this.subscriber = null;
    try {
      if (!conn.isClosed()) conn.close(b.sendApplicationClose, b.errorCode, b.reason ?? '');
    } catch {
      // Already closing.
    }
    this.finish({ ok: true });
  }

  private flushQuietly(): void {
    try {
      this.flush();
    } catch {
      // Nothing more can be sent.
    }
  }

  private now(): number {
    return (this.params.timerScheduler ?? asyncScheduler).now();
  }
}

// One send buffer per size for every worker in the process, as tokio-quiche pools its egress
// buffers: a flush fills it and hands it to the sender, which copies what it needs before
// returning (the DatagramSender contract), all synchronously, so no two flushes ever share it at
// once. A per-connection buffer would cost 64 KiB of memory for every idle connection.
const sendBuffers = new Map<number, { out: Uint8Array; lengths: Uint32Array }>();

function sharedSendBuffer(size: number): { out: Uint8Array; lengths: Uint32Array } {
  let buffer = sendBuffers.get(size);
  if (!buffer) {
    buffer = { out: new Uint8Array(size), lengths: new Uint32Array(64) };
    sendBuffers.set(size, buffer);
  }
  return buffer;
}
