import { type Observable, Subject } from 'rxjs';

import type { ApplicationOverQuic, ConnectionResult } from '../application/ApplicationOverQuic';
import type { HandshakeInfo } from '../connection/HandshakeInfo';
import { executeQuicCommand, type QuicCommand } from '../connection/QuicCommand';
import { QuicError } from '../errors/QuicError';
import type { Metrics } from '../metrics/Metrics';
import type { QuicheConnection } from '../native/binding';

// One read buffer for every hq driver: turns never overlap and chunks are copied out at once.
let recvBuffer: Uint8Array | null = null;

/** The read buffer the drivers share (64 KiB). Internal. */
export function sharedHqRecvBuffer(): Uint8Array {
  recvBuffer ??= new Uint8Array(65536);
  return recvBuffer;
}

/**
 * What the hq-interop server and client share: an {@link ApplicationOverQuic} that touches quiche
 * only on the worker's turns, and a cancel-safe wake for work queued between turns. Use
 * {@link ServerHqDriver} or {@link ClientHqDriver}.
 *
 * `processReads` reads the readable streams (subclass), `processWrites` runs queued
 * {@link QuicCommand}s and then writes what the subclass has, as far as flow control allows;
 * streams quiche cannot take more from wait for the next turn, which the peer's packets bring.
 *
 * # Errors
 * Running on a connection of the other role throws `QuicError('InvalidState')` from
 * `onConnEstablished`, which closes that connection.
 */
export abstract class HqDriver implements ApplicationOverQuic {
  /** The connection, once established; only touched during the worker's turns. */
  protected qconn: QuicheConnection | null = null;
  /** The connection is gone (onConnClose ran, or the driver was disposed). */
  protected disposed = false;
  private readonly commands: QuicCommand[] = [];
  // Inside a turn: work queued now is done by this turn, so no wake is scheduled.
  private inTurn = false;
  private readonly wake$ = new Subject<void>();

  /** Whether this driver serves (true) or requests (false). */
  protected abstract readonly isServer: boolean;

  /** Reads what quiche received on the streams. */
  protected abstract readStreams(qconn: QuicheConnection): void;

  /** Writes what is queued; returns whether work is left that is not waiting for the peer. */
  protected abstract writeStreams(qconn: QuicheConnection): boolean;

  /** The connection ended: fail or complete what is still open. */
  protected abstract onDispose(result: ConnectionResult): void;

  /**
   * Remembers the connection.
   *
   * @throws {QuicError} `InvalidState` when a server driver runs on a client connection or the other way round.
   */
  onConnEstablished(qconn: QuicheConnection, _handshakeInfo: HandshakeInfo): void {
    if (qconn.isServer() !== this.isServer) {
      const role = (server: boolean): string => (server ? 'server' : 'client');
      throw new QuicError('InvalidState', `an hq-interop ${role(this.isServer)} driver cannot run on a ${role(qconn.isServer())} connection`);
    }
    this.qconn = qconn;
  }

  /** Ready once established (or, on a server, in 0-RTT early data). */
  shouldAct(): boolean {
    return this.qconn !== null;
  }

  /** Emits when work was queued between turns (a request, a body chunk, a command). */
  waitForData(_qconn: QuicheConnection): Observable<void> {
    return this.wake$;
  }

  /** Reads the readable streams. */
  processReads(qconn: QuicheConnection): void {
    this.inTurn = true;
    try {
      this.readStreams(qconn);
    } finally {
      this.inTurn = false;
    }
  }

  /** Runs queued commands, then writes as far as flow control allows. */
  processWrites(qconn: QuicheConnection): void {
    this.inTurn = true;
    let more: boolean;
    try {
      while (this.commands.length > 0 && !this.disposed) executeQuicCommand(this.commands.shift()!, qconn);
      more = !this.disposed && !qconn.isClosed() && this.writeStreams(qconn);
    } finally {
      this.inTurn = false;
    }
    // Something queued during the turn that the turn did not write (a body that delivered late).
    if (more) this.signal();
  }

  /** The connection closed: what is open fails (or completes, for nothing pending). */
  onConnClose(_qconn: QuicheConnection, _metrics: Metrics, result: ConnectionResult): void {
    this.dispose(result);
  }

  /**
   * Runs `command` against the native connection on the worker's next turn: tokio-quiche's
   * `QuicCommand` (close, statistics, or custom code such as reading `isResumed()`).
   *
   * @param command What to run. Ignored once the connection is gone.
   */
  quicCommand(command: QuicCommand): void {
    if (this.disposed) return;
    this.commands.push(command);
    this.signal();
  }

  /**
   * Ends the driver: fails what is open and stops waking the worker. Idempotent; `onConnClose`
   * calls it, and so do `serveHq` and `connectHq$` when the connection ends before the application
   * started.
   *
   * @param result How the connection ended.
   */
  dispose(result: ConnectionResult): void {
    if (this.disposed) return;
    this.disposed = true;
    this.commands.length = 0;
    this.onDispose(result);
    this.wake$.complete();
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
}
