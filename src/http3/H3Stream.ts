import type { Subscription } from 'rxjs';

import type { DatagramFlow } from './H3DatagramFlow';
import type { H3Header } from './H3Headers';
import { InboundBody, type InboundBodyHooks } from './InboundBody';
import type { OutboundBody } from './OutboundBody';
import { H3StreamStats } from './H3StreamStats';

/**
 * A frame waiting to be written on a stream: tokio-quiche's `OutboundFrame`, minus datagrams.
 */
export type OutboundFrame =
  /**
   * A header section: the response (or a 1xx before it), or trailers. The first section of a
   * server stream goes out with `sendResponse`, the others with `sendAdditionalHeaders`.
   */
  | {
      readonly kind: 'headers';
      readonly headers: H3Header[];
      readonly fin: boolean;
      readonly trailer: boolean;
      readonly urgency?: number;
      readonly incremental?: boolean;
    }
  /** Body bytes; after a partial write, `data` is what is left. */
  | { readonly kind: 'body'; data: Uint8Array; fin: boolean };

/**
 * One request stream as the driver tracks it: tokio-quiche's `StreamCtx`. Internal.
 *
 * A stream is forgotten once both directions are done: its read side when the peer's FIN was read,
 * the peer reset it or we stopped it; its write side when our FIN was written, we reset it or the
 * peer stopped it.
 */
export class H3Stream {
  /** The body coming in. */
  readonly inbound: InboundBody;
  /** quiche holds body bytes not read yet: a `data` event came and `recvBody` has not said `null` since. */
  readable = false;
  /** Nothing more will be read. */
  readDone = false;
  /** STOP_SENDING to send at the next write turn, with this code. */
  stopReadCode: number | null = null;

  /** Frames waiting for capacity, in order. */
  readonly frames: OutboundFrame[] = [];
  /** The body being pulled into `frames`, if any. */
  body: OutboundBody | null = null;
  /** Trailers to send after the body. */
  trailers: H3Header[] | null = null;
  /** A header section was written (the next one is an additional section). */
  headersWritten = false;
  /** The final response (server) is queued; later ones are ignored. */
  finalQueued = false;
  /** A frame carrying our FIN is queued or written. */
  finQueued = false;
  /** Nothing more will be written. */
  writeDone = false;
  /** RESET_STREAM to send at the next write turn, with this code. */
  resetWriteCode: number | null = null;

  /** Server: the Priority Field Value of the latest PRIORITY_UPDATE for this request. */
  priorityUpdate: string | undefined = undefined;
  /** Server: `respond()` was called. */
  answered = false;
  /** Server: the handler's response being waited for. */
  responseSubscription: Subscription | null = null;
  /** The urgency of what we send (RFC 9218): the order streams are flushed in when room is short. */
  urgency = 3;
  /** The HTTP/3 datagram flow of this request, if it has one. */
  flow: DatagramFlow | null = null;
  /** Client: header sections of 1xx responses so far. */
  readonly informational: H3Header[][] = [];
  /** In the driver's list of streams with writes pending (see `TurnList`). */
  inPendingWrites = 0;
  /** In the driver's list of streams quiche would not take more from, retried next turn. */
  inBlockedWrites = 0;
  /** In the driver's list of streams whose readers want more. */
  inReadDemand = 0;

  /**
   * @param id The stream id.
   * @param hooks What the inbound body asks of the driver.
   * @param maxChunks Chunks the inbound body buffers before reading stops.
   */
  /** The body length its content-length announced: `null` without one, `undefined` until known. */
  expectedLength: number | null | undefined = undefined;
  /** What happened on the stream (tokio-quiche's H3AuditStats), kept current by the driver. */
  readonly stats: H3StreamStats;

  constructor(
    readonly id: number,
    hooks: InboundBodyHooks,
    maxChunks: number,
  ) {
    this.inbound = new InboundBody(id, hooks, maxChunks);
    this.stats = new H3StreamStats(id);
  }

  /** Whether both directions are done. */
  get isClosed(): boolean {
    return this.readDone && this.writeDone;
  }
}
