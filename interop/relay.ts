/**
 * A loopback UDP relay that stands between a QUIC client and a QUIC server and impairs the path,
 * in place of the QUIC Interop Runner's ns-3 network simulator (no Docker, no netem here).
 *
 * The client sends to the relay's front socket; the relay forwards each datagram to the server from
 * an upstream socket of its own (one per client address, so several client processes can share
 * one relay), and the server's answers go back the same way. On the way, in this order:
 *
 * 1. accounting (datagrams and bytes per direction, QUIC long-header types and versions seen);
 * 2. blackhole: during an "off" period of the on/off cycle every datagram is dropped;
 * 3. drop list: datagrams number N..M toward the server (1-based, counted over the whole relay);
 * 4. random loss with bursts: a loss starts a burst of 1..`burst` consecutive drops, started with
 *    a probability chosen so that the long-run loss rate is `rate`;
 * 5. corruption: a fraction of datagrams get one random byte XOR-ed with a random non-zero value;
 * 6. bandwidth cap: a per-direction token bucket (serialisation at `bitsPerSecond`) with a
 *    drop-tail queue of `queuePackets`;
 * 7. one-way delay, then the datagram is sent on.
 *
 * Rebinding: every `everyMs` (first after `firstMs`) each client's upstream socket is replaced by a
 * new one, on a new port (`port`) or on a new address among 127.0.0.2..127.0.0.254 (`addr`), as a
 * NAT that loses its mapping would do. Packets the server still sends to the old socket are lost.
 *
 * Capture: with `pcap` set, the relay writes a pcap of the datagrams as the server's network
 * interface would see them: client → server datagrams when the relay delivers them (after its drops
 * and corruption), from the upstream socket's address and port; server → client datagrams as the
 * server sends them, to the upstream socket they were sent to. The client-facing leg is not
 * recorded (the same datagrams again, with the relay's front address).
 *
 * Only for loopback tests: it binds 127.0.0.1 / ::1.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

import { PcapWriter } from './pcap';

/** Loss, corruption or a rate that applies to one direction. */
export interface PerDirection<T> {
  /** Datagrams from the client toward the server. */
  toServer: T;
  /** Datagrams from the server toward the client. */
  toClient: T;
}

/** Options of {@link Relay.start}. Everything but `target` is off by default. */
export interface RelayOptions {
  /** The server the relay forwards to. */
  target: { address: string; port: number };
  /** Address of the client-facing socket; defaults to 127.0.0.1 (::1 when `target` is IPv6). */
  listenAddress?: string;
  /** One-way delay in ms, applied in both directions. Defaults to 0. */
  delayMs?: number;
  /** Random loss: rate in [0, 1) per direction, and the longest burst (default 1: no bursts). */
  loss?: { rate: PerDirection<number>; burst?: number };
  /** Datagrams toward the server to drop, by 1-based number (e.g. 2..7 for amplificationlimit). */
  dropToServer?: readonly number[];
  /** Fraction of datagrams, per direction, that get one byte flipped. */
  corrupt?: PerDirection<number>;
  /** Periodic outage: the path passes `onMs`, then drops everything for `offMs`, repeatedly. */
  blackhole?: { onMs: number; offMs: number };
  /** Rebinding of the relay's upstream (server-facing) socket. */
  rebind?: { mode: 'port' | 'addr'; firstMs: number; everyMs: number };
  /** Bandwidth cap per direction in bit/s, with a drop-tail queue (default 25 datagrams). */
  bandwidth?: { bitsPerSecond: number; queuePackets?: number };
  /** Random source, for reproducible runs; defaults to Math.random. */
  random?: () => number;
  /** Keep a trace of the first `trace` datagrams (both directions) in {@link Relay.trace}. */
  trace?: number;
  /** Write the server side's datagrams to this pcap file (raw IPv4 / IPv6 + UDP); see the file comment. */
  pcap?: string;
}

/** One datagram in {@link Relay.trace}. */
export interface TraceEntry {
  /** ms since the relay started */
  t: number;
  dir: 'toServer' | 'toClient';
  bytes: number;
  /** long-header packet types in it, or `1rtt` */
  types: string;
  /** what the relay did with it */
  action: 'forwarded' | 'dropped' | 'queued';
}

/** Counters of one direction. */
export interface DirectionStats {
  /** Datagrams the relay received in this direction. */
  datagrams: number;
  /** Their bytes (UDP payload). */
  bytes: number;
  /** Datagrams sent on. */
  forwarded: number;
  /** Bytes sent on. */
  forwardedBytes: number;
  /** Dropped datagrams by reason. */
  dropped: { blackhole: number; dropList: number; loss: number; queue: number; rebind: number };
  /** Datagrams corrupted (and still sent on). */
  corrupted: number;
  /** QUIC long-header packets seen, by type name (`initial`, `0rtt`, `handshake`, `retry`, `vn`). */
  longHeaderPackets: Record<string, number>;
  /** Sum of the Length fields of the long-header packets seen, by type name. */
  longHeaderBytes: Record<string, number>;
  /** Short-header (1-RTT) datagrams seen. */
  shortHeaderDatagrams: number;
  /** QUIC versions seen, by long-header packet type, as hex strings (e.g. `initial: ['0x00000001']`). */
  versions: Record<string, string[]>;
  /** Time (ms since the relay started) of the first short-header datagram received. */
  firstShortHeaderAt?: number;
  /** Time (ms since the relay started) of the last short-header datagram received. */
  lastShortHeaderAt?: number;
}

/**
 * The amplification accounting: what the server had sent and received (at the relay, after the
 * relay's own drops toward the server) when the client's first Handshake packet was forwarded.
 */
export interface AmplificationSnapshot {
  /** Bytes the server had sent (datagrams the relay received from it). */
  serverSentBytes: number;
  /** Bytes the server had received (datagrams the relay delivered to it). */
  serverReceivedBytes: number;
}

/** A long-header packet's type by its two type bits, for QUIC v1 and v2 (RFC 9369 §3.2). */
const V1_TYPES = ['initial', '0rtt', 'handshake', 'retry'] as const;
const V2_TYPES = ['retry', 'initial', '0rtt', 'handshake'] as const;
/** QUIC v2's version number. */
export const QUIC_V2 = 0x6b3343cf;

/** A long-header packet found in a datagram. */
export interface LongHeaderInfo {
  type: 'initial' | '0rtt' | 'handshake' | 'retry' | 'vn';
  version: number;
  /** The Length field (packet number + payload), when the type has one. */
  length?: number;
}

function readVarint(b: Uint8Array, off: number): [number, number] | null {
  if (off >= b.length) return null;
  const len = 1 << (b[off]! >> 6);
  if (off + len > b.length) return null;
  let v = b[off]! & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
  return [v, off + len];
}

/**
 * Parses the coalesced QUIC packets of a datagram as far as their long headers go (RFC 9000 §17.2,
 * RFC 9369 for v2). Stops at a short-header packet or at anything it cannot parse.
 */
export function parseLongHeaders(d: Uint8Array): { packets: LongHeaderInfo[]; shortHeader: boolean } {
  const packets: LongHeaderInfo[] = [];
  let off = 0;
  while (off < d.length) {
    const first = d[off]!;
    if ((first & 0x80) === 0) return { packets, shortHeader: packets.length === 0 && off === 0 };
    if (off + 6 > d.length) break;
    const version = ((d[off + 1]! << 24) | (d[off + 2]! << 16) | (d[off + 3]! << 8) | d[off + 4]!) >>> 0;
    if (version === 0) {
      packets.push({ type: 'vn', version });
      break;
    }
    const bits = (first >> 4) & 3;
    const type = version === QUIC_V2 ? V2_TYPES[bits]! : V1_TYPES[bits]!;
    let p = off + 5;
    const dcidLen = d[p]!;
    p += 1 + dcidLen;
    if (p >= d.length) break;
    const scidLen = d[p]!;
    p += 1 + scidLen;
    if (type === 'retry') {
      packets.push({ type, version });
      break;
    }
    if (type === 'initial') {
      const tok = readVarint(d, p);
      if (!tok) break;
      p = tok[1] + tok[0];
    }
    const len = readVarint(d, p);
    if (!len) break;
    packets.push({ type, version, length: len[0] });
    off = len[1] + len[0];
  }
  return { packets, shortHeader: false };
}

function emptyStats(): DirectionStats {
  return {
    datagrams: 0,
    bytes: 0,
    forwarded: 0,
    forwardedBytes: 0,
    dropped: { blackhole: 0, dropList: 0, loss: 0, queue: 0, rebind: 0 },
    corrupted: 0,
    longHeaderPackets: {},
    longHeaderBytes: {},
    shortHeaderDatagrams: 0,
    versions: {},
  };
}

interface Queued {
  data: Buffer;
  at: number;
  send: () => void;
}

/** The per-direction pipeline after the drop decisions: bandwidth, then delay. */
class Link {
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** When the bottleneck is free again (ms, performance.now() clock). */
  private busyUntil = 0;
  /** Datagrams admitted to the bottleneck and not yet through it. */
  private inBottleneck: number[] = [];

  constructor(
    private readonly delayMs: number,
    private readonly bitsPerSecond: number | undefined,
    private readonly queuePackets: number,
  ) {}

  /** Schedules `send` for the datagram; false when the bottleneck's queue is full (tail drop). */
  push(data: Buffer, send: () => void): boolean {
    const now = performance.now();
    let at = now;
    if (this.bitsPerSecond !== undefined) {
      while (this.inBottleneck.length > 0 && this.inBottleneck[0]! <= now) this.inBottleneck.shift();
      if (this.inBottleneck.length >= this.queuePackets) return false;
      const start = Math.max(now, this.busyUntil);
      this.busyUntil = start + (data.length * 8 * 1000) / this.bitsPerSecond;
      this.inBottleneck.push(this.busyUntil);
      at = this.busyUntil;
    }
    at += this.delayMs;
    if (at <= now && this.queue.length === 0) {
      send();
      return true;
    }
    // Departure times only grow (constant delay, FIFO bottleneck): the queue stays sorted.
    this.queue.push({ data, at, send });
    this.arm();
    return true;
  }

  private arm(): void {
    if (this.timer !== null || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0]!.at - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = performance.now();
      while (this.queue.length > 0 && this.queue[0]!.at <= now + 0.5) this.queue.shift()!.send();
      this.arm();
    }, Math.floor(wait));
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
  }
}

interface Session {
  client: RemoteInfo;
  upstream: Socket;
  /** Upstream sockets this session has used, for the "paths seen" count. */
  paths: number;
}

/**
 * The relay. Create it with {@link Relay.start}; send clients to {@link Relay.port}; read
 * {@link Relay.stats} during or after the run; {@link Relay.close} it.
 */
export class Relay {
  /** Counters per direction. */
  readonly stats: PerDirection<DirectionStats> = { toServer: emptyStats(), toClient: emptyStats() };
  /** Set once, when the first datagram toward the server containing a Handshake packet is forwarded. */
  amplification: AmplificationSnapshot | null = null;
  /**
   * Datagrams with an Initial packet the client sent before any server datagram had been delivered
   * to it: each is a ClientHello (re)transmission (the `longrtt` check).
   */
  clientInitialsBeforeAnswer = 0;
  /** How many times the upstream sockets were replaced. */
  rebinds = 0;
  /**
   * Distinct upstream (relay → server) source addresses `address:port` on which the server's
   * datagrams arrived: more than one means the server followed the client to a new path.
   */
  readonly serverRepliedOn = new Set<string>();
  /** Distinct client addresses (`address:port`) the relay has served. */
  readonly clients = new Set<string>();
  /** The first `trace` datagrams, when the `trace` option is set. */
  readonly trace: TraceEntry[] = [];

  private readonly sessions = new Map<string, Session>();
  private readonly toServer: Link;
  private readonly toClient: Link;
  private readonly started = performance.now();
  private readonly random: () => number;
  private readonly burstLeft: PerDirection<number> = { toServer: 0, toClient: 0 };
  private readonly dropList: Set<number>;
  private rebindTimer: NodeJS.Timeout | null = null;
  private readonly pcap: PcapWriter | null;
  private nextAddr = 2;
  private closed = false;

  private constructor(
    private readonly opts: RelayOptions,
    private readonly front: Socket,
    private readonly family: 'udp4' | 'udp6',
  ) {
    this.random = opts.random ?? Math.random;
    this.dropList = new Set(opts.dropToServer ?? []);
    this.pcap = opts.pcap !== undefined ? new PcapWriter(opts.pcap) : null;
    const bw = opts.bandwidth;
    this.toServer = new Link(opts.delayMs ?? 0, bw?.bitsPerSecond, bw?.queuePackets ?? 25);
    this.toClient = new Link(opts.delayMs ?? 0, bw?.bitsPerSecond, bw?.queuePackets ?? 25);
  }

  /** Binds the client-facing socket on an ephemeral port and starts relaying. */
  static async start(opts: RelayOptions): Promise<Relay> {
    const family = opts.target.address.includes(':') ? 'udp6' : 'udp4';
    const front = createSocket({ type: family, ipv6Only: family === 'udp6' });
    const listen = opts.listenAddress ?? (family === 'udp6' ? '::1' : '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.bind(0, listen, () => {
        front.off('error', reject);
        resolve();
      });
    });
    const relay = new Relay(opts, front, family);
    front.on('message', (msg, rinfo) => relay.fromClient(msg, rinfo));
    front.on('error', () => undefined);
    if (opts.rebind) {
      const { firstMs, everyMs } = opts.rebind;
      relay.rebindTimer = setTimeout(function tick() {
        void relay.rebindAll().finally(() => {
          if (!relay.closed) relay.rebindTimer = setTimeout(tick, everyMs);
        });
      }, firstMs);
    }
    return relay;
  }

  /** The client-facing port. */
  get port(): number {
    return this.front.address().port;
  }

  /** The client-facing address. */
  get address(): string {
    return this.front.address().address;
  }

  /** Milliseconds since the relay started. */
  now(): number {
    return performance.now() - this.started;
  }

  /** True while the blackhole cycle is in its "off" (dropping) part. */
  private inBlackhole(): boolean {
    const b = this.opts.blackhole;
    if (!b) return false;
    return this.now() % (b.onMs + b.offMs) >= b.onMs;
  }

  private lose(dir: keyof PerDirection<number>): boolean {
    const l = this.opts.loss;
    if (!l || l.rate[dir] <= 0) return false;
    if (this.burstLeft[dir] > 0) {
      this.burstLeft[dir]--;
      return true;
    }
    const burst = Math.max(1, Math.floor(l.burst ?? 1));
    // A burst has 1..burst drops, (burst + 1) / 2 on average: start one with the probability that
    // gives the long-run rate (bursts make the starting probability smaller).
    const meanBurst = (burst + 1) / 2;
    const rate = l.rate[dir];
    const start = rate / (meanBurst * (1 - rate) + rate);
    if (this.random() >= start) return false;
    this.burstLeft[dir] = Math.floor(this.random() * burst); // this drop + 0..burst-1 more
    return true;
  }

  private maybeCorrupt(dir: keyof PerDirection<number>, msg: Buffer): Buffer {
    const rate = this.opts.corrupt?.[dir] ?? 0;
    if (rate <= 0 || this.random() >= rate || msg.length === 0) return msg;
    const copy = Buffer.from(msg);
    const i = Math.floor(this.random() * copy.length);
    copy[i] = copy[i]! ^ (1 + Math.floor(this.random() * 255));
    this.stats[dir].corrupted++;
    return copy;
  }

  private note(dir: TraceEntry['dir'], msg: Buffer, packets: LongHeaderInfo[], action: TraceEntry['action']): void {
    if (this.trace.length >= (this.opts.trace ?? 0)) return;
    const types = packets.length > 0 ? packets.map((p) => p.type).join('+') : '1rtt';
    this.trace.push({ t: Math.round(this.now()), dir, bytes: msg.length, types, action });
  }

  private account(s: DirectionStats, msg: Buffer): LongHeaderInfo[] {
    s.datagrams++;
    s.bytes += msg.length;
    const { packets, shortHeader } = parseLongHeaders(msg);
    if (shortHeader) {
      s.shortHeaderDatagrams++;
      const t = this.now();
      s.firstShortHeaderAt ??= t;
      s.lastShortHeaderAt = t;
    }
    for (const p of packets) {
      s.longHeaderPackets[p.type] = (s.longHeaderPackets[p.type] ?? 0) + 1;
      if (p.length !== undefined) s.longHeaderBytes[p.type] = (s.longHeaderBytes[p.type] ?? 0) + p.length;
      const v = `0x${p.version.toString(16).padStart(8, '0')}`;
      const list = (s.versions[p.type] ??= []);
      if (!list.includes(v)) list.push(v);
    }
    return packets;
  }

  private fromClient(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    const s = this.stats.toServer;
    const packets = this.account(s, msg);
    if (this.stats.toClient.forwarded === 0 && packets.some((p) => p.type === 'initial')) this.clientInitialsBeforeAnswer++;
    const n = s.datagrams;
    const drop = (): void => this.note('toServer', msg, packets, 'dropped');
    if (this.inBlackhole()) return void (s.dropped.blackhole++, drop());
    if (this.dropList.has(n)) return void (s.dropped.dropList++, drop());
    if (this.lose('toServer')) return void (s.dropped.loss++, drop());
    const data = this.maybeCorrupt('toServer', msg);
    const key = `${rinfo.address}:${rinfo.port}`;
    let session = this.sessions.get(key);
    if (!session) {
      this.clients.add(key);
      session = { client: rinfo, upstream: this.newUpstream(rinfo, '127.0.0.1'), paths: 1 };
      this.sessions.set(key, session);
    }
    const sess = session;
    const hasHandshake = packets.some((p) => p.type === 'handshake');
    const ok = this.toServer.push(data, () => {
      if (this.closed) return;
      // The upstream socket at delivery time: a rebind in between moves queued datagrams too.
      const up = sess.upstream;
      // Recorded once sent: a new upstream socket may not be bound (have an address) before.
      up.send(data, this.opts.target.port, this.opts.target.address, (err) => {
        if (!err && this.pcap && !this.closed) this.pcap.write(up.address(), this.opts.target, data);
      });
      s.forwarded++;
      s.forwardedBytes += data.length;
      this.note('toServer', data, packets, 'forwarded');
      if (hasHandshake && this.amplification === null) {
        this.amplification = { serverSentBytes: this.stats.toClient.bytes, serverReceivedBytes: s.forwardedBytes - data.length };
      }
    });
    if (!ok) s.dropped.queue++;
  }

  private fromServer(session: Session, upstream: Socket, msg: Buffer): void {
    if (this.closed) return;
    const s = this.stats.toClient;
    const packets = this.account(s, msg);
    this.note('toClient', msg, packets, 'queued');
    const a = upstream.address();
    // Recorded as the server sent it, before any of the relay's drops on the way to the client.
    this.pcap?.write(this.opts.target, a, msg);
    if (upstream !== session.upstream) return void s.dropped.rebind++;
    this.serverRepliedOn.add(`${a.address}:${a.port}`);
    if (this.inBlackhole()) return void s.dropped.blackhole++;
    if (this.lose('toClient')) return void s.dropped.loss++;
    const data = this.maybeCorrupt('toClient', msg);
    const ok = this.toClient.push(data, () => {
      if (this.closed) return;
      this.front.send(data, session.client.port, session.client.address, () => undefined);
      s.forwarded++;
      s.forwardedBytes += data.length;
    });
    if (!ok) s.dropped.queue++;
  }

  private newUpstream(_client: RemoteInfo, address: string): Socket {
    const sock = createSocket({ type: this.family, ipv6Only: this.family === 'udp6' });
    sock.on('error', () => undefined);
    sock.bind(0, this.family === 'udp6' ? '::1' : address);
    const key = `${_client.address}:${_client.port}`;
    sock.on('message', (m) => {
      const session = this.sessions.get(key);
      if (session) this.fromServer(session, sock, m);
    });
    return sock;
  }

  /**
   * Replaces every client's upstream socket now (what the `rebind` timer does). The old socket is
   * kept open for a moment so that late answers are counted as lost to the rebind, then closed.
   */
  async rebindAll(): Promise<void> {
    if (this.closed) return;
    const mode = this.opts.rebind?.mode ?? 'port';
    for (const session of this.sessions.values()) {
      const old = session.upstream;
      let address = '127.0.0.1';
      if (mode === 'addr' && this.family === 'udp4') {
        address = `127.0.0.${this.nextAddr}`;
        this.nextAddr = this.nextAddr >= 254 ? 2 : this.nextAddr + 1;
      }
      session.upstream = this.newUpstream(session.client, address);
      session.paths++;
      setTimeout(() => old.close(), 1000);
    }
    this.rebinds++;
  }

  /** Stops relaying and closes every socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.rebindTimer) clearTimeout(this.rebindTimer);
    this.toServer.close();
    this.toClient.close();
    this.pcap?.close();
    for (const s of this.sessions.values()) {
      try {
        s.upstream.close();
      } catch {
        // already closed
      }
    }
    this.front.close();
  }

  /** A one-line summary of the counters, for case reasons. */
  summary(): string {
    const d = (s: DirectionStats): string => {
      const dropped = Object.entries(s.dropped).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ');
      return `${s.datagrams} dgrams / ${s.bytes} B${dropped ? `, dropped ${dropped}` : ''}${s.corrupted ? `, corrupted ${s.corrupted}` : ''}`;
    };
    return `relay → server: ${d(this.stats.toServer)}; → client: ${d(this.stats.toClient)}${this.rebinds ? `; ${this.rebinds} rebinds` : ''}`;
  }
}
