import { Observable, share } from 'rxjs';

import { QuicError } from '../errors/QuicError';
import type { Metrics } from '../metrics/Metrics';
import { napi } from '../native/binding';
import type { DatagramSender } from './DatagramSender';
import type { Incoming, SocketAddress } from './Incoming';
import { IncomingBurst } from './IncomingBurst';
import type { QuicSocket } from './QuicSocket';
import type { SocketCapabilities } from './SocketCapabilities';

/** Counters of a native socket: system calls, datagrams, drops. */
export type NativeUdpSocketStats = napi.UdpSocketStats;

/**
 * A {@link QuicSocket} that owns its socket and can close it: what {@link bindNativeUdpSocket} and
 * `bindQuicSocket()` return.
 */
export interface ClosableQuicSocket extends QuicSocket {
  /** `'native'` for the Linux batched socket, `'dgram'` for `node:dgram`. */
  readonly kind: 'native' | 'dgram';
  /** Stops receiving (`incoming$` completes) and closes the socket. Idempotent. */
  close(): void;
  /**
   * Lets the socket keep Node's event loop alive while `incoming$` has a subscriber, as a bound
   * `node:dgram` socket does. This is the default; a server process stays up while it listens.
   *
   * @returns This socket.
   */
  ref(): this;
  /**
   * Stops the socket from keeping Node's event loop alive: the process may exit while the socket
   * is still open and receiving (like `dgram.Socket.unref()`).
   *
   * @returns This socket.
   */
  unref(): this;
}

/** The native Linux socket as a {@link QuicSocket}, with its counters. */
export interface NativeQuicSocket extends ClosableQuicSocket {
  readonly kind: 'native';
  /** System calls, datagrams sent and received, EAGAIN/ENOBUFS and kernel drops so far. */
  stats(): NativeUdpSocketStats;
}

/**
 * The send half of the native socket: a uniform `send()` batch goes out as GSO sends (one
 * `sendmsg` per up to 64 packets), any other batch with `sendmmsg`. The kernel copies the bytes
 * during the call, so nothing is copied in JavaScript. `flushConnection` skips JavaScript
 * altogether: quiche writes into the socket's own buffer and the batches go out from Rust. Datagrams not sent (a full socket buffer,
 * an error) are counted in {@link Metrics.writeError}, never thrown.
 */
class NativeSender implements DatagramSender {
  constructor(
    private readonly socket: napi.UdpSocket,
    readonly gso: boolean,
    private readonly metrics?: Metrics,
  ) {}

  sendBatch(out: Uint8Array, lengths: Uint32Array, batch: napi.SendBatch): void {
    let failed: number;
    try {
      failed = this.socket.sendBatch(out, lengths, batch.count, batch.to, this.gso ? batch.segmentSize : 0);
    } catch {
      // A closed socket or a bad address: the batch is lost like any other.
      failed = batch.count;
    }
    for (let i = 0; i < failed; i++) this.metrics?.writeError();
  }

  flushConnection(conn: object, maxPackets: number): boolean | null {
    if (!(conn instanceof napi.Connection)) return null;
    // One number: failed * 2 + more (see the addon's flush()).
    const result = this.socket.flush(conn, maxPackets);
    for (let i = 0; i < result >>> 1; i++) this.metrics?.writeError();
    return (result & 1) === 1;
  }

  sendTo(datagram: Uint8Array, to: napi.SocketAddress): void {
    let ok = false;
    try {
      ok = this.socket.sendTo(datagram, to);
    } catch {
      // as above
    }
    if (!ok) this.metrics?.writeError();
  }
}

/**
 * Binds the native Linux UDP socket (GSO sends, `recvmmsg` + GRO receives on Node's event loop or
 * on a thread of its own) as a {@link QuicSocket}.
 *
 * <span class="informal">The fast path: one system call per 64 KiB sent, one JavaScript call per
 * `recvmmsg` batch received.</span>
 *
 * `incoming$` emits one {@link Incoming} per received message: a GRO train (with `gro` set to its
 * segment size) or a single datagram. Messages of one receive batch (up to 32) are handed on
 * together, right after the event loop's poll phase (on `setImmediate`), like
 * `fromUdpSocket`'s bursts. Subscribing starts receiving and unsubscribing pauses it (the kernel
 * queues what arrives meanwhile); several subscribers share one receiver. While it receives,
 * the socket keeps Node's event loop alive like a bound `node:dgram` socket, unless `unref()` was
 * called. `close()` stops receiving and closes the socket.
 *
 * `local` is the bound address: a socket bound to a wildcard address reports the wildcard, as
 * `fromDgramSocket` does, and quiche keeps one path per peer. Such a socket does learn (IP_PKTINFO,
 * {@link SocketCapabilities.pktinfo}) which of the host's addresses each peer sent to, and
 * everything it sends that peer leaves from that address, so a client that dialled a secondary
 * address recognizes the answers.
 *
 * ## Example
 * ```ts
 * const socket = await bindNativeUdpSocket('127.0.0.1', 4433);
 * listen$(socket, params).subscribe(...);
 * // later
 * socket.close();
 * ```
 *
 * @param address The IP address to bind to.
 * @param port The UDP port; 0 picks a free one.
 * @param metrics Where write errors are counted.
 * @param options Where the socket is read; see {@link NativeUdpSocketOptions}.
 * @returns The bound socket.
 * @throws QuicError `SocketError` when the bind fails, and off Linux.
 */
export async function bindNativeUdpSocket(
  address: string,
  port: number,
  metrics?: Metrics,
  options: NativeUdpSocketOptions = {},
): Promise<NativeQuicSocket> {
  return createNativeUdpSocket(address, port, metrics, options);
}

/** How the native socket receives. */
export interface NativeUdpSocketOptions {
  /**
   * Where the socket is read. `'loop'`: Node's own event loop watches the socket and `recvmmsg`
   * runs on the JavaScript thread when it is readable: no thread per socket, one wake-up per
   * arriving batch. `'thread'`: a receive thread of its own blocks in `poll` + `recvmmsg` and
   * queues each batch to the JavaScript thread, so reading and copying overlap with JavaScript
   * work, at the price of a second wake-up per batch (the thread's, then the event loop's). On the
   * 2-vCPU benchmark machine the loop halved a sequential round trip's median (0.17–0.24 against
   * 0.41–0.44 ms) and took 10–28% less server CPU per request and per GiB; the thread can still
   * pay off where the JavaScript thread is busy for long stretches and cores are spare.
   * Defaults to `'loop'`.
   */
  readonly receiveOn?: 'loop' | 'thread';
}

/** The synchronous core of {@link bindNativeUdpSocket}. */
export function createNativeUdpSocket(
  address: string,
  port: number,
  metrics?: Metrics,
  options: NativeUdpSocketOptions = {},
): NativeQuicSocket {
  const onLoop = options.receiveOn !== 'thread';
  let socket: napi.UdpSocket;
  try {
    socket = napi.UdpSocket.bind(address, port);
  } catch (cause) {
    throw new QuicError('SocketError', `cannot bind the native UDP socket: ${(cause as Error).message}`, { cause });
  }
  const localAddress = socket.localAddress();
  const stats = socket.stats();
  const capabilities: SocketCapabilities = Object.freeze({
    gso: stats.gso,
    gro: stats.gro,
    txtime: stats.txtime,
    checkUdpDrop: stats.checkUdpDrop,
    mmsg: true,
    pktinfo: stats.pktinfo,
  });
  let closed = false;
  const closeListeners = new Set<() => void>();
  // Where the receive thread's batches go: the current subscription's handler, or nowhere.
  let deliver: ((batch: Buffer) => void) | null = null;
  // The receiver's table of senders by index (see readRecvBatch), kept as long as the receiver:
  // across subscriptions, as the receiver is paused and resumed, not restarted.
  const peers: SocketAddress[] = [];
  // The addon's receiver (the loop's watcher or the thread's callback) is unref'd, so a JavaScript
  // handle holds the event loop open while receiving; `ref()`/`unref()` toggle it as dgram's do.
  let refed = true;
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  const holdEventLoop = (on: boolean): void => {
    if (on && !keepAlive) {
      keepAlive = setInterval(() => undefined, 0x7fffffff);
      if (!refed) keepAlive.unref();
    } else if (!on && keepAlive) {
      clearInterval(keepAlive);
      keepAlive = undefined;
    }
  };

  const incoming$ = new Observable<Incoming>((subscriber) => {
    if (closed) {
      subscriber.complete();
      return;
    }
    const burst = new IncomingBurst(subscriber);
    const onBatch = (batch: Buffer): void => {
      const rxTime = performance.now();
      readRecvBatch(batch, peers, (buf, peer, gro) =>
        burst.push(gro > 0 ? { buf, peer, local: localAddress, rxTime, gro } : { buf, peer, local: localAddress, rxTime }),
      );
    };
    const onClose = (): void => {
      holdEventLoop(false);
      burst.flush();
      subscriber.complete();
    };
    deliver = onBatch;
    try {
      // The receiver outlives its subscribers, paused in between: spawning and joining a thread
      // per subscription cost ~0.3 ms of CPU, paid by every client dialing from a reused socket.
      if (!socket.resume()) socket.start((batch) => deliver?.(batch), onLoop);
    } catch (cause) {
      deliver = null;
      subscriber.error(new QuicError('SocketError', `cannot start receiving: ${(cause as Error).message}`, { cause }));
      return;
    }
    closeListeners.add(onClose);
    holdEventLoop(true);
    return () => {
      closeListeners.delete(onClose);
      holdEventLoop(false);
      deliver = null;
      burst.cancel();
      if (!closed) socket.pause();
    };
  }).pipe(share());

  const quicSocket: NativeQuicSocket = {
    kind: 'native',
    incoming$,
    sender: new NativeSender(socket, capabilities.gso, metrics),
    localAddress,
    capabilities,
    stats: () => socket.stats(),
    close(): void {
      if (closed) return;
      closed = true;
      holdEventLoop(false);
      socket.close();
      for (const listener of [...closeListeners]) listener();
    },
    ref() {
      refed = true;
      keepAlive?.ref();
      return quicSocket;
    },
    unref() {
      refed = false;
      keepAlive?.unref();
      return quicSocket;
    },
  };
  return quicSocket;
}

/**
 * Reads one receive batch of the addon (one Buffer; the layout is documented on the addon's
 * `RecvBatch`): updates `peers`, the table of senders by index the receiver keeps in step with
 * its own, and calls `onMessage` for each message with a view of its bytes (no copy) and its GRO
 * segment size (0: one datagram). A sender's address object is made once, when it is new.
 */
export function readRecvBatch(
  batch: Buffer,
  peers: SocketAddress[],
  onMessage: (buf: Buffer, peer: SocketAddress, gro: number) => void,
): void {
  const n = batch.readUInt32LE(0);
  const newPeers = batch.readUInt32LE(12);
  let offset = 16 + 12 * n;
  if (newPeers > 0) {
    peers.length = batch.readUInt32LE(8);
    for (let j = 0; j < newPeers; j++) {
      const family = batch.readUInt32LE(offset) === 6 ? 'IPv6' : 'IPv4';
      const port = batch.readUInt32LE(offset + 4);
      const length = batch.readUInt32LE(offset + 8);
      peers.push({ address: batch.toString('latin1', offset + 12, offset + 12 + length), port, family });
      offset += 12 + ((length + 3) & ~3);
    }
  }
  for (let i = 0; i < n; i++) {
    const w = 16 + 12 * i;
    const length = batch.readUInt32LE(w);
    onMessage(batch.subarray(offset, offset + length), peers[batch.readUInt32LE(w + 8)]!, batch.readUInt32LE(w + 4));
    offset += length;
  }
}
