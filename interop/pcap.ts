/**
 * A minimal pcap writer and reader for the relay's captures: classic libpcap files (microsecond
 * timestamps) with link type RAW (101), so each record is a bare IPv4 or IPv6 packet carrying one
 * UDP datagram. tshark / Wireshark read them directly; no tcpdump, no root.
 *
 * Only what the relay needs: UDP over IPv4 (no options, DF set) and IPv6 (no extension headers),
 * with correct lengths and checksums.
 */
import * as fs from 'node:fs';
import { isIPv4 } from 'node:net';

/** libpcap's magic for microsecond timestamps, written in the host's (little-endian) order. */
const PCAP_MAGIC = 0xa1b2c3d4;
/** LINKTYPE_RAW: the packet starts with the IP header; its version nibble says v4 or v6. */
export const LINKTYPE_RAW = 101;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
const IPV4_HEADER = 20;
const IPV6_HEADER = 40;
const UDP_HEADER = 8;
const IPPROTO_UDP = 17;

/** One end of a UDP datagram. */
export interface Endpoint {
  address: string;
  port: number;
}

/** The 4 or 16 bytes of an IPv4 or IPv6 address in text form (`127.0.0.1`, `::1`, `fe80::2:3`). */
export function addressBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  let text = address.split('%')[0]!;
  // An IPv4 tail (`::ffff:1.2.3.4`) becomes two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const b = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8 || all.some((g) => !(g >= 0 && g <= 0xffff))) throw new Error(`not an IP address: ${address}`);
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** The Internet checksum (RFC 1071) over the given pieces, as one stream of 16-bit words. */
function internetChecksum(pieces: readonly Uint8Array[]): number {
  let sum = 0;
  let odd: number | null = null;
  for (const p of pieces) {
    for (const byte of p) {
      if (odd === null) odd = byte;
      else {
        sum += (odd << 8) | byte;
        odd = null;
      }
    }
  }
  if (odd !== null) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The UDP header for `payload` from `src` to `dst`, with its checksum over the IP pseudo-header. */
function udpHeader(src: Endpoint, dst: Endpoint, srcIp: Buffer, dstIp: Buffer, payload: Uint8Array): Buffer {
  const udp = Buffer.alloc(UDP_HEADER);
  const len = UDP_HEADER + payload.length;
  udp.writeUInt16BE(src.port, 0);
  udp.writeUInt16BE(dst.port, 2);
  udp.writeUInt16BE(len, 4);
  const pseudo = Buffer.alloc(srcIp.length === 4 ? 12 : 40);
  if (srcIp.length === 4) {
    srcIp.copy(pseudo, 0);
    dstIp.copy(pseudo, 4);
    pseudo[9] = IPPROTO_UDP;
    pseudo.writeUInt16BE(len, 10);
  } else {
    srcIp.copy(pseudo, 0);
    dstIp.copy(pseudo, 16);
    pseudo.writeUInt32BE(len, 32);
    pseudo[39] = IPPROTO_UDP;
  }
  // A computed 0 is sent as 0xffff (0 means "no checksum" over IPv4 and is not allowed over IPv6).
  udp.writeUInt16BE(internetChecksum([pseudo, udp, payload]) || 0xffff, 6);
  return udp;
}

/** The IP + UDP packet that carries `payload` from `src` to `dst` (both IPv4 or both IPv6). */
export function ipUdpPacket(src: Endpoint, dst: Endpoint, payload: Uint8Array, ipId = 0): Buffer {
  const srcIp = addressBytes(src.address);
  const dstIp = addressBytes(dst.address);
  if (srcIp.length !== dstIp.length) throw new Error(`mixed address families: ${src.address} → ${dst.address}`);
  const udp = udpHeader(src, dst, srcIp, dstIp, payload);
  let ip: Buffer;
  if (srcIp.length === 4) {
    ip = Buffer.alloc(IPV4_HEADER);
    ip[0] = 0x45; // version 4, 5 words
    ip.writeUInt16BE(IPV4_HEADER + UDP_HEADER + payload.length, 2);
    ip.writeUInt16BE(ipId & 0xffff, 4);
    ip.writeUInt16BE(0x4000, 6); // DF, as QUIC stacks send
    ip[8] = 64;
    ip[9] = IPPROTO_UDP;
    srcIp.copy(ip, 12);
    dstIp.copy(ip, 16);
    ip.writeUInt16BE(internetChecksum([ip]), 10);
  } else {
    ip = Buffer.alloc(IPV6_HEADER);
    ip.writeUInt32BE(0x60000000, 0);
    ip.writeUInt16BE(UDP_HEADER + payload.length, 4);
    ip[6] = IPPROTO_UDP;
    ip[7] = 64;
    srcIp.copy(ip, 8);
    dstIp.copy(ip, 24);
  }
  return Buffer.concat([ip, udp, payload]);
}

/**
 * Appends UDP datagrams to a pcap file. Records are buffered and written in batches (and on
 * {@link PcapWriter.close}), so that a 10 MB transfer does not cost a system call per datagram.
 */
export class PcapWriter {
  /** Records written so far. */
  records = 0;
  private readonly fd: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private closed = false;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w');
    const h = Buffer.alloc(GLOBAL_HEADER);
    h.writeUInt32LE(PCAP_MAGIC, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    // thiszone and sigfigs stay 0.
    h.writeUInt32LE(0xffff, 16); // snaplen: UDP payloads never exceed it on loopback QUIC
    h.writeUInt32LE(LINKTYPE_RAW, 20);
    fs.writeSync(this.fd, h);
  }

  /** Records one datagram `src` → `dst` at wall-clock time `atMs` (ms since the epoch, fractional). */
  write(src: Endpoint, dst: Endpoint, payload: Uint8Array, atMs = performance.timeOrigin + performance.now()): void {
    if (this.closed) return;
    const packet = ipUdpPacket(src, dst, payload, this.records);
    const rec = Buffer.alloc(RECORD_HEADER);
    const us = Math.round(atMs * 1000);
    rec.writeUInt32LE(Math.floor(us / 1e6), 0);
    rec.writeUInt32LE(us % 1e6, 4);
    rec.writeUInt32LE(packet.length, 8);
    rec.writeUInt32LE(packet.length, 12);
    this.pending.push(rec, packet);
    this.pendingBytes += rec.length + packet.length;
    this.records++;
    if (this.pendingBytes >= 256 * 1024) this.flush();
  }

  /** Writes the buffered records out. */
  flush(): void {
    if (this.pending.length === 0) return;
    fs.writeSync(this.fd, Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Flushes and closes the file; later writes are ignored. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

/** One record of a pcap file, decoded as far as IP + UDP. */
export interface PcapRecord {
  /** Capture time, ms since the epoch. */
  atMs: number;
  family: 'IPv4' | 'IPv6';
  src: Endpoint;
  dst: Endpoint;
  payload: Buffer;
  /** The IP header checksum (IPv4 only) and the UDP checksum both verify. */
  checksumsOk: boolean;
}

function addressText(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  // Compress the longest run of two or more zero groups into `::`, as text forms usually are.
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  if (best.at < 0) return hex(groups);
  return `${hex(groups.slice(0, best.at))}::${hex(groups.slice(best.at + best.len))}`;
}

/**
 * Reads a pcap file written by {@link PcapWriter} (or any little-endian microsecond pcap of raw
 * IP + UDP packets) back into records. Throws on anything it does not understand.
 */
export function readPcap(file: string): { linkType: number; records: PcapRecord[] } {
  const b = fs.readFileSync(file);
  if (b.length < GLOBAL_HEADER) throw new Error(`${file}: shorter than a pcap header`);
  if (b.readUInt32LE(0) !== PCAP_MAGIC) throw new Error(`${file}: not a little-endian microsecond pcap (magic 0x${b.readUInt32LE(0).toString(16)})`);
  const linkType = b.readUInt32LE(20);
  if (linkType !== LINKTYPE_RAW) throw new Error(`${file}: link type ${linkType}, expected RAW (${LINKTYPE_RAW})`);
  const records: PcapRecord[] = [];
  let off = GLOBAL_HEADER;
  while (off < b.length) {
    if (off + RECORD_HEADER > b.length) throw new Error(`${file}: truncated record header at ${off}`);
    const atMs = b.readUInt32LE(off) * 1000 + b.readUInt32LE(off + 4) / 1000;
    const incl = b.readUInt32LE(off + 8);
    const pkt = b.subarray(off + RECORD_HEADER, off + RECORD_HEADER + incl);
    if (pkt.length !== incl) throw new Error(`${file}: truncated record at ${off}`);
    off += RECORD_HEADER + incl;
    const version = pkt[0]! >> 4;
    let srcIp: Buffer;
    let dstIp: Buffer;
    let udpAt: number;
    let ipOk = true;
    if (version === 4) {
      const ihl = (pkt[0]! & 0xf) * 4;
      if (pkt[9] !== IPPROTO_UDP) throw new Error(`${file}: IPv4 protocol ${pkt[9]}, expected UDP`);
      if (pkt.readUInt16BE(2) !== pkt.length) throw new Error(`${file}: IPv4 total length ${pkt.readUInt16BE(2)} ≠ ${pkt.length}`);
      ipOk = internetChecksum([pkt.subarray(0, ihl)]) === 0;
      srcIp = pkt.subarray(12, 16);
      dstIp = pkt.subarray(16, 20);
      udpAt = ihl;
    } else if (version === 6) {
      if (pkt[6] !== IPPROTO_UDP) throw new Error(`${file}: IPv6 next header ${pkt[6]}, expected UDP`);
      if (pkt.readUInt16BE(4) !== pkt.length - IPV6_HEADER) throw new Error(`${file}: IPv6 payload length ${pkt.readUInt16BE(4)} ≠ ${pkt.length - IPV6_HEADER}`);
      srcIp = pkt.subarray(8, 24);
      dstIp = pkt.subarray(24, 40);
      udpAt = IPV6_HEADER;
    } else {
      throw new Error(`${file}: IP version ${version}`);
    }
    const udp = pkt.subarray(udpAt);
    if (udp.readUInt16BE(4) !== udp.length) throw new Error(`${file}: UDP length ${udp.readUInt16BE(4)} ≠ ${udp.length}`);
    const src = { address: addressText(Buffer.from(srcIp)), port: udp.readUInt16BE(0) };
    const dst = { address: addressText(Buffer.from(dstIp)), port: udp.readUInt16BE(2) };
    const payload = Buffer.from(udp.subarray(UDP_HEADER));
    const expect = udpHeader(src, dst, Buffer.from(srcIp), Buffer.from(dstIp), payload).readUInt16BE(6);
    records.push({ atMs, family: version === 4 ? 'IPv4' : 'IPv6', src, dst, payload, checksumsOk: ipOk && expect === udp.readUInt16BE(6) });
  }
  return { linkType, records };
}
