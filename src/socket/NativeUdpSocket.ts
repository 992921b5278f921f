import { Observable, share } from 'rxjs';

import { QuicError } from '../errors/QuicError';
import type { Metrics } from '../metrics/Metrics';
import { napi } from '../native/binding';
import { callNative } from '../native/errors';
import type { DatagramSender } from './DatagramSender';
import type { Incoming, SocketAddress } from './Incoming';
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
 * together, as the batch arrives (in the event loop's poll phase): a batch is the burst that
 * `fromUdpSocket` collects until `setImmediate`, so the workers' steps run in the microtasks
 * right after it and their flushes in the same turn's check phase. Subscribing starts receiving
 * and unsubscribing pauses it (the kernel queues what arrives meanwhile); several subscribers
 * share one receiver. While it receives, the socket keeps Node's event loop alive like a bound
 * `node:dgram` socket, unless `unref()` was called. `close()` stops receiving and closes the socket.
 *
 * `local` is the bound address, except on a socket bound to a wildcard address (`0.0.0.0`, `::`):
 * that one learns (IP_PKTINFO, {@link SocketCapabilities.pktinfo}) which of the host's addresses
 * each peer sent to and reports it as `local` (IPv4-mapped on a dual-stack socket), so quiche's path
 * names the address the peer dialled; everything it sends that peer leaves from that address, so a
 * client that dialled a secondary address recognizes the answers. A client connection on such a
 * socket takes as its local end the address the routes pick for its server (`localAddressFor`).
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
   * 0.41–0.44 ms) and took 5–28% less server CPU per request and per GiB; the thread can still
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
  let deliver: ((batch: Buffer, start?: number) => void) | null = null;
  // The receiver's table of senders by index (see readRecvBatch), kept as long as the receiver:
  // across subscriptions, as the receiver is paused and resumed, not restarted.
  const senders: RecvPeerTable = { peers: [], locals: [] };
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
    // A batch is a burst already: it goes on at once, from the poll phase, so the steps it sets
    // off run in the microtasks right after it and their flush in the same turn's check phase.
    const onBatch = (batch: Buffer, start = 0): void => {
      const rxTime = performance.now();
      readRecvBatch(
        batch,
        senders,
        localAddress.port,
        (buf, peer, local = localAddress, gro) => {
          if (!subscriber.closed) subscriber.next(gro > 0 ? { buf, peer, local, rxTime, gro } : { buf, peer, local, rxTime });
        },
        start,
      );
    };
    const onClose = (): void => {
      holdEventLoop(false);
      subscriber.complete();
    };
    deliver = onBatch;
    try {
      // The receiver outlives its subscribers, paused in between: spawning and joining a thread
      // per subscription cost ~0.3 ms of CPU, paid by every client dialing from a reused socket.
      if (!socket.resume()) socket.start((batch, start) => deliver?.(batch, start), onLoop);
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
      if (!closed) socket.pause();
    };
  }).pipe(share());

  const quicSocket: NativeQuicSocket = {
    kind: 'native',
    incoming$,
    sender: new NativeSender(socket, capabilities.gso, metrics),
    localAddress,
    // A wildcard bind reports each datagram's destination as its `local`: ask the routes.
    ...(capabilities.pktinfo ? { localAddressFor: (peer: SocketAddress) => callNative(() => socket.localAddressFor(peer)) } : {}),
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
 * The receiver's table of senders, kept in step with the addon's (see `RecvBatch` in
 * `native/src/udp.rs`): by index, each sender's address, and the local address it sent to where
 * the socket learns it (bound to a wildcard address), `undefined` where that is the bound one.
 */
export interface RecvPeerTable {
  readonly peers: SocketAddress[];
  readonly locals: Array<SocketAddress | undefined>;
}

/**
 * Reads one receive batch of the addon (laid out in `batch` from byte `start`, as documented on the
 * addon's `RecvBatch`; the loop receiver's batches share a slab): updates `table` and calls
 * `onMessage` for each message with a view of its bytes (no copy), its sender, the local address it
 * was sent to (`undefined`: the bound address) and its GRO segment size (0: one datagram). A
 * sender's address objects are made once, when it is new, with `localPort` as the local address's
 * port.
 */
export function readRecvBatch(
  batch: Buffer,
  table: RecvPeerTable,
  localPort: number,
  onMessage: (buf: Buffer, peer: SocketAddress, local: SocketAddress | undefined, gro: number) => void,
  start = 0,
): void {
  const { peers, locals } = table;
  const n = batch.readUInt32LE(start);
  const newPeers = batch.readUInt32LE(start + 12);
  let offset = start + 16 + 12 * n;
  if (newPeers > 0) {
    peers.length = locals.length = batch.readUInt32LE(start + 8);
    for (let j = 0; j < newPeers; j++) {
      const family = batch.readUInt32LE(offset) === 6 ? 'IPv6' : 'IPv4';
      const port = batch.readUInt32LE(offset + 4);
      const length = batch.readUInt32LE(offset + 8);
      const localLength = batch.readUInt32LE(offset + 12);
      offset += 16;
      peers.push({ address: batch.toString('latin1', offset, offset + length), port, family });
      offset += (length + 3) & ~3;
      // The local address is in the socket's family, as the peer is.
      locals.push(localLength > 0 ? { address: batch.toString('latin1', offset, offset + localLength), port: localPort, family } : undefined);
      offset += (localLength + 3) & ~3;
    }
  }
  for (let i = 0; i < n; i++) {
    const w = start + 16 + 12 * i;
    const length = batch.readUInt32LE(w);
    const index = batch.readUInt32LE(w + 8);
    onMessage(batch.subarray(offset, offset + length), peers[index]!, locals[index], batch.readUInt32LE(w + 4));
    offset += length;
  }
}
