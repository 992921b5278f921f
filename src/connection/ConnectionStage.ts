/**
 * Where a connection's worker is: tokio-quiche's `ConnectionStage`, plus `paused`.
 *
 * - `handshake`: only quiche runs; the application waits.
 * - `paused`: the handshake completed under `handshake()` and the worker waits for `resume()`.
 * - `running`: the application runs (`processReads`, `processWrites`, `waitForData`).
 * - `closed`: `onConnClose` ran and the final CONNECTION_CLOSE was flushed.
 */
export type ConnectionStage = 'handshake' | 'paused' | 'running' | 'closed';
