import type { napi } from '../native/binding';
import type { H3Header } from './H3Headers';

/**
 * The methods of a native QUIC connection the HTTP/3 driver calls itself (besides handing it to
 * the HTTP/3 layer): a fake with these can stand in for quiche in marble specs.
 */
export type H3QuicheConnection = Pick<
  napi.Connection,
  | 'close'
  | 'isServer'
  | 'isEstablished'
  | 'isInEarlyData'
  | 'isClosed'
  | 'localError'
  | 'peerError'
  | 'streamShutdown'
  | 'streamPriority'
  | 'streamCapacity'
  | 'dgramSend'
  | 'dgramRecv'
>;

/**
 * The native HTTP/3 connection (`napi.H3Connection`) as the driver uses it, over any
 * {@link H3QuicheConnection}: the real one in production, a fake in specs.
 *
 * See `native/index.d.ts` for each method's errors: quiche's `Done` is `null`, real errors throw
 * with `err.code` (`StreamBlocked`, `FrameUnexpected`, `ExcessiveLoad`, …).
 */
export interface H3ConnectionLike<C = H3QuicheConnection> {
  sendRequest(conn: C, headers: H3Header[], fin: boolean): number;
  sendResponse(conn: C, streamId: number, headers: H3Header[], fin: boolean, urgency?: number, incremental?: boolean): void;
  sendAdditionalHeaders(conn: C, streamId: number, headers: H3Header[], isTrailer: boolean, fin: boolean): void;
  /**
   * Optional: `sendResponse` (without FIN) then `sendBody` in one call, for a response whose body is
   * in hand; returns the body bytes taken (0 when none). Without it, the driver makes the two calls.
   * Thrown before the headers went out: as `sendResponse`; after: as `sendBody`.
   */
  sendResponseWithBody?(
    conn: C,
    streamId: number,
    headers: H3Header[],
    body: Uint8Array,
    fin: boolean,
    urgency?: number,
    incremental?: boolean,
  ): number;
  sendBody(conn: C, streamId: number, body: Uint8Array, fin: boolean): number | null;
  recvBody(conn: C, streamId: number, out: Uint8Array): number | null;
  poll(conn: C): napi.H3Event | null;
  /**
   * Optional: the QUIC connection took packets since the last `poll`, so quiche may have events and
   * body bytes again. The driver calls it before it polls after packets; a layer that remembers
   * quiche had nothing more (to spare the crossing that would say so again) forgets it here.
   */
  inputArrived?(): void;
  sendGoaway(conn: C, id: number): void;
  sendPriorityUpdateForRequest(conn: C, streamId: number, urgency: number, incremental: boolean): void;
  takeLastPriorityUpdate(streamId: number): string | null;
  peerSettingsRaw(): Array<Array<number>> | null;
}

/**
 * Makes the HTTP/3 layer of a connection; the driver calls it from `onConnEstablished`.
 */
export type H3ConnectionFactory = (qconn: H3QuicheConnection, config: napi.H3Config) => H3ConnectionLike;
