import type { QuicConnection } from '../connection/QuicConnection';
import type { ServerHqDriver } from './ServerHqDriver';

/**
 * An hq-interop server connection, as `serveHq` emits it.
 */
export interface ServerHqConnection {
  /** The QUIC connection's handle (addresses, statistics, how it ended). */
  readonly connection: QuicConnection;
  /** Its driver: `event$` per stream, `quicCommand()`. */
  readonly driver: ServerHqDriver;
}
