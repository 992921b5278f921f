import { type ObservableInput, of, Subject } from 'rxjs';

import type { ApplicationOverQuic, ConnectionResult } from '../../src/application/ApplicationOverQuic';
import type { HandshakeInfo } from '../../src/connection/HandshakeInfo';
import { executeQuicCommand, type QuicCommand } from '../../src/connection/QuicCommand';
import { fromNativeError } from '../../src/native/errors';
import type { QuicheConnection } from '../../src/native/binding';

/**
 * What the test applications share: the native connection once established, a command queue run
 * on the worker's turn (as tokio-quiche's H3 driver runs `QuicCommand`s), a cancel-safe wake-up,
 * and how the connection closed.
 */
export abstract class TestApp implements ApplicationOverQuic {
  /** The native connection, from `onConnEstablished` on. */
  qconn: QuicheConnection | null = null;
  handshakeInfo: HandshakeInfo | null = null;
  /** What `onConnClose` was given; `null` until it runs. */
  closeResult: ConnectionResult | null = null;
  /** Resolves with the native connection when `onConnEstablished` runs. */
  readonly established: Promise<QuicheConnection>;
  /** Resolves with what `onConnClose` is given. */
  readonly closed: Promise<ConnectionResult>;
  /** How often each callback ran. */
  readonly calls = { onConnEstablished: 0, processReads: 0, processWrites: 0, onConnClose: 0 };
  /** Whether the connection was in early data when `onConnEstablished` ran. */
  establishedInEarlyData = false;

  private resolveEstablished!: (q: QuicheConnection) => void;
  private resolveClosed!: (r: ConnectionResult) => void;
  // Commands waiting for the worker's turn.
  private readonly commands: QuicCommand[] = [];
  // Wakes the worker's waitForData; `dirty` keeps a wake-up that came while nobody listened.
  private readonly wake$ = new Subject<void>();
  private dirty = false;

  constructor() {
    this.established = new Promise((resolve) => (this.resolveEstablished = resolve));
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Runs `command` against the connection on the worker's next turn. */
  command(command: QuicCommand): void {
    this.commands.push(command);
    this.wake();
  }

  onConnEstablished(qconn: QuicheConnection, info: HandshakeInfo): void {
    this.calls.onConnEstablished++;
    this.qconn = qconn;
    this.handshakeInfo = info;
    this.establishedInEarlyData = qconn.isInEarlyData();
    this.resolveEstablished(qconn);
  }

  shouldAct(): boolean {
    return this.qconn !== null;
  }

  waitForData(qconn: QuicheConnection): ObservableInput<unknown> {
    // processWrites only runs once established (not in early data): waking before would spin.
    return this.dirty && qconn.isEstablished() ? of(undefined) : this.wake$;
  }

  processReads(qconn: QuicheConnection): void {
    this.calls.processReads++;
    this.reads(qconn);
  }

  processWrites(qconn: QuicheConnection): void {
    this.calls.processWrites++;
    this.dirty = false;
    while (this.commands.length > 0) executeQuicCommand(this.commands.shift()!, qconn);
    this.writes(qconn);
  }

  onConnClose(_qconn: QuicheConnection, _metrics: unknown, result: ConnectionResult): void {
    this.calls.onConnClose++;
    this.closeResult = result;
    this.resolveClosed(result);
  }

  /** Asks the worker for a turn (processWrites) soon. */
  protected wake(): void {
    this.dirty = true;
    this.wake$.next();
  }

  protected abstract reads(qconn: QuicheConnection): void;
  protected abstract writes(qconn: QuicheConnection): void;
}

/** Per stream: bytes waiting to be written, and whether a FIN follows them. */
interface Outgoing {
  chunks: Uint8Array[];
  fin: boolean;
}

/** Writes what `out` holds on `streamId` as far as flow control allows; true once all of it (and the FIN) went. */
function writeOut(qconn: QuicheConnection, streamId: number, out: Outgoing): boolean {
  while (out.chunks.length > 0) {
    const chunk = out.chunks[0]!;
    const fin = out.fin && out.chunks.length === 1;
    const n = qconn.streamSend(streamId, chunk, fin);
    if (n === null) return false;
    if (n < chunk.length) {
      out.chunks[0] = chunk.subarray(n);
      return false;
    }
    out.chunks.shift();
    if (fin) return true;
  }
  if (!out.fin) return false;
  // A FIN with no data left to carry it.
  return qconn.streamSend(streamId, new Uint8Array(0), true) !== null;
}

/**
 * A raw-QUIC echo server: whatever arrives on a stream goes back on it, and a FIN is echoed.
 */
export class EchoServerApp extends TestApp {
  /** Bytes read while the connection was in early data (0-RTT). */
  earlyDataBytes = 0;
  /** Everything read, per stream. */
  readonly received = new Map<number, Buffer[]>();
  private readonly buf = new Uint8Array(65536);
  // Per stream, bytes read but not yet written back, and whether the FIN is owed.
  private readonly pending = new Map<number, Outgoing>();

  protected reads(qconn: QuicheConnection): void {
    for (const id of qconn.readable()) {
      let r;
      while ((r = qconn.streamRecv(id, this.buf)) !== null) {
        const out = this.pending.get(id) ?? { chunks: [], fin: false };
        if (r.bytes > 0) {
          const data = Buffer.from(this.buf.subarray(0, r.bytes));
          out.chunks.push(data);
          this.received.set(id, [...(this.received.get(id) ?? []), data]);
          if (qconn.isInEarlyData()) this.earlyDataBytes += r.bytes;
        }
        if (r.fin) out.fin = true;
        this.pending.set(id, out);
        if (r.fin) break;
      }
    }
  }

  protected writes(qconn: QuicheConnection): void {
    for (const [id, out] of this.pending) {
      if (writeOut(qconn, id, out)) this.pending.delete(id);
    }
  }
}

/**
 * A raw-QUIC echo client: sends `message` on stream 0 with a FIN, collects the echo, and resolves
 * `echoed` with it; then closes the connection (app code 0) if `closeWhenDone`.
 */
export class EchoClientApp extends TestApp {
  readonly echoed: Promise<Buffer>;
  private resolveEchoed!: (b: Buffer) => void;
  private readonly received: Uint8Array[] = [];
  private readonly buf = new Uint8Array(65536);
  private readonly out: Outgoing;
  private sent = false;
  private done = false;

  constructor(
    message: Uint8Array,
    private readonly closeWhenDone = true,
  ) {
    super();
    this.out = { chunks: message.length > 0 ? [message] : [], fin: true };
    this.echoed = new Promise((resolve) => (this.resolveEchoed = resolve));
  }

  protected reads(qconn: QuicheConnection): void {
    let r;
    // Stream 0 exists once we wrote to it; until then it is not readable.
    while (!this.done && qconn.streamReadable(0) && (r = qconn.streamRecv(0, this.buf)) !== null) {
      if (r.bytes > 0) this.received.push(this.buf.slice(0, r.bytes));
      if (r.fin) {
        this.done = true;
        this.resolveEchoed(Buffer.concat(this.received));
        if (this.closeWhenDone) qconn.close(true, 0, 'done');
      }
    }
  }

  protected writes(qconn: QuicheConnection): void {
    if (!this.sent) this.sent = writeOut(qconn, 0, this.out);
  }
}

/** One request of a {@link StreamClientApp}: its stream, what is left to send, and the echo. */
interface Request {
  streamId: number | null;
  readonly out: Outgoing;
  readonly received: Buffer[];
  resolve(echo: Buffer): void;
  reject(error: unknown): void;
}

/**
 * A raw-QUIC client that sends each {@link request} on a new bidirectional stream (0, 4, 8, …)
 * and resolves with what comes back before the peer's FIN. Opening a stream the peer's limit
 * does not allow yet (`StreamLimit`) is counted and retried on later turns.
 */
export class StreamClientApp extends TestApp {
  /** How often opening a stream failed with `StreamLimit`. */
  streamLimitHits = 0;
  /** Requests sent while the connection was in early data. */
  requestsInEarlyData = 0;
  private nextStreamId = 0;
  // Requests not yet fully written, oldest first.
  private readonly unsent: Request[] = [];
  // Requests waiting for their echo, by stream.
  private readonly open = new Map<number, Request>();
  private readonly buf = new Uint8Array(65536);

  /**
   * Sends `data` with a FIN on a new stream on the worker's next turn.
   *
   * @returns The peer's reply on that stream, up to its FIN.
   */
  request(data: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.unsent.push({ streamId: null, out: { chunks: data.length > 0 ? [data] : [], fin: true }, received: [], resolve, reject });
      this.wake();
    });
  }

  /** Writes the queued requests now, from outside a worker turn (e.g. in `onConnEstablished`). */
  flushRequests(qconn: QuicheConnection): void {
    this.writes(qconn);
  }

  protected reads(qconn: QuicheConnection): void {
    for (const id of qconn.readable()) {
      const request = this.open.get(id);
      if (!request) continue;
      let r;
      while ((r = qconn.streamRecv(id, this.buf)) !== null) {
        if (r.bytes > 0) request.received.push(Buffer.from(this.buf.subarray(0, r.bytes)));
        if (r.fin) {
          this.open.delete(id);
          request.resolve(Buffer.concat(request.received));
          break;
        }
      }
    }
  }

  protected writes(qconn: QuicheConnection): void {
    while (this.unsent.length > 0) {
      const request = this.unsent[0]!;
      const id = request.streamId ?? this.nextStreamId;
      let done: boolean;
      try {
        done = writeOut(qconn, id, request.out);
      } catch (e) {
        const error = fromNativeError(e);
        if (error.code === 'StreamLimit') {
          // The peer allows no more streams for now: its MAX_STREAMS brings us back here.
          this.streamLimitHits++;
          return;
        }
        throw error;
      }
      if (request.streamId === null) {
        request.streamId = id;
        this.nextStreamId += 4;
        this.open.set(id, request);
        if (qconn.isInEarlyData()) this.requestsInEarlyData++;
      }
      if (!done) return;
      this.unsent.shift();
    }
  }
}
