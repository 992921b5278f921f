import type { QuicConnection } from '../connection/QuicConnection';
import type { ClientHqDriver } from './ClientHqDriver';

/**
 * An hq-interop client connection, as `connectHq$` emits it.
 */
export interface ClientHqConnection {
  /** The QUIC connection's handle (addresses, statistics, how it ended). */
  readonly connection: QuicConnection;
  /** Its driver: `request(path)`, `get(path)`, `close()`, `quicCommand()`. */
  readonly driver: ClientHqDriver;
}
