import type { QuicConnection } from '../connection/QuicConnection';
import type { ServerH3Controller } from './ServerH3Controller';

/**
 * An HTTP/3 server connection, as `serveHttp3` emits it: tokio-quiche's `ServerH3Connection`.
 */
export interface ServerH3Connection {
  /** The QUIC connection's handle (addresses, statistics, how it ended). */
  readonly connection: QuicConnection;
  /** Watch events, send commands (GOAWAY, stream shutdowns). */
  readonly controller: ServerH3Controller;
}
