import type { ConnectionResult } from '../application/ApplicationOverQuic';
import type { SocketAddress } from '../socket/Incoming';
import type { QuicConnectionStats } from './QuicConnectionStats';

/**
 * A handle to a running connection: tokio-quiche's `QuicConnection`. It describes the connection;
 * the application drives it.
 */
export interface QuicConnection {
  /** The local address. */
  readonly localAddr: SocketAddress;
  /** The peer's address at the start. */
  readonly peerAddr: SocketAddress;
  /** Our first source connection ID. */
  readonly scid: Uint8Array;
  /**
   * Statistics taken when the connection closed, or `null` while it runs. For live numbers, send
   * a `connectionStats` {@link QuicCommand} through the application.
   */
  stats(): QuicConnectionStats | null;
  /** Settles once the connection has closed, with how it ended. Never rejects. */
  readonly result: Promise<ConnectionResult>;
}
