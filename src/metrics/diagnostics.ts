import { channel } from 'node:diagnostics_channel';

/**
 * The `node:diagnostics_channel` channels rxjs-quiche publishes on, undici-style: subscribe to
 * observe connections without a logger dependency. Publishing costs nothing while a channel has
 * no subscribers.
 *
 * ## Example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * diagnostics_channel.subscribe('rxjs-quiche:connection:established', (m) => console.log(m));
 * ```
 */
export const DIAGNOSTICS_CHANNELS = Object.freeze({
  /** A connection's application started: `{ scid, peer, local, isServer, handshakeMs, inEarlyData }`. */
  connectionEstablished: 'rxjs-quiche:connection:established',
  /** A connection finished its close stage: `{ scid, peer, local, isServer, result }`. */
  connectionClosed: 'rxjs-quiche:connection:closed',
} as const);

/** @internal The channel objects, created once. */
export const diagnostics = {
  connectionEstablished: channel(DIAGNOSTICS_CHANNELS.connectionEstablished),
  connectionClosed: channel(DIAGNOSTICS_CHANNELS.connectionClosed),
};
