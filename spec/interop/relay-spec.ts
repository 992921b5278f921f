/**
 * The interop relay (interop/relay.ts) over real loopback sockets: a UDP echo server behind it,
 * a client socket in front, and each impairment checked by what arrives (or not) and by the
 * relay's own counters.
 */
import { createSocket, type Socket } from 'node:dgram';

import { parseLongHeaders, QUIC_V2, Relay, type RelayOptions } from '../../interop/relay';

interface Echo {
  socket: Socket;
  port: number;
  /** Source addresses (`address:port`) the echo server has seen, in order of first appearance. */
  sources: string[];
  received: Buffer[];
}

async function bound(address = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, r));
  return s;
}

async function echoServer(): Promise<Echo> {
  const socket = await bound();
  const e: Echo = { socket, port: socket.address().port, sources: [], received: [] };
  socket.on('message', (m, r) => {
    const k = `${r.address}:${r.port}`;
    if (!e.sources.includes(k)) e.sources.push(k);
    e.received.push(m);
    socket.send(m, r.port, r.address);
  });
  return e;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits (at most 2 s) until the relay has read the first `sent` datagrams and everything it
 * forwarded has come back through it to the client. What it queues on purpose (delay, bandwidth
 * cap) only shortens the wait to the bound; a datagram the kernel dropped shows in the assertions.
 */
async function settled(relay: Relay, sent: number, back: number[]): Promise<void> {
  const { toServer, toClient } = relay.stats;
  const deadline = performance.now() + 2000;
  while (!(toServer.datagrams >= sent && toClient.datagrams >= toServer.forwarded && back.length >= toClient.forwarded)) {
    if (performance.now() > deadline) return;
    await sleep(1);
  }
}

/** Sends `n` numbered datagrams of `size` bytes `gapMs` apart; returns the numbers echoed back. */
async function exchange(client: Socket, relay: Relay, n: number, size = 100, gapMs = 0, settleMs = 150): Promise<number[]> {
  const back: number[] = [];
  const onMsg = (m: Buffer): void => void back.push(m.readUInt32BE(0));
  client.on('message', onMsg);
  for (let i = 1; i <= n; i++) {
    const b = Buffer.alloc(size, 0xab);
    b.writeUInt32BE(i, 0);
    client.send(b, relay.port, '127.0.0.1');
    if (gapMs > 0) await sleep(gapMs);
    // Without a gap, let every 50 datagrams make their round trip before sending more. Loopback
    // receive buffers hold a few hundred datagrams, and a fixed pause is not enough on a loaded
    // machine: each turn of a starved event loop sends 50 but reads only 32 per socket.
    else if (i % 50 === 0) await settled(relay, i, back);
  }
  await sleep(settleMs);
  client.off('message', onMsg);
  return back;
}

describe('interop relay', () => {
  let echo: Echo;
  let client: Socket;
  let relay: Relay | null = null;
  const start = async (o: Omit<RelayOptions, 'target'>): Promise<Relay> => {
    relay = await Relay.start({ ...o, target: { address: '127.0.0.1', port: echo.port } });
    return relay;
  };

  beforeEach(async () => {
    echo = await echoServer();
    client = await bound();
  });
  afterEach(() => {
    relay?.close();
    relay = null;
    echo.socket.close();
    client.close();
  });

  it('forwards both ways unchanged and counts datagrams and bytes per direction', async () => {
    const r = await start({});
    const back = await exchange(client, r, 20, 300);
    expect(back).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(echo.received.every((m) => m.length === 300 && m[299] === 0xab)).toBe(true);
    expect(r.stats.toServer).toMatchObject({ datagrams: 20, bytes: 6000, forwarded: 20, forwardedBytes: 6000 });
    expect(r.stats.toClient).toMatchObject({ datagrams: 20, bytes: 6000, forwarded: 20 });
  });

  it('drops exactly the listed datagrams toward the server', async () => {
    const r = await start({ dropToServer: [2, 3, 4, 5, 6, 7], trace: 12 });
    const back = await exchange(client, r, 10, 100, 2);
    expect(back.sort((a, b) => a - b)).toEqual([1, 8, 9, 10]);
    expect(r.stats.toServer.dropped.dropList).toBe(6);
    // The trace keeps the first 12 of the 14 datagrams (10 sent, 4 echoed), with what happened to each.
    expect(r.trace).toHaveLength(12);
    expect(r.trace.filter((e) => e.dir === 'toServer').map((e) => e.action).slice(0, 7)).toEqual(['forwarded', 'dropped', 'dropped', 'dropped', 'dropped', 'dropped', 'dropped']);
    expect(r.trace.filter((e) => e.dir === 'toClient').every((e) => e.action === 'queued')).toBe(true);
    expect(r.trace.every((e) => e.bytes === 100 && e.types === '1rtt')).toBe(true);
  });

  it('delays each direction by the one-way delay', async () => {
    const r = await start({ delayMs: 100 });
    const t0 = performance.now();
    const got = new Promise<number>((resolve) => client.once('message', () => resolve(performance.now() - t0)));
    client.send(Buffer.alloc(10), r.port, '127.0.0.1');
    const rtt = await got;
    expect(rtt).toBeGreaterThanOrEqual(195);
    expect(rtt).toBeLessThan(400);
  });

  it('loses about the configured rate, in bursts', async () => {
    // mulberry32, seeded: the same sequence every run.
    let seed = 42;
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const r = await start({ loss: { rate: { toServer: 0.3, toClient: 0 }, burst: 3 }, random });
    const back = await exchange(client, r, 2000, 50, 0, 300);
    const lost = r.stats.toServer.dropped.loss;
    expect(r.stats.toServer.datagrams).toBe(2000);
    expect(lost / 2000).toBeGreaterThan(0.22);
    expect(lost / 2000).toBeLessThan(0.38);
    expect(back.length).toBe(2000 - lost);
    // Bursts: some losses are consecutive.
    const got = new Set(back);
    let runs = 0;
    for (let i = 2; i <= 2000; i++) if (!got.has(i) && !got.has(i - 1)) runs++;
    expect(runs).toBeGreaterThan(20);
  });

  it('corrupts one byte in the configured fraction of datagrams', async () => {
    const r = await start({ corrupt: { toServer: 0.5, toClient: 0 } });
    await exchange(client, r, 200, 200, 0, 300);
    const changed = echo.received.filter((m) => m.subarray(4).some((b) => b !== 0xab) || m.readUInt32BE(0) > 200).length;
    expect(r.stats.toServer.corrupted).toBeGreaterThan(60);
    expect(r.stats.toServer.corrupted).toBeLessThan(140);
    // Every corrupted datagram differs (a flip in the 4-byte counter may go unseen here).
    expect(changed).toBeGreaterThanOrEqual(r.stats.toServer.corrupted - Math.ceil(r.stats.toServer.corrupted * 0.1));
    expect(changed).toBeLessThanOrEqual(r.stats.toServer.corrupted);
  });

  it('drops everything during the blackhole periods only', async () => {
    const r = await start({ blackhole: { onMs: 150, offMs: 150 } });
    const back = await exchange(client, r, 60, 50, 10, 200);
    expect(r.stats.toServer.dropped.blackhole).toBeGreaterThan(10);
    expect(back.length).toBeGreaterThan(10);
    expect(back.length).toBe(60 - r.stats.toServer.dropped.blackhole - r.stats.toClient.dropped.blackhole);
  });

  it('caps the bandwidth with a token bucket and tail-drops past the queue', async () => {
    // 1 Mbit/s: 1000-byte datagrams take 8 ms each; 40 sent at once: 25 queued, the rest dropped.
    const r = await start({ bandwidth: { bitsPerSecond: 1_000_000, queuePackets: 25 } });
    const t0 = performance.now();
    let last = 0;
    client.on('message', () => (last = performance.now() - t0));
    const back = await exchange(client, r, 40, 1000, 0, 600);
    expect(r.stats.toServer.dropped.queue).toBe(15);
    expect(back.length).toBe(25);
    expect(last).toBeGreaterThan(25 * 8 * 0.9);
  });

  it('rebinds its upstream port, and its source address among 127.0.0.x', async () => {
    const r = await start({ rebind: { mode: 'port', firstMs: 100, everyMs: 100 } });
    await exchange(client, r, 30, 50, 15, 100);
    expect(r.rebinds).toBeGreaterThanOrEqual(2);
    expect(echo.sources.length).toBeGreaterThanOrEqual(3);
    expect(r.serverRepliedOn.size).toBeGreaterThanOrEqual(3);
    r.close();

    echo.sources = [];
    const r2 = await start({ rebind: { mode: 'addr', firstMs: 100, everyMs: 100 } });
    await exchange(client, r2, 30, 50, 15, 100);
    const addrs = new Set(echo.sources.map((s) => s.slice(0, s.lastIndexOf(':'))));
    expect(addrs.size).toBeGreaterThanOrEqual(3);
    expect([...addrs].every((a) => a.startsWith('127.0.0.'))).toBe(true);
  });

  it('parses coalesced long headers (v1 and v2) and snapshots the amplification accounting', async () => {
    // An Initial (token length 0, Length 5) coalesced with a Handshake (Length 3), v1.
    const hdr = (first: number, version: number, len: number, token: boolean): Buffer => {
      const v = Buffer.alloc(4);
      v.writeUInt32BE(version);
      return Buffer.concat([Buffer.from([first]), v, Buffer.from([1, 0xaa, 1, 0xbb]), token ? Buffer.from([0]) : Buffer.alloc(0), Buffer.from([len]), Buffer.alloc(len)]);
    };
    const d = Buffer.concat([hdr(0xc0, 1, 5, true), hdr(0xe0, 1, 3, false)]);
    expect(parseLongHeaders(d).packets.map((p) => [p.type, p.length])).toEqual([
      ['initial', 5],
      ['handshake', 3],
    ]);
    // v2 swaps the type bits: 0b01 is Initial, 0b11 is Handshake.
    expect(parseLongHeaders(hdr(0xd0, QUIC_V2, 2, true)).packets[0]!.type).toBe('initial');
    expect(parseLongHeaders(hdr(0xf0, QUIC_V2, 2, false)).packets[0]!.type).toBe('handshake');
    expect(parseLongHeaders(Buffer.from([0x40, 1, 2, 3])).shortHeader).toBe(true);

    const r = await start({});
    const initial = hdr(0xc0, 1, 200, true);
    client.send(initial, r.port, '127.0.0.1');
    await sleep(100);
    client.send(d, r.port, '127.0.0.1');
    await sleep(100);
    // When the Handshake datagram went through, the server (echo) had received the Initial and
    // sent it back once.
    expect(r.amplification).toEqual({ serverReceivedBytes: initial.length, serverSentBytes: initial.length });
    expect(r.stats.toServer.longHeaderPackets).toEqual({ initial: 2, handshake: 1 });
    expect(r.stats.toServer.versions['initial']).toEqual(['0x00000001']);
    expect(r.clientInitialsBeforeAnswer).toBe(1);
  });
});
