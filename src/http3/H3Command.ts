import type { QuicCommand } from '../connection/QuicCommand';
import type { H3Priority } from './H3Priority';

/**
 * How to shut down a stream: tokio-quiche's `StreamShutdown`. `read` sends STOP_SENDING and
 * `write` sends RESET_STREAM, each with the given HTTP/3 error code; give one or both.
 */
export interface StreamShutdown {
  /** STOP_SENDING with this code: the peer should stop sending on the stream. */
  readonly read?: number;
  /** RESET_STREAM with this code: we stop sending on the stream. */
  readonly write?: number;
}

/**
 * A command for the HTTP/3 driver: tokio-quiche's `H3Command`. The controller's methods send
 * them; the driver runs them on the connection's worker, in order, from `processWrites`.
 */
export type H3Command =
  /** Runs a QUIC command (close the connection, read live statistics, custom code). */
  | { readonly type: 'quicCmd'; readonly command: QuicCommand }
  /**
   * Sends GOAWAY. A server names the first request stream it will not process: the stream after
   * the highest one it has seen. A client sends 0 (it accepts no server push).
   */
  | { readonly type: 'goaway' }
  /** Shuts down one or both directions of a stream. */
  | { readonly type: 'shutdownStream'; readonly streamId: number; readonly shutdown: StreamShutdown }
  /** Client only: sends PRIORITY_UPDATE (RFC 9218) for one of our requests. A server ignores it. */
  | { readonly type: 'priorityUpdate'; readonly streamId: number; readonly priority: H3Priority };
