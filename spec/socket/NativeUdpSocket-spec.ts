import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';

import { applicationOverQuic } from '../../src/application/operators/applicationOverQuic';
import { napi as napiBinding, type napi } from '../../src/native/binding';
import { DefaultMetrics } from '../../src/metrics/DefaultMetrics';
import { connectWithConfig$ } from '../../src/router/connectWithConfig';
import { listenWithCapabilities$ } from '../../src/router/listen';
import { bindQuicSocket } from '../../src/socket/bindQuicSocket';
import type { Incoming } from '../../src/socket/Incoming';
import type { QuicSocket } from '../../src/socket/QuicSocket';
import { bindNativeUdpSocket, type NativeQuicSocket } from '../../src/socket/NativeUdpSocket';
import { EchoClientApp, EchoServerApp } from '../helpers/echoApps';
import { bindUdp, closeAll, loopbackParams, within } from '../helpers/loopback';

const linux = process.platform === 'linux';
const onLinux = linux ? describe : describe.skip;

/** A `send()` batch description as the worker hands it to the sender. */
function batch(count: number, bytes: number, segmentSize: number, to: napi.SocketAddress): napi.SendBatch {
  return { count, bytes, segmentSize, to, from: to, delayUs: 0 };
}

/** Splits received messages (GRO trains included) back into datagrams. */
function datagrams(received: Incoming[]): Buffer[] {
  const out: Buffer[] = [];
  for (const r of received) {
    const seg = r.gro ?? r.buf.length;
    for (let o = 0; o < r.buf.length; o += seg) out.push(Buffer.from(r.buf.subarray(o, Math.min(o + seg, r.buf.length))));
  }
  return out;
}

/** Collects datagrams from `socket.incoming$` until `n` have arrived. */
async function receive(socket: NativeQuicSocket, n: number): Promise<{ messages: Incoming[]; dgrams: Buffer[] }> {
  const messages: Incoming[] = [];
  return within(
    new Promise((resolve) => {
      const sub = socket.incoming$.subscribe((m) => {
        messages.push(m);
        const dgrams = datagrams(messages);
        if (dgrams.length >= n) {
          sub.unsubscribe();
          resolve({ messages, dgrams });
        }
      });
    }),
    5000,
    `${n} datagrams`,
  );
}

const receiveModes = ['thread', 'loop'] as const;

/**
 * Echoes 1 MB over a QUIC stream between the two sockets with `params`, checks it byte for byte and
 * that the connection closed cleanly.
 */
async function echoMegabyte(
  serverSocket: QuicSocket,
  clientSocket: QuicSocket,
  params: ReturnType<typeof loopbackParams>,
): Promise<void> {
  const listener = listenWithCapabilities$([serverSocket], params.server)
    .pipe(applicationOverQuic(() => new EchoServerApp()))
    .subscribe();
  try {
    const message = randomBytes(1_000_000);
    const app = new EchoClientApp(message);
    const done = lastValueFrom(
      connectWithConfig$(clientSocket, 'localhost', params.client, app, { peer: serverSocket.localAddress }),
      { defaultValue: null },
    );
    const echoed = await within(app.echoed, 10_000, 'the echo');
    // Buffer.equals: jest's toEqual walks a megabyte byte by byte for seconds.
    expect(echoed.length).toBe(message.length);
    expect(echoed.equals(message)).toBe(true);
    await within(done, 10_000, 'the connection to close');
    expect(app.closeResult).toEqual({ ok: true });
  } finally {
    listener.unsubscribe();
  }
}

onLinux.each(receiveModes)('NativeUdpSocket, receiving on the %s', (receiveOn) => {
  const open: { close(): void }[] = [];
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  async function native(): Promise<NativeQuicSocket> {
    const s = await bindNativeUdpSocket('127.0.0.1', 0, undefined, { receiveOn });
    open.push(s);
    return s;
  }

  it('binds, reports its address and the kernel capabilities', async () => {
    const s = await native();
    expect(s.kind).toBe('native');
    expect(s.localAddress).toEqual({ address: '127.0.0.1', port: expect.any(Number), family: 'IPv4' });
    expect(s.localAddress.port).toBeGreaterThan(0);
    expect(s.capabilities.mmsg).toBe(true);
    expect(s.sender.gso).toBe(s.capabilities.gso);
  });

  it('sends one datagram to another native socket, with peer, local and rxTime', async () => {
    const a = await native();
    const b = await native();
    const got = receive(b, 1);
    a.sender.sendTo(Buffer.from('hello'), b.localAddress);
    const { messages } = await got;
    expect(Buffer.from(messages[0]!.buf).toString()).toBe('hello');
    expect(messages[0]!.peer).toEqual(a.localAddress);
    expect(messages[0]!.local).toEqual(b.localAddress);
    expect(messages[0]!.gro).toBeUndefined();
    expect(messages[0]!.rxTime).toBeGreaterThan(0);
  });

  it('keeps every datagram it handed on as it arrived, however many batches follow', async () => {
    const a = await native();
    const b = await native();
    // 300 distinct datagrams of 1,000 bytes: several of the loop receiver's 64 KiB slabs.
    const sent = Array.from({ length: 300 }, (_, i) => Buffer.alloc(1000, i % 251).fill(i >> 8, 0, 1));
    const got = receive(b, sent.length);
    for (const d of sent) {
      a.sender.sendTo(d, b.localAddress);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const { messages } = await got;
    // The views handed on, read only now: nothing received later was written over them.
    expect(datagrams(messages)).toEqual(sent);
    const memory = new Set(messages.map((m) => m.buf.buffer));
    const batches = b.stats().recvBatches;
    if (receiveOn === 'loop') {
      // Small batches share slabs of 64 KiB: an allocation per ~60 batches, not one per batch.
      expect(memory.size).toBeGreaterThanOrEqual(Math.ceil(300_000 / 65_536));
      expect(memory.size).toBeLessThan(batches / 10);
    } else {
      expect(memory.size).toBe(batches);
    }
  });

  it('hands a batch on as it arrives, so what the subscriber defers to setImmediate runs in the same turn', async () => {
    const a = await native();
    const b = await native();
    const order: string[] = [];
    const done = within(
      new Promise<void>((resolve) => {
        const sub = b.incoming$.subscribe(() => {
          sub.unsubscribe();
          const note = (what: string) => () => {
            order.push(what);
            if (order.length === 2) resolve();
          };
          // Due before the subscriber returns: called from the poll phase, its setImmediate runs
          // in this turn's check phase, before the next turn's timers; called from the check
          // phase (on setImmediate), its setImmediate waits for the next turn, after the timer.
          setTimeout(note('timer'), 1);
          const until = performance.now() + 3;
          while (performance.now() < until);
          setImmediate(note('immediate'));
        });
      }),
      5000,
      'the datagram',
    );
    a.sender.sendTo(Buffer.from('x'), b.localAddress);
    await done;
    expect(order).toEqual(['immediate', 'timer']);
  });

  it('sends a uniform batch as GSO and it arrives as the same datagrams, in order', async () => {
    const a = await native();
    const b = await native();
    const seg = 1200;
    const count = 100; // more than one GSO send (64 segments, 65000 bytes)
    const lengths = new Uint32Array(128);
    const parts: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const len = i === count - 1 ? 333 : seg;
      lengths[i] = len;
      parts.push(randomBytes(len));
    }
    const out = Buffer.concat(parts);
    const got = receive(b, count);
    a.sender.sendBatch(out, lengths, batch(count, out.length, seg, b.localAddress));
    const { messages, dgrams } = await got;
    expect(dgrams).toHaveLength(count);
    expect(dgrams.every((d, i) => d.equals(parts[i]!))).toBe(true);
    for (const m of messages) expect(m.peer).toEqual(a.localAddress);
    const stats = a.stats();
    expect(stats.datagramsSent).toBe(count);
    if (a.capabilities.gso) {
      // ceil(100 / 54) GSO sends: far fewer system calls than datagrams.
      expect(stats.sendCalls).toBeLessThanOrEqual(3);
    }
    if (b.capabilities.gro) {
      // The receiver coalesced at least some of them.
      expect(messages.some((m) => m.gro === seg)).toBe(true);
      expect(messages.length).toBeLessThan(count);
    }
    expect(b.stats().recvMessages).toBe(messages.length);
  });

  it('sends a mixed-size batch with sendmmsg', async () => {
    const a = await native();
    const b = await native();
    const sizes = [1200, 50, 900, 1350, 1];
    const parts = sizes.map((n) => randomBytes(n));
    const out = Buffer.concat(parts);
    const lengths = Uint32Array.from(sizes);
    const got = receive(b, sizes.length);
    // segmentSize 0: not uniform.
    a.sender.sendBatch(out, lengths, batch(sizes.length, out.length, 0, b.localAddress));
    expect((await got).dgrams).toEqual(parts);
    expect(a.stats().sendCalls).toBe(1);
  });

  it('talks to node:dgram both ways', async () => {
    const n = await native();
    const d = await bindUdp();
    try {
      const fromNative = new Promise<[Buffer, RemoteInfo]>((resolve) => d.once('message', (m, r) => resolve([m, r])));
      n.sender.sendTo(Buffer.from('to dgram'), { address: '127.0.0.1', port: d.address().port });
      const [msg, rinfo] = await within(fromNative, 5000, 'a datagram at node:dgram');
      expect(msg.toString()).toBe('to dgram');
      expect(rinfo.port).toBe(n.localAddress.port);

      const got = receive(n, 3);
      for (const text of ['a', 'bb', 'ccc']) d.send(Buffer.from(text), n.localAddress.port, '127.0.0.1');
      const { messages, dgrams } = await got;
      expect(dgrams.map((b) => b.toString())).toEqual(['a', 'bb', 'ccc']);
      expect(messages[0]!.peer).toEqual({ address: '127.0.0.1', port: d.address().port, family: 'IPv4' });
    } finally {
      closeAll(d);
    }
  });

  it('counts a failed write instead of throwing', async () => {
    const a = await native();
    const metrics = new DefaultMetrics();
    const s = await bindNativeUdpSocket('127.0.0.1', 0, metrics);
    open.push(s);
    // An IPv6 destination from an IPv4 socket: EAFNOSUPPORT / EINVAL.
    expect(() => s.sender.sendTo(Buffer.from('x'), { address: '::1', port: a.localAddress.port })).not.toThrow();
    expect(metrics.writeErrors).toBe(1);
    expect(s.stats().sendErrors).toBe(1);
  });

  it('pauses on unsubscribe and keeps what arrives meanwhile in the kernel queue', async () => {
    const a = await native();
    const b = await native();
    let got = receive(b, 1);
    a.sender.sendTo(Buffer.from('one'), b.localAddress);
    expect((await got).dgrams[0]!.toString()).toBe('one');
    // Not subscribed now: the receive thread is paused and leaves the next datagram in the kernel.
    const before = b.stats().recvMessages;
    a.sender.sendTo(Buffer.from('two'), b.localAddress);
    await new Promise((r) => setTimeout(r, 50));
    expect(b.stats().recvMessages).toBe(before);
    got = receive(b, 1);
    expect((await got).dgrams[0]!.toString()).toBe('two');
  });

  it('names each sender right across resubscribing, with more senders than its peer table holds', async () => {
    const b = await native();
    // Each datagram carries its sender's port, to check the peer each message is given.
    const portIn = (m: Incoming): number => (m.buf[0]! << 8) | m.buf[1]!;
    const check = (messages: Incoming[]): void => {
      for (const m of messages) expect(m.peer.port).toBe(portIn(m));
    };
    const collect = (n: number): Promise<Incoming[]> => {
      const messages: Incoming[] = [];
      return within(
        new Promise<Incoming[]>((resolve) => {
          const sub = b.incoming$.subscribe((m) => {
            messages.push(m);
            if (messages.length < n) return;
            sub.unsubscribe();
            resolve(messages);
          });
        }),
        10_000,
        `${n} datagrams (${messages.length} so far)`,
      );
    };
    // One datagram from 127.0.0.1:port, on a socket bound for it and closed after it: thousands of
    // distinct senders with few descriptors open. False when the port is taken.
    const sendFrom = (port: number): Promise<boolean> =>
      new Promise((resolve) => {
        const sender: Socket = createSocket('udp4');
        sender.once('error', () => {
          sender.close();
          resolve(false);
        });
        sender.bind(port, '127.0.0.1', () => {
          const payload = Buffer.alloc(2);
          payload.writeUInt16BE(port);
          sender.send(payload, b.localAddress.port, '127.0.0.1', () => {
            sender.close();
            resolve(true);
          });
        });
      });
    // More senders than the receiver numbers before it starts its table again (4096), from ports
    // below the ephemeral range so that other sockets rarely hold one.
    const ports: number[] = [];
    const firstBatch = collect(4200);
    for (let port = 21_000; ports.length < 4200 && port < 32_000; port++) {
      if (await sendFrom(port)) ports.push(port);
      // Stay well inside the receive queue: let the receiver drain now and then.
      if (ports.length % 256 === 255) await new Promise((r) => setTimeout(r, 5));
    }
    expect(ports).toHaveLength(4200);
    const first = await firstBatch;
    check(first);
    expect(new Set(first.map((m) => m.peer.port))).toEqual(new Set(ports));
    // Unsubscribed and subscribed again: the receiver (and its table) carries on.
    const got = collect(3);
    for (const port of [ports[4199]!, ports[0]!, ports[4199]!]) expect(await sendFrom(port)).toBe(true);
    const again = await got;
    check(again);
    expect(again.map((m) => m.peer)).toEqual([ports[4199], ports[0], ports[4199]].map((port) => ({ address: '127.0.0.1', port, family: 'IPv4' })));
  }, 30_000);

  it('completes incoming$ on close, and close is idempotent', async () => {
    const s = await bindNativeUdpSocket('127.0.0.1', 0, undefined, { receiveOn });
    const all = lastValueFrom(s.incoming$.pipe(toArray()));
    s.close();
    s.close();
    await expect(within(all, 2000, 'completion')).resolves.toEqual([]);
    // Sending on a closed socket is a counted loss, not a throw.
    expect(() => s.sender.sendTo(Buffer.from('x'), { address: '127.0.0.1', port: 9 })).not.toThrow();
  });

  it('does not keep Node alive nor crash at exit while receiving, unclosed', () => {
    const addon = JSON.stringify(join(__dirname, '../../native/index.js'));
    const script = `
      const n = require(${addon});
      const a = n.UdpSocket.bind('127.0.0.1', 0);
      const b = n.UdpSocket.bind('127.0.0.1', 0);
      let got = 0;
      b.start(() => { got++; }, ${receiveOn === 'loop'});
      a.start(() => {}, ${receiveOn === 'loop'});
      a.sendTo(Buffer.from('x'), b.localAddress());
      setTimeout(() => console.log('received ' + got), 100);
    `;
    // execFileSync throws on a non-zero exit or a signal, and the timeout catches a hang.
    const out = execFileSync(process.execPath, ['-e', script], { timeout: 10_000, encoding: 'utf8' });
    expect(out.trim()).toBe('received 1');
  });

  it('works over IPv6 loopback', async () => {
    let a: NativeQuicSocket;
    try {
      a = await bindNativeUdpSocket('::1', 0, undefined, { receiveOn });
    } catch {
      return; // no IPv6 on this host
    }
    open.push(a);
    const b = await bindNativeUdpSocket('::1', 0, undefined, { receiveOn });
    open.push(b);
    expect(b.localAddress.family).toBe('IPv6');
    const got = receive(b, 1);
    a.sender.sendTo(Buffer.from('six'), b.localAddress);
    const { messages } = await got;
    expect(Buffer.from(messages[0]!.buf).toString()).toBe('six');
    expect(messages[0]!.peer).toEqual({ address: '::1', port: a.localAddress.port, family: 'IPv6' });
  });

  it.each([
    ['0.0.0.0', '127.0.0.1'],
    ['::', '::ffff:127.0.0.1'],
  ])(
    'bound to %s, answers each peer from the address it sent to: sendTo, a GSO batch and sendmmsg',
    async (wildcard, mapped) => {
      let n: NativeQuicSocket;
      try {
        n = await bindNativeUdpSocket(wildcard, 0, undefined, { receiveOn });
      } catch {
        expect(wildcard).toBe('::'); // a host without IPv6
        return;
      }
      open.push(n);
      expect(n.capabilities.pktinfo).toBe(true);
      const port = n.localAddress.port;
      const clients = [await bindUdp(), await bindUdp()];
      try {
        // Two peers, each dialling another of the host's loopback addresses. Routing alone would
        // answer both from 127.0.0.1.
        const dialled = ['127.0.0.2', '127.0.0.3'];
        const got = receive(n, 2);
        clients.forEach((c, i) => c.send(Buffer.from(`hello ${i}`), port, dialled[i]));
        const { messages } = await got;
        const peerOf = (i: number): Incoming => messages.find((m) => m.peer.port === clients[i]!.address().port)!;
        // The peer as the socket's family names it (IPv4-mapped on a dual-stack socket).
        expect(peerOf(0).peer.address).toBe(mapped);
        // Each datagram's local address is the one its peer dialled, named the same way.
        const family = wildcard === '::' ? 'IPv6' : 'IPv4';
        const named = (ip: string): string => (wildcard === '::' ? `::ffff:${ip}` : ip);
        expect(peerOf(0).local).toEqual({ address: named(dialled[0]!), port, family });
        expect(peerOf(1).local).toEqual({ address: named(dialled[1]!), port, family });
        // A client's local end for a peer: the address the routes pick for it.
        expect(n.localAddressFor!({ address: '127.0.0.1', port: 9 })).toEqual({ address: named('127.0.0.1'), port, family });

        const replies = clients.map(
          (c) =>
            new Promise<string[]>((resolve) => {
              const from: string[] = [];
              c.on('message', (_m, r) => {
                from.push(r.address);
                if (from.length === 5) resolve(from);
              });
            }),
        );
        for (let i = 0; i < 2; i++) {
          const to = peerOf(i).peer;
          n.sender.sendTo(Buffer.from('one'), to);
          // Two equal datagrams (GSO where the kernel has it), then two of different sizes (sendmmsg).
          n.sender.sendBatch(Buffer.alloc(2400, 7), Uint32Array.from([1200, 1200]), batch(2, 2400, 1200, to));
          n.sender.sendBatch(Buffer.alloc(30, 8), Uint32Array.from([10, 20]), batch(2, 30, 0, to));
        }
        const from = await within(Promise.all(replies), 5000, 'the replies');
        expect(from[0]).toEqual(Array(5).fill(dialled[0]));
        expect(from[1]).toEqual(Array(5).fill(dialled[1]));
        expect(n.stats().sendErrors).toBe(0);
      } finally {
        closeAll(...clients);
      }
    },
  );

  it('does not use packet info on a socket bound to one address, and reports that address as local', async () => {
    const n = await native();
    expect(n.capabilities.pktinfo).toBe(false);
    expect(n.localAddressFor).toBeUndefined();
    const a = await native();
    const got = receive(n, 1);
    a.sender.sendTo(Buffer.from('x'), n.localAddress);
    expect((await got).messages[0]!.local).toEqual(n.localAddress);
  });

  it('survives close() and pause() from inside its own batch callback, and receives again after resume', async () => {
    const a = await native();
    const b = await native();
    // Unsubscribing inside next() pauses the receiver during its own delivery.
    for (const word of ['one', 'two', 'three']) {
      const got = receive(b, 1);
      a.sender.sendTo(Buffer.from(word), b.localAddress);
      expect((await got).dgrams[0]!.toString()).toBe(word);
    }
    // Closing inside next(): incoming$ completes, nothing crashes, later datagrams go nowhere.
    const done = new Promise<void>((resolve) => {
      b.incoming$.subscribe({
        next: () => b.close(),
        complete: () => resolve(),
      });
    });
    a.sender.sendTo(Buffer.from('x'), b.localAddress);
    a.sender.sendTo(Buffer.from('y'), b.localAddress);
    await within(done, 2000, 'completion after close in next()');
    await new Promise((r) => setTimeout(r, 20));
  });

  it('receives intact after a subscriber transfers the memory under a datagram away', async () => {
    const a = await native();
    const b = await native();
    const first = receive(b, 1);
    a.sender.sendTo(Buffer.alloc(100, 1), b.localAddress);
    const memory = (await first).messages[0]!.buf.buffer as ArrayBuffer;
    const before = Buffer.from(new Uint8Array(memory));
    // Transferring detaches it here (the loop receiver's slab, or the thread's batch).
    const moved = structuredClone(memory, { transfer: [memory] });
    expect(memory.byteLength).toBe(0);
    const next = receive(b, 3);
    for (const fill of [2, 3, 4]) {
      a.sender.sendTo(Buffer.alloc(100, fill), b.localAddress);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect((await next).dgrams).toEqual([2, 3, 4].map((fill) => Buffer.alloc(100, fill)));
    // What was transferred is left as it was: the receiver wrote nothing more into it.
    expect(Buffer.from(moved).equals(before)).toBe(true);
  });

  it('reports an exception thrown by its batch callback as an uncaught exception, as Node does for its own sockets', () => {
    const addon = JSON.stringify(join(__dirname, '../../native/index.js'));
    const script = `
      const n = require(${addon});
      const a = n.UdpSocket.bind('127.0.0.1', 0);
      const b = n.UdpSocket.bind('127.0.0.1', 0);
      process.on('uncaughtException', (e) => { console.log('caught ' + e.message); a.close(); b.close(); });
      b.start(() => { throw new Error('boom'); }, ${receiveOn === 'loop'});
      a.sendTo(Buffer.from('x'), b.localAddress());
      setTimeout(() => {}, 300);
    `;
    const out = execFileSync(process.execPath, ['-e', script], { timeout: 10_000, encoding: 'utf8' });
    expect(out.trim()).toBe('caught boom');
  });

  it("hands quiche's pacing times to the kernel (SO_TXTIME) when pacing is on, and the transfer stays intact", async () => {
    const serverSocket = await bindQuicSocket({ native: 'require', receiveOn });
    const clientSocket = await bindQuicSocket({ native: 'require', receiveOn });
    open.push(serverSocket, clientSocket);
    expect(serverSocket.capabilities.txtime).toBe(napiBinding.probeSocketCapabilities(false).txtime);
    // quiche 0.30 gives send times ahead of now only with its gcongestion BBR; a capped rate makes it
    // schedule packets ahead (without an fq qdisc the kernel still sends them at once).
    const pacing = { enablePacing: true, ccAlgorithm: 'bbr2_gcongestion' as const, maxPacingRate: 5_000_000 };
    await echoMegabyte(serverSocket, clientSocket, loopbackParams({ disableClientIpValidation: true, ...pacing }, pacing));
    for (const socket of [serverSocket, clientSocket] as NativeQuicSocket[]) {
      const stats = socket.stats();
      expect(stats.txtime).toBe(socket.capabilities.txtime);
      if (stats.txtime) expect(stats.pacedSends).toBeGreaterThan(0);
      else expect(stats.pacedSends).toBe(0);
      expect(stats.sendErrors).toBe(0);
    }
  });

  it('sends at once, with no release time, when pacing is off', async () => {
    const a = await native();
    const b = await native();
    const got = receive(b, 3);
    a.sender.sendBatch(Buffer.alloc(3 * 1200, 7), Uint32Array.of(1200, 1200, 1200), batch(3, 3600, 1200, b.localAddress));
    expect((await got).dgrams).toHaveLength(3);
    expect(a.stats().pacedSends).toBe(0);
  });

  it.each([
    ['native', 'native'],
    ['native', 'dgram'],
    ['dgram', 'native'],
  ] as const)('echoes a QUIC stream end to end: %s server, %s client', async (serverKind, clientKind) => {
    const serverSocket = await bindQuicSocket({ native: serverKind === 'native' ? 'require' : 'never', receiveOn });
    const clientSocket = await bindQuicSocket({ native: clientKind === 'native' ? 'require' : 'never', receiveOn });
    open.push(serverSocket, clientSocket);
    // Native sockets flush connections from Rust (quiche straight to the socket); the JavaScript
    // batch path is node:dgram's, and the server's until its client proves its address.
    const flush = jest.spyOn(napiBinding.UdpSocket.prototype, 'flush');
    const sendBatch = jest.spyOn(napiBinding.UdpSocket.prototype, 'sendBatch');
    try {
      await echoMegabyte(serverSocket, clientSocket, loopbackParams({ disableClientIpValidation: true }));
      for (const socket of [clientSocket, serverSocket]) {
        if (socket.kind !== 'native') continue;
        const stats = (socket as NativeQuicSocket).stats();
        expect(stats.sendErrors).toBe(0);
        // 1 MB each way: GSO sends carry many datagrams per system call.
        if (socket.capabilities.gso) expect(stats.sendCalls).toBeLessThan(stats.datagramsSent / 2);
      }
      expect(flush.mock.calls.length).toBeGreaterThan(0);
      // Only the server's first flight goes through the JavaScript batch path: until the client's
      // first Handshake packet the worker keeps the anti-amplification account itself.
      expect(sendBatch.mock.calls.length).toBeLessThanOrEqual(6);
      expect(flush.mock.calls.length).toBeGreaterThan(sendBatch.mock.calls.length);
    } finally {
      flush.mockRestore();
      sendBatch.mockRestore();
    }
  });
});

describe('bindQuicSocket', () => {
  it("falls back to node:dgram with native: 'never', and it works", async () => {
    const d = await bindQuicSocket({ native: 'never' });
    const e = await bindQuicSocket({ native: 'never' });
    try {
      expect(d.kind).toBe('dgram');
      expect(d.capabilities.gso).toBe(false);
      expect(d.sender.gso).toBe(false);
      const got = firstValueFrom(e.incoming$.pipe(take(1)));
      d.sender.sendTo(Buffer.from('fallback'), e.localAddress);
      const m = await within(got, 5000, 'a datagram');
      expect(Buffer.from(m.buf).toString()).toBe('fallback');
      expect(m.peer.port).toBe(d.localAddress.port);
    } finally {
      d.close();
      e.close();
    }
  });

  it("falls back when the native socket cannot bind with 'auto', and fails with 'require'", async () => {
    // A port taken by another socket fails natively; node:dgram then fails too, so use an
    // address the native parser refuses but node:dgram resolves: a host name.
    const s = await bindQuicSocket({ address: 'localhost', native: 'auto' });
    try {
      expect(s.kind).toBe('dgram');
    } finally {
      s.close();
    }
    await expect(bindQuicSocket({ address: 'localhost', native: 'require' })).rejects.toMatchObject({
      code: 'SocketError',
    });
  });

  it('refuses a port outside 0..65535 in every mode instead of binding it modulo 65536', async () => {
    for (const native of ['auto', 'never', 'require'] as const) {
      for (const port of [452000, 65536, -1, 1.5]) {
        await expect(bindQuicSocket({ port, native })).rejects.toMatchObject({ code: 'InvalidArgument' });
      }
    }
  });

  (linux ? it : it.skip)("gives the native socket on Linux with 'auto'", async () => {
    const s = await bindQuicSocket();
    try {
      expect(s.kind).toBe('native');
    } finally {
      s.close();
    }
  });
});
