import type { Observable } from 'rxjs';

import type { QuicCommand } from '../connection/QuicCommand';
import type { H3Command, StreamShutdown } from './H3Command';
import type { H3Event } from './H3Event';

/**
 * What a controller needs from its driver. Internal: the driver implements it.
 */
export interface H3DriverPort {
  /** The driver's events. */
  readonly event$: Observable<H3Event>;
  /** Queues a command for the driver's next turn and wakes it. */
  send(command: H3Command): void;
  /** The controller is done: close the connection once no stream is active. */
  complete(): void;
  /** HTTP/3 datagrams received for no flow, and dropped. */
  readonly unroutedDatagrams: number;
}

/**
 * The user's handle on an HTTP/3 driver: tokio-quiche's `H3Controller`.
 *
 * Events come out of {@link event$}; commands go in through the methods. Every command is queued
 * and runs on the connection's worker at its next turn, so the methods may be called from anywhere
 * (a handler, a timer, another connection) and never block.
 */
export class H3Controller {
  /** @param port The driver's side. */
  constructor(protected readonly port: H3DriverPort) {}

  /**
   * The connection's events (hot: subscribe before they happen). Never errors; completes when the
   * connection has closed, after a `connectionError` event if it failed.
   */
  get event$(): Observable<H3Event> {
    return this.port.event$;
  }

  /**
   * HTTP/3 datagrams (RFC 9297) that arrived for no flow and were dropped: for a request without
   * a flow (a server without `enableExtendedConnect` has none), a stream already closed, or
   * without a valid flow-id prefix.
   */
  get unroutedDatagrams(): number {
    return this.port.unroutedDatagrams;
  }

  /** Sends a command to the driver: tokio-quiche's `h3_cmd_sender().send(…)`. */
  send(command: H3Command): void {
    this.port.send(command);
  }

  /**
   * Sends GOAWAY: a server stops taking new requests (it names the stream after the highest it has
   * seen, and refuses later ones with H3_REQUEST_REJECTED); streams in flight carry on.
   */
  sendGoaway(): void {
    this.port.send({ type: 'goaway' });
  }

  /**
   * Shuts down a stream: `read` sends STOP_SENDING, `write` sends RESET_STREAM, each with its code.
   *
   * @param streamId The stream.
   * @param shutdown The codes, for one direction or both.
   */
  shutdownStream(streamId: number, shutdown: StreamShutdown): void {
    this.port.send({ type: 'shutdownStream', streamId, shutdown });
  }

  /**
   * Runs a QUIC command on the connection (close it, read live statistics, custom code).
   *
   * @param command The command.
   */
  quicCommand(command: QuicCommand): void {
    this.port.send({ type: 'quicCmd', command });
  }

  /**
   * Says the application is done with this connection: tokio-quiche's dropped controller. The
   * driver closes the connection with H3_NO_ERROR as soon as no stream (or, on a client, no
   * queued request) is active; streams in flight finish first.
   */
  complete(): void {
    this.port.complete();
  }
}
