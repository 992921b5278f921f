import { Observable, type SchedulerLike } from 'rxjs';

import type { ApplicationOverQuic, ConnectionResult } from '../application/ApplicationOverQuic';
import { QuicError } from '../errors/QuicError';
import type { Metrics } from '../metrics/Metrics';
import type { QuicheConnection } from '../native/binding';
import type { ConnectionInbox } from '../router/ConnectionInbox';
import type { DatagramSender } from '../socket/DatagramSender';
import type { SocketAddress } from '../socket/Incoming';
import type { ConnectionShutdownBehaviour } from './ConnectionShutdownBehaviour';
import type { HandshakeInfo } from './HandshakeInfo';
import { IoWorker, type ConnectionIdRegistry } from './IoWorker';
import type { QuicConnection } from './QuicConnection';
import type { QuicConnectionStats } from './QuicConnectionStats';

/** Transport CONNECTION_REFUSED (RFC 9000 §20.1). */
const CONNECTION_REFUSED = 0x2;

/**
 * What an {@link InitialQuicConnection} is made of; built by the acceptor, the connector, or
 * {@link wrapQuicheConnection}.
 */
export interface InitialQuicConnectionInit {
  readonly conn: QuicheConnection;
  readonly inbox: ConnectionInbox;
  readonly sender: DatagramSender;
  readonly localAddr: SocketAddress;
  readonly peerAddr: SocketAddress;
  readonly handshakeInfo: HandshakeInfo;
  readonly metrics: Metrics;
  readonly cids: ConnectionIdRegistry;
  /** Keeps the socket's router running while the connection lives (the shared routed stream). */
  readonly keepAlive$: Observable<unknown>;
  /** Called once when the connection is started, handshaken or rejected (frees a backlog slot). */
  readonly onClaim?: () => void;
  /** What unsubscribing sends. */
  readonly shutdownBehaviour?: ConnectionShutdownBehaviour;
  readonly stepScheduler?: SchedulerLike;
  readonly timerScheduler?: SchedulerLike;
}

/**
 * A connection paused after its handshake by {@link InitialQuicConnection.handshake}.
 */
export interface PausedConnection {
  /** The connection's handle. */
  readonly connection: QuicConnection;
  /** Starts the application; packets that arrived meanwhile are processed first. */
  resume(): void;
}

/**
 * A server connection whose Initial was accepted (after Retry, when address validation is on),
 * before anything runs: tokio-quiche's `InitialQuicConnection`.
 *
 * `listen$()` emits these. Start each one with an application: {@link start} (handshake and
 * application in the background), {@link run$} (the same, as an Observable you hold), or
 * {@link handshake} then `resume()` (for telemetry or checks in between). One of them, once.
 * An accepted connection that is never started holds a backlog slot; {@link reject} refuses it.
 */
export class InitialQuicConnection {
  private claimed = false;
  private worker: IoWorker<QuicheConnection> | null = null;

  constructor(private readonly init: InitialQuicConnectionInit) {}

  /** The local address the Initial arrived on. */
  get localAddr(): SocketAddress {
    return this.init.localAddr;
  }

  /** The client's address. */
  get peerAddr(): SocketAddress {
    return this.init.peerAddr;
  }

  /** Our source connection ID. */
  get scid(): Uint8Array {
    return this.init.conn.sourceId();
  }

  /** The SNI the client asked for, once its Initial is processed. */
  get serverName(): string | null {
    return this.init.conn.serverName();
  }

  /**
   * Runs the handshake and then `app`, while subscribed.
   *
   * Emits the connection's handle once, when the application starts (after the handshake, or in
   * early data on a 0-RTT server); completes when the connection closes cleanly; errors with a
   * `HandshakeError` (`HandshakeTimeout`, `HandshakeConnectionClosed`), a `QuicTransportError` (the
   * peer closed with an error) or the error an application callback threw. Unsubscribing closes the
   * connection with a CONNECTION_CLOSE.
   *
   * @param app The application to run.
   * @returns An Observable of the running connection's handle.
   * @throws QuicError `InvalidState` (through the Observable) when the connection was already started.
   */
  run$(app: ApplicationOverQuic): Observable<QuicConnection> {
    return this.drive$(app, false, () => undefined);
  }

  /**
   * Starts the handshake and the application in the background, and returns the handle at once:
   * tokio-quiche's `start`. How the connection ends is in the handle's `result`.
   */
  start(app: ApplicationOverQuic): QuicConnection {
    let handle!: QuicConnection;
    this.drive$(app, false, (h) => (handle = h)).subscribe({ error: () => undefined });
    return handle;
  }

  /**
   * Runs the handshake only, and settles when it completes: tokio-quiche's `handshake`. The
   * connection then waits, packets queued, until `resume()`.
   *
   * @returns The paused connection; rejects with the handshake's error.
   */
  handshake(app: ApplicationOverQuic): Promise<PausedConnection> {
    return new Promise((resolve, reject) => {
      let handle!: QuicConnection;
      this.drive$(app, true, (h) => (handle = h)).subscribe({
        next: () => resolve({ connection: handle, resume: () => this.worker?.resume() }),
        error: reject,
      });
    });
  }

  /**
   * Refuses the connection: sends a CONNECTION_CLOSE with CONNECTION_REFUSED and forgets it.
   */
  reject(): void {
    if (this.claimed) return;
    this.claimed = true;
    this.init.onClaim?.();
    const { conn, cids } = this.init;
    try {
      conn.close(false, CONNECTION_REFUSED, '');
      const out = new Uint8Array(1500);
      const lengths = new Uint32Array(1);
      const batch = conn.send(out, lengths, false);
      if (batch) this.init.sender.sendBatch(out, lengths, batch);
    } catch {
      // Nothing more to do for a connection we are dropping.
    }
    if (cids.pendingCid) cids.unmap(cids.pendingCid);
    for (const cid of conn.sourceIds()) cids.unmap(cid);
    this.init.metrics.connectionClosed();
  }

  private drive$(app: ApplicationOverQuic, pause: boolean, onHandle: (h: QuicConnection) => void): Observable<QuicConnection> {
    return new Observable<QuicConnection>((subscriber) => {
      if (this.claimed) {
        subscriber.error(new QuicError('InvalidState', 'this InitialQuicConnection was already started or rejected'));
        return;
      }
      this.claimed = true;
      this.init.onClaim?.();
      const init = this.init;
      const worker = new IoWorker<QuicheConnection>({
        conn: init.conn,
        packet$: init.inbox.packet$,
        sender: init.sender,
        app,
        handshakeInfo: init.handshakeInfo,
        metrics: init.metrics,
        cids: init.cids,
        pauseAfterHandshake: pause,
        ...(init.shutdownBehaviour ? { shutdownBehaviour: init.shutdownBehaviour } : {}),
        ...(init.stepScheduler ? { stepScheduler: init.stepScheduler } : {}),
        ...(init.timerScheduler ? { timerScheduler: init.timerScheduler } : {}),
      });
      this.worker = worker;
      let settle!: (r: ConnectionResult) => void;
      const result = new Promise<ConnectionResult>((resolve) => (settle = resolve));
      const scid = init.conn.sourceId();
      const handle: QuicConnection = {
        localAddr: init.localAddr,
        peerAddr: init.peerAddr,
        scid,
        stats: (): QuicConnectionStats | null => worker.finalStats,
        result,
      };
      onHandle(handle);

      // Keep the router alive first, so the worker's own teardown (its CONNECTION_CLOSE) goes out
      // before the socket may close.
      const keepAlive = init.keepAlive$.subscribe({
        error: (e: QuicError) => {
          // The socket failed under the connection: it cannot go on.
          settle({ ok: false, error: e });
          subscriber.error(e);
        },
      });
      const work = worker.run$().subscribe({
        next: () => subscriber.next(handle),
        error: (error: QuicError) => {
          settle({ ok: false, error });
          subscriber.error(error);
        },
        complete: () => {
          settle({ ok: true });
          subscriber.complete();
        },
      });
      return () => {
        work.unsubscribe();
        keepAlive.unsubscribe();
        settle({ ok: true });
      };
    });
  }
}
