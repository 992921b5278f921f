import type { QuicConnection } from '../connection/QuicConnection';
import type { ClientH3Controller } from './ClientH3Controller';

/**
 * An HTTP/3 client connection, as `connect$` emits it: tokio-quiche's `ClientH3Connection`.
 */
export interface ClientH3Connection {
  /** The QUIC connection's handle (addresses, statistics, how it ended). */
  readonly connection: QuicConnection;
  /** Send requests and commands, watch events. */
  readonly controller: ClientH3Controller;
}
