import { NEVER, Observable, type SchedulerLike, type Subscription } from 'rxjs';

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

/** What a rejected connection runs while it closes: nothing (`shouldAct` is false throughout). */
const REFUSED: ApplicationOverQuic = {
  onConnEstablished: () => undefined,
  shouldAct: () => false,
  waitForData: () => NEVER,
  processReads: () => undefined,
  processWrites: () => undefined,
};

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
  /** Called once when the connection has ended (its result settled): closes its log files. */
  readonly onClosed?: () => void;
  /** Called once when the connection is started, handshaken or rejected (frees a backlog slot). */
  readonly onClaim?: () => void;
  /** What unsubscribing sends. */
  readonly shutdownBehaviour?: ConnectionShutdownBehaviour;
  readonly stepScheduler?: SchedulerLike;
  /** Runs the worker's flushes; see {@link IoWorkerParams.flushScheduler}. */
  readonly flushScheduler?: SchedulerLike;
  readonly timerScheduler?: SchedulerLike;
  /**
   * A server's answer to whether the client's address is validated already (a Retry token came
   * back); `false` holds the worker to RFC 9000's three-times limit until the handshake completes.
   * Unset for clients.
   */
  readonly addressValidated?: boolean;
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
   * early data on a 0-RTT server); completes when the connection closes cleanly (or its socket
   * closes under it); errors with a
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
   * Refuses the connection with a CONNECTION_CLOSE carrying CONNECTION_REFUSED; the client's
   * handshake then fails with a `HandshakeError` whose cause is that close.
   *
   * quiche learns the client's connection ID from its Initial, so it first reads the packets that
   * arrived for this connection and sends what they call for: an ACK, or, once it has the whole
   * ClientHello, its first flight, whose keys the client needs to read the close (quiche sends it
   * in the Handshake packet space from then on). The connection then lingers, closing, for quiche's
   * closing period (RFC 9000 §10.2.1) on a worker without an application: it answers late
   * packets of this attempt with the close, and keeps its connection IDs mapped meanwhile, so the
   * rest of the client's first flight is not taken for a new connection. It is counted as a failed
   * handshake (`disconnect`).
   */
  reject(): void {
    if (!this.claim()) return;
    const { conn, inbox } = this.init;
    try {
      inbox.packet$
        .subscribe((incoming) => {
          try {
            conn.recv(incoming.buf, incoming.peer, incoming.local, incoming.gro ?? null);
          } catch {
            // quiche refused the packet and is closing already; the close below changes nothing.
          }
        })
        .unsubscribe();
      this.sendAll();
      conn.close(false, CONNECTION_REFUSED, '');
    } catch {
      // Closing already: the worker sends whatever close quiche holds.
    }
    this.work$(REFUSED, false, () => undefined).subscribe({ error: () => undefined });
  }

  /** Sends everything quiche has ready, outside a worker (for {@link reject}). */
  private sendAll(): void {
    const { conn, sender } = this.init;
    const out = new Uint8Array(65536);
    const lengths = new Uint32Array(64);
    for (let batch = conn.send(out, lengths, false); batch !== null; batch = conn.send(out, lengths, false)) {
      sender.sendBatch(out, lengths, batch);
    }
  }

  /** Marks the connection taken (once) and frees its backlog slot; false if it already was. */
  private claim(): boolean {
    if (this.claimed) return false;
    this.claimed = true;
    this.init.onClaim?.();
    return true;
  }

  private drive$(app: ApplicationOverQuic, pause: boolean, onHandle: (h: QuicConnection) => void): Observable<QuicConnection> {
    return new Observable<QuicConnection>((subscriber) => {
      if (!this.claim()) {
        subscriber.error(new QuicError('InvalidState', 'this InitialQuicConnection was already started or rejected'));
        return;
      }
      return this.work$(app, pause, onHandle).subscribe(subscriber);
    });
  }

  /** Runs the connection's worker with `app` while subscribed (the connection is claimed). */
  private work$(app: ApplicationOverQuic, pause: boolean, onHandle: (h: QuicConnection) => void): Observable<QuicConnection> {
    return new Observable<QuicConnection>((subscriber) => {
      const init = this.init;
      const worker = new IoWorker<QuicheConnection>({
        conn: init.conn,
        packet$: init.inbox.packet$,
        sender: init.sender,
        app,
        handshakeInfo: init.handshakeInfo,
        metrics: init.metrics,
        cids: init.cids,
        localAddr: init.localAddr,
        peerAddr: init.peerAddr,
        pauseAfterHandshake: pause,
        ...(init.shutdownBehaviour ? { shutdownBehaviour: init.shutdownBehaviour } : {}),
        ...(init.stepScheduler ? { stepScheduler: init.stepScheduler } : {}),
        ...(init.flushScheduler ? { flushScheduler: init.flushScheduler } : {}),
        ...(init.timerScheduler ? { timerScheduler: init.timerScheduler } : {}),
        ...(init.addressValidated !== undefined ? { addressValidated: init.addressValidated } : {}),
      });
      this.worker = worker;
      let resolveResult!: (r: ConnectionResult) => void;
      const result = new Promise<ConnectionResult>((resolve) => (resolveResult = resolve));
      let settled = false;
      const settle = (r: ConnectionResult): void => {
        if (settled) return;
        settled = true;
        resolveResult(r);
        init.onClosed?.();
      };
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
      let work: Subscription | undefined;
      let socketGone = false;
      const keepAlive = init.keepAlive$.subscribe({
        error: (e: QuicError) => {
          // The socket failed under the connection: it cannot go on.
          settle({ ok: false, error: e });
          subscriber.error(e);
        },
        complete: () => {
          // The socket closed under the connection: nothing can be sent or received any more, so
          // stop its timers now rather than at its idle timeout.
          socketGone = true;
          work?.unsubscribe();
          settle({ ok: true });
          subscriber.complete();
        },
      });
      if (socketGone) return;
      work = worker.run$().subscribe({
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
        work?.unsubscribe();
        keepAlive.unsubscribe();
        settle({ ok: true });
      };
    });
  }
}
