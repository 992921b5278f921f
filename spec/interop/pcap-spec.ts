/**
 * The relay's capture (interop/pcap.ts, RelayOptions.pcap): datagrams relayed over real loopback
 * sockets must come back out of the pcap file with the addresses, ports, bytes and checksums of
 * the server's side of the relay, in both directions, over IPv4 and IPv6.
 */
import { createSocket, type Socket } from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { addressBytes, ipUdpPacket, LINKTYPE_RAW, PcapWriter, readPcap } from '../../interop/pcap';
import { Relay } from '../../interop/relay';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One's-complement sum of 16-bit words, written out here rather than taken from pcap.ts. */
function onesSum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

async function bound(type: 'udp4' | 'udp6', address: string): Promise<Socket> {
  const s = createSocket({ type, ipv6Only: type === 'udp6' });
  await new Promise<void>((r) => s.bind(0, address, r));
  return s;
}

describe('relay pcap capture', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcap-spec-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parses IPv4 and IPv6 text addresses', () => {
    expect([...addressBytes('127.0.0.1')]).toEqual([127, 0, 0, 1]);
    expect(addressBytes('::1').toString('hex')).toBe('00000000000000000000000000000001');
    expect(addressBytes('fe80::2:3').toString('hex')).toBe('fe800000000000000000000000020003');
    expect(addressBytes('::ffff:10.1.2.3').toString('hex')).toBe('00000000000000000000ffff0a010203');
    expect(() => addressBytes('1:2:3')).toThrow();
  });

  it('builds an IPv4 + UDP packet whose checksums verify', () => {
    const payload = Buffer.from('hello, quic');
    const p = ipUdpPacket({ address: '127.0.0.1', port: 1234 }, { address: '127.0.0.2', port: 443 }, payload);
    expect(p.length).toBe(20 + 8 + payload.length);
    expect(p[0]).toBe(0x45);
    expect(p.readUInt16BE(2)).toBe(p.length);
    expect(p[9]).toBe(17);
    expect(onesSum(p.subarray(0, 20))).toBe(0xffff); // header checksum verifies
    expect(p.readUInt16BE(20)).toBe(1234);
    expect(p.readUInt16BE(22)).toBe(443);
    expect(p.readUInt16BE(24)).toBe(8 + payload.length);
    // UDP checksum over the pseudo-header (src, dst, 0, 17, length) and the datagram verifies.
    const pseudo = Buffer.concat([p.subarray(12, 20), Buffer.from([0, 17]), p.subarray(24, 26)]);
    expect(onesSum(Buffer.concat([pseudo, p.subarray(20)]))).toBe(0xffff);
    expect(p.subarray(28).equals(payload)).toBe(true);
  });

  it('builds an IPv6 + UDP packet whose checksum verifies', () => {
    const payload = Buffer.alloc(1200, 7);
    const p = ipUdpPacket({ address: '::1', port: 5000 }, { address: '::1', port: 6000 }, payload);
    expect(p[0]! >> 4).toBe(6);
    expect(p.readUInt16BE(4)).toBe(8 + payload.length);
    expect(p[6]).toBe(17);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(8 + payload.length);
    const pseudo = Buffer.concat([p.subarray(8, 40), len, Buffer.from([0, 0, 0, 17])]);
    expect(onesSum(Buffer.concat([pseudo, p.subarray(40)]))).toBe(0xffff);
  });

  it('writes a pcap that reads back record by record', () => {
    const f = path.join(dir, 'w.pcap');
    const w = new PcapWriter(f);
    const a = { address: '127.0.0.1', port: 40000 };
    const b = { address: '127.0.0.1', port: 443 };
    w.write(a, b, Buffer.from([1, 2, 3]), 1_700_000_000_123.456);
    w.write(b, a, Buffer.alloc(1500, 9), 1_700_000_000_124);
    w.close();
    const raw = fs.readFileSync(f);
    expect(raw.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(raw.readUInt32LE(20)).toBe(LINKTYPE_RAW);
    const { records } = readPcap(f);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ family: 'IPv4', src: a, dst: b, checksumsOk: true });
    expect(records[0]!.atMs).toBeCloseTo(1_700_000_000_123.456, 2);
    expect([...records[0]!.payload]).toEqual([1, 2, 3]);
    expect(records[1]).toMatchObject({ src: b, dst: a, checksumsOk: true });
    expect(records[1]!.payload.length).toBe(1500);
  });

  it('rejects a truncated file', () => {
    const f = path.join(dir, 't.pcap');
    const w = new PcapWriter(f);
    w.write({ address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 2 }, Buffer.alloc(100));
    w.close();
    fs.truncateSync(f, fs.statSync(f).size - 10);
    expect(() => readPcap(f)).toThrow(/truncated/);
  });

  for (const [type, host] of [
    ['udp4', '127.0.0.1'],
    ['udp6', '::1'],
  ] as const) {
    it(`captures both directions of relayed ${type} datagrams with the server side's addresses`, async () => {
      const server = await bound(type, host);
      const serverPort = server.address().port;
      const upstreams = new Set<string>();
      server.on('message', (m, r) => {
        upstreams.add(`${r.address}:${r.port}`);
        server.send(Buffer.concat([Buffer.from('re:'), m]), r.port, r.address);
      });
      const f = path.join(dir, `${type}.pcap`);
      const relay = await Relay.start({ target: { address: host, port: serverPort }, pcap: f });
      const client = await bound(type, host);
      const back: Buffer[] = [];
      client.on('message', (m) => back.push(m));
      try {
        for (let i = 0; i < 5; i++) {
          client.send(Buffer.from(`ping ${i}`), relay.port, host);
          await sleep(10);
        }
        for (let i = 0; i < 50 && back.length < 5; i++) await sleep(10);
      } finally {
        relay.close();
        client.close();
        server.close();
      }
      expect(back).toHaveLength(5);
      const { records } = readPcap(f);
      expect(records).toHaveLength(10);
      const [up] = [...upstreams];
      const [upAddr, upPort] = [up!.slice(0, up!.lastIndexOf(':')), Number(up!.slice(up!.lastIndexOf(':') + 1))];
      const toServer = records.filter((r) => r.dst.port === serverPort);
      const toClient = records.filter((r) => r.src.port === serverPort);
      expect(toServer.map((r) => r.payload.toString())).toEqual([0, 1, 2, 3, 4].map((i) => `ping ${i}`));
      expect(toClient.map((r) => r.payload.toString())).toEqual([0, 1, 2, 3, 4].map((i) => `re:ping ${i}`));
      for (const r of records) {
        expect(r.family).toBe(type === 'udp4' ? 'IPv4' : 'IPv6');
        expect(r.checksumsOk).toBe(true);
      }
      // The server's side of the relay: the relay's upstream socket ↔ the server.
      for (const r of toServer) expect([r.src.address, r.src.port, r.dst.address]).toEqual([upAddr, upPort, host]);
      for (const r of toClient) expect([r.dst.address, r.dst.port, r.src.address]).toEqual([upAddr, upPort, host]);
      // In time order.
      for (let i = 1; i < records.length; i++) expect(records[i]!.atMs).toBeGreaterThanOrEqual(records[i - 1]!.atMs);
    });
  }

  it('records what the relay delivers toward the server, not what it drops', async () => {
    const server = await bound('udp4', '127.0.0.1');
    const got: Buffer[] = [];
    server.on('message', (m) => got.push(m));
    const f = path.join(dir, 'drop.pcap');
    const relay = await Relay.start({ target: { address: '127.0.0.1', port: server.address().port }, dropToServer: [2, 3], pcap: f });
    const client = await bound('udp4', '127.0.0.1');
    try {
      for (let i = 1; i <= 4; i++) {
        client.send(Buffer.from([i]), relay.port, '127.0.0.1');
        await sleep(10);
      }
      await sleep(50);
    } finally {
      relay.close();
      client.close();
      server.close();
    }
    expect(got.map((b) => b[0])).toEqual([1, 4]);
    expect(readPcap(f).records.map((r) => r.payload[0])).toEqual([1, 4]);
  });
});
