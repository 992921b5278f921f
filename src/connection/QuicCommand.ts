import type { QuicheConnection } from '../native/binding';
import type { ConnectionShutdownBehaviour } from './ConnectionShutdownBehaviour';
import { readConnectionStats, type QuicConnectionStats } from './QuicConnectionStats';
import { type SocketStats, toSocketStats } from './SocketStats';

/**
 * A command an application runs against its connection: tokio-quiche's `QuicCommand`.
 *
 * An {@link ApplicationOverQuic} that takes commands (the HTTP/3 driver does, through its
 * controller) runs them with {@link executeQuicCommand} from `processWrites`, on the worker's turn.
 */
export type QuicCommand =
  /** Closes the connection; the worker keeps running while quiche drains it. */
  | { readonly type: 'connectionClose'; readonly behaviour: ConnectionShutdownBehaviour }
  /** Runs arbitrary code on the connection. */
  | { readonly type: 'custom'; readonly run: (qconn: QuicheConnection) => void }
  /** Hands live socket-level statistics of the connection's active path to `callback`. */
  | { readonly type: 'stats'; readonly callback: (stats: SocketStats) => void }
  /** Hands a live statistics snapshot to `callback`. */
  | { readonly type: 'connectionStats'; readonly callback: (stats: QuicConnectionStats) => void };

/**
 * Runs a {@link QuicCommand} against a connection.
 *
 * A close on a connection that is already closing is ignored, as in tokio-quiche.
 *
 * @param command The command.
 * @param qconn The connection it runs on.
 */
export function executeQuicCommand(command: QuicCommand, qconn: QuicheConnection): void {
  switch (command.type) {
    case 'connectionClose': {
      const { sendApplicationClose, errorCode, reason } = command.behaviour;
      try {
        qconn.close(sendApplicationClose, errorCode, reason ?? '');
      } catch {
        // Closing twice is not an error worth surfacing.
      }
      return;
    }
    case 'custom':
      command.run(qconn);
      return;
    case 'stats':
      command.callback(toSocketStats(readConnectionStats(qconn)));
      return;
    case 'connectionStats':
      command.callback(readConnectionStats(qconn));
      return;
  }
}
