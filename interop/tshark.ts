/**
 * The independent check of an interop case: the relay's pcaps of the case (interop/pcap.ts),
 * decrypted by tshark with the TLS key logs of both ends, and judged the way the QUIC Interop
 * Runner judges its captures (testcases_quic.py; /work/shared/PEERS.md B), as far as a capture
 * taken at the server's side of the relay can show it.
 *
 * Nothing here reads the endpoints' counters, logs or qlogs, nor the relay's own parser: only
 * what tshark decodes.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** What a tshark cross-check concluded. `not run` and `not checked` never count as a pass. */
export interface TsharkVerdict {
  status: 'passed' | 'failed' | 'not run' | 'not checked';
  detail: string;
}

/** The verdict when tshark is not installed. */
export const TSHARK_MISSING: TsharkVerdict = { status: 'not run', detail: 'not run (apt-get install tshark)' };

/** QUIC v2 (RFC 9369). */
const V2 = '0x6b3343cf';
const V1 = '0x00000001';
/** TLS_CHACHA20_POLY1305_SHA256. */
const CHACHA20 = '0x1303';
/** TLS handshake message types and extension numbers the checks look for. */
const TLS_CLIENT_HELLO = 1;
const TLS_CERTIFICATE = 11;
const EXT_PRE_SHARED_KEY = 41;
/** QUIC frame types (RFC 9000 §19). */
const FRAME_CRYPTO = 6;
const FRAME_PATH_CHALLENGE = 26;

/** The tshark program on PATH, or null. */
export function findTshark(): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    const f = path.join(dir, 'tshark');
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      // not here
    }
  }
  return null;
}

/** One TLS handshake message tshark decoded from CRYPTO frames. */
export interface TlsMessage {
  type: number;
  /** Offered (ClientHello) or chosen (ServerHello) cipher suites, as `0x1301`. */
  cipherSuites: string[];
  extensions: number[];
  alpn: string[];
  /** The initial_max_streams_bidi transport parameter, when this message carries it. */
  maxStreamsBidi?: number;
}

/** One QUIC packet of the capture (several may share a datagram). */
export interface QuicPacket {
  /** Which pcap of the case, 0-based; connections are told apart per pcap. */
  pcap: number;
  /** Frame number in that pcap. */
  frame: number;
  /** Seconds since the pcap's first record. */
  t: number;
  dir: 'toServer' | 'toClient';
  family: 'IPv4' | 'IPv6';
  /** The client's side of the path as the server sees it (`address:port`). */
  clientEnd: string;
  /** UDP payload bytes of the datagram (counted on its first QUIC packet only, 0 on the others). */
  datagramBytes: number;
  /** `pcap:number` of tshark's QUIC connection. */
  conn: string;
  type: 'initial' | '0rtt' | 'handshake' | 'retry' | '1rtt' | 'vn';
  version?: string;
  scid?: string;
  token?: string;
  retryToken?: string;
  pn?: number;
  keyPhase?: number;
  /** tshark removed the packet protection (it found frames). */
  decrypted: boolean;
  frameTypes: number[];
  /** STREAM frames: stream id and data length. */
  streams: Array<{ id: number; bytes: number }>;
  /** CRYPTO frames: offset and length. */
  crypto: Array<{ offset: number; length: number }>;
  tls: TlsMessage[];
  pathChallenges: string[];
  pathResponses: string[];
}

type Json = string | Json[] | { [k: string]: Json };

/** Every value of `key` anywhere under `node`, in document order. */
function valuesOf(node: Json | undefined, key: string, out: string[] = []): string[] {
  if (node === undefined || typeof node === 'string') return out;
  if (Array.isArray(node)) {
    for (const n of node) valuesOf(n, key, out);
    return out;
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === key) {
      for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'string') out.push(x);
    }
    if (typeof v !== 'string') valuesOf(v, key, out);
  }
  return out;
}

/** The objects stored under `key` anywhere under `node` (not looking inside them). */
function objectsOf(node: Json | undefined, key: string, out: Array<{ [k: string]: Json }> = []): Array<{ [k: string]: Json }> {
  if (node === undefined || typeof node === 'string') return out;
  if (Array.isArray(node)) {
    for (const n of node) objectsOf(n, key, out);
    return out;
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === key) {
      for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'object' && !Array.isArray(x)) out.push(x);
    } else if (typeof v !== 'string') objectsOf(v, key, out);
  }
  return out;
}

const first = (node: Json | undefined, key: string): string | undefined => valuesOf(node, key)[0];
const LONG_TYPES = ['initial', '0rtt', 'handshake', 'retry'] as const;
const V2_LONG_TYPES = ['retry', 'initial', '0rtt', 'handshake'] as const;

function tlsMessage(h: { [k: string]: Json }): TlsMessage {
  const bidi = first(h, 'tls.quic.parameter.initial_max_streams_bidi');
  return {
    type: Number(first(h, 'tls.handshake.type')),
    cipherSuites: valuesOf(h, 'tls.handshake.ciphersuite'),
    extensions: valuesOf(h, 'tls.handshake.extension.type').map(Number),
    alpn: valuesOf(h, 'tls.handshake.extensions_alpn_str'),
    ...(bidi !== undefined ? { maxStreamsBidi: Number(bidi) } : {}),
  };
}

function quicPacket(q: { [k: string]: Json }, conn: string | undefined, base: Omit<QuicPacket, 'conn' | 'type' | 'decrypted' | 'frameTypes' | 'streams' | 'crypto' | 'tls' | 'pathChallenges' | 'pathResponses'>): QuicPacket {
  const form = first(q, 'quic.header_form');
  const version = first(q, 'quic.version');
  let type: QuicPacket['type'] = '1rtt';
  if (form === '1') {
    // tshark names the type bits by version: quic.long.packet_type (v1), quic.long.packet_type_v2 (RFC 9369 §3.2).
    const v2 = first(q, 'quic.long.packet_type_v2');
    const t = v2 !== undefined ? V2_LONG_TYPES[Number(v2)] : LONG_TYPES[Number(first(q, 'quic.long.packet_type'))];
    type = version === '0x00000000' ? 'vn' : t ?? 'initial';
  }
  const frames = objectsOf(q, 'quic.frame');
  const streams = frames
    .filter((f) => first(f, 'quic.stream.stream_id') !== undefined)
    .map((f) => {
      const len = first(f, 'quic.stream.length');
      const data = first(f, 'quic.stream_data');
      return { id: Number(first(f, 'quic.stream.stream_id')), bytes: len !== undefined ? Number(len) : data ? (data.length + 1) / 3 : 0 };
    });
  const crypto = frames
    .filter((f) => Number(first(f, 'quic.frame_type')) === FRAME_CRYPTO)
    .map((f) => ({ offset: Number(first(f, 'quic.crypto.offset')), length: Number(first(f, 'quic.crypto.length')) }));
  const pn = first(q, 'quic.packet_number');
  const kp = first(q, 'quic.key_phase');
  const scid = first(q, 'quic.scid');
  const token = first(q, 'quic.token');
  const retryToken = first(q, 'quic.retry_token');
  return {
    ...base,
    conn: `${base.pcap}:${conn ?? '?'}`,
    type,
    ...(version !== undefined ? { version } : {}),
    ...(scid !== undefined ? { scid } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(retryToken !== undefined ? { retryToken } : {}),
    ...(pn !== undefined ? { pn: Number(pn) } : {}),
    ...(kp !== undefined ? { keyPhase: Number(kp) } : {}),
    decrypted: frames.length > 0,
    frameTypes: frames.map((f) => Number(first(f, 'quic.frame_type'))),
    streams,
    crypto,
    tls: objectsOf(q, 'tls.handshake').map(tlsMessage),
    pathChallenges: valuesOf(q, 'quic.path_challenge.data'),
    pathResponses: valuesOf(q, 'quic.path_response.data'),
  };
}

/**
 * Runs tshark over one pcap with the key log and returns its QUIC packets. The client is the
 * sender of the pcap's first datagram (QUIC clients speak first).
 */
export async function readQuicPackets(tshark: string, pcap: string, keylog: string, index = 0): Promise<QuicPacket[]> {
  const out = `${pcap}.json`;
  const args = ['-r', pcap, '-o', `tls.keylog_file:${keylog}`, '-Y', 'quic', '-T', 'json', '--no-duplicate-keys', '-J', 'frame ip ipv6 udp quic', '--disable-protocol', 'http3'];
  const err: Buffer[] = [];
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(tshark, args, { stdio: ['ignore', fs.openSync(out, 'w'), 'pipe'] });
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', () => resolve(-1));
    child.on('exit', (c) => resolve(c));
  });
  if (code !== 0) throw new Error(`tshark -r ${pcap} exited ${code}: ${Buffer.concat(err).toString().trim().slice(0, 300)}`);
  const text = fs.readFileSync(out, 'utf8');
  fs.rmSync(out, { force: true });
  const frames = (text.trim() === '' ? [] : JSON.parse(text)) as Array<{ _source: { layers: { [k: string]: Json } } }>;
  const packets: QuicPacket[] = [];
  let server: string | undefined;
  for (const f of frames) {
    const l = f._source.layers;
    const v6 = l['ipv6'] !== undefined;
    const src = `${first(l[v6 ? 'ipv6' : 'ip'], v6 ? 'ipv6.src' : 'ip.src')}:${first(l['udp'], 'udp.srcport')}`;
    const dst = `${first(l[v6 ? 'ipv6' : 'ip'], v6 ? 'ipv6.dst' : 'ip.dst')}:${first(l['udp'], 'udp.dstport')}`;
    server ??= dst;
    const dir = dst === server ? 'toServer' : 'toClient';
    const quic = l['quic'];
    const list = Array.isArray(quic) ? quic : quic !== undefined ? [quic] : [];
    let conn: string | undefined;
    list.forEach((q, i) => {
      // Skips what is no packet (trailing zeros after coalesced packets: tshark's coalesced padding).
      if (typeof q !== 'object' || Array.isArray(q) || first(q, 'quic.header_form') === undefined) return;
      // tshark names the connection on the first packet of a datagram only; the rest share it.
      conn = first(q, 'quic.connection.number') ?? conn;
      packets.push(
        quicPacket(q, conn, {
          pcap: index,
          frame: Number(first(l['frame'], 'frame.number')),
          t: Number(first(l['frame'], 'frame.time_relative')),
          dir,
          family: v6 ? 'IPv6' : 'IPv4',
          clientEnd: dir === 'toServer' ? src : dst,
          datagramBytes: i === 0 ? Number(first(l['udp'], 'udp.length')) - 8 : 0,
        }),
      );
    });
  }
  return packets;
}

/** Concatenates the case's key logs into one file next to them; returns its path. */
export function mergeKeylogs(files: readonly string[], into: string): string {
  const text = files.filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8')).join('\n');
  fs.writeFileSync(into, text);
  return into;
}

/** What the harness knows about a case that the checks need: never an outcome, only the setup. */
export interface CaseSetup {
  testCase: string;
  /** Handshakes the case makes (connections). */
  handshakes: number;
  /** Bytes of the files the client fetches, all connections together. */
  fileBytes: number;
  /** Files fetched (requests). */
  files: number;
  /** The ALPN the case runs over: `h3` or `hq-interop`. */
  alpn: string;
}

class Mismatch extends Error {}
function need(cond: unknown, reason: string): asserts cond {
  if (!cond) throw new Mismatch(reason);
}

/** Per-connection facts, in order of each connection's first server Initial. */
interface Conn {
  id: string;
  packets: QuicPacket[];
}

function connections(pkts: readonly QuicPacket[]): Conn[] {
  const by = new Map<string, QuicPacket[]>();
  for (const p of pkts) {
    const list = by.get(p.conn) ?? [];
    list.push(p);
    by.set(p.conn, list);
  }
  return [...by.entries()].map(([id, packets]) => ({ id, packets }));
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const streamBytes = (pkts: readonly QuicPacket[], dir: QuicPacket['dir']): number => sum(pkts.filter((p) => p.dir === dir).flatMap((p) => p.streams.map((s) => s.bytes)));
const serverMessages = (pkts: readonly QuicPacket[]): TlsMessage[] => pkts.filter((p) => p.dir === 'toClient').flatMap((p) => p.tls);

/**
 * Judges a case from its decrypted packets, as the runner would. Returns what it saw; throws a
 * message when the capture contradicts the case.
 */
export function judge(setup: CaseSetup, pkts: readonly QuicPacket[]): string {
  const t = setup.testCase;
  need(pkts.length > 0, 'no QUIC packet in the capture');
  const serverInitials = pkts.filter((p) => p.dir === 'toClient' && p.type === 'initial');
  const handshakes = new Set(serverInitials.map((p) => p.scid)).size;
  const undecrypted = pkts.filter((p) => !p.decrypted && p.type !== 'retry' && p.type !== 'vn').length;
  const decrypted = pkts.length - undecrypted - pkts.filter((p) => p.type === 'retry' || p.type === 'vn').length;
  const seen = [`${pkts.length} QUIC packets (${undecrypted} not decrypted)`, `${handshakes} handshake(s)`];
  need(decrypted > 0, `tshark decrypted nothing (key logs missing or wrong?): ${seen.join(', ')}`);
  need(handshakes === setup.handshakes, `${handshakes} handshake(s) (distinct SCIDs of server Initials), expected ${setup.handshakes}`);

  // Versions: v1 everywhere but in v2, where the server's Initials and all Handshake packets are v2.
  const versionsOf = (f: (p: QuicPacket) => boolean): string[] => [...new Set(pkts.filter(f).map((p) => p.version ?? '?'))];
  if (t === 'v2') {
    const clientFirst = pkts.find((p) => p.dir === 'toServer' && p.type === 'initial')?.version;
    const si = versionsOf((p) => p.dir === 'toClient' && p.type === 'initial');
    const hs = versionsOf((p) => p.type === 'handshake');
    const v = `client's first Initial ${clientFirst}, server Initials ${si.join('/')}, Handshake packets ${hs.join('/')}`;
    need(clientFirst === V1, `v2: ${v}`);
    need(si.length === 1 && si[0] === V2 && hs.length === 1 && hs[0] === V2, `not upgraded to v2: ${v}`);
    seen.push(v);
  } else {
    const si = versionsOf((p) => p.dir === 'toClient' && p.type === 'initial');
    need(si.length === 1 && si[0] === V1, `server Initial versions ${si.join(', ')} (expected only ${V1})`);
  }

  // ALPN, from the server's EncryptedExtensions.
  const alpn = [...new Set(serverMessages(pkts).flatMap((m) => m.alpn))];
  if (alpn.length > 0) {
    need(alpn.length === 1 && alpn[0] === setup.alpn, `negotiated ALPN ${alpn.join(', ')} (expected ${setup.alpn})`);
    seen.push(`ALPN ${alpn[0]}`);
  }

  const retries = pkts.filter((p) => p.type === 'retry');
  const conns = connections(pkts).filter((c) => c.packets.some((p) => p.dir === 'toClient' && p.type === 'initial'));
  // Stream data both ways (requests and responses), at least the files' bytes toward the client.
  // Not in retry: the runner does not ask it there, and tshark 4.0.17 decrypted nothing past the
  // client's Initials after a Retry in most pairs (cause not investigated; see interop/README.md).
  const up = streamBytes(pkts, 'toServer');
  const down = streamBytes(pkts, 'toClient');
  if (t !== 'retry') {
    need(up > 0 && down > 0, `STREAM data client → server ${up} B, server → client ${down} B`);
    need(down >= setup.fileBytes, `the server sent ${down} B of STREAM data, less than the ${setup.fileBytes} B of files`);
    seen.push(`STREAM data ${up} B up, ${down} B down`);
  }

  switch (t) {
    case 'handshake':
      need(retries.length === 0, `${retries.length} Retry packet(s) in a no-Retry case`);
      break;
    case 'retry': {
      need(retries.length >= 1, 'no Retry packet from the server');
      const r = retries[0]!;
      const before = pkts.filter((p) => p.dir === 'toServer' && p.type === 'initial' && (p.pcap < r.pcap || (p.pcap === r.pcap && p.frame < r.frame)));
      const after = pkts.filter((p) => p.dir === 'toServer' && p.type === 'initial' && p.pcap === r.pcap && p.frame > r.frame);
      need(after.length > 0, 'no client Initial after the Retry');
      need(after[0]!.token !== undefined && after[0]!.token === r.retryToken, `the client's Initial after the Retry carries token ${after[0]!.token ?? 'none'}, the Retry gave ${r.retryToken}`);
      const maxBefore = Math.max(-1, ...before.map((p) => p.pn ?? -1));
      need((after[0]!.pn ?? -1) > maxBefore, `client packet numbers reset after Retry (${maxBefore} then ${after[0]!.pn})`);
      seen.push(`${retries.length} Retry; next client Initial carries its token, packet number ${maxBefore} → ${after[0]!.pn}`);
      break;
    }
    case 'resumption':
    case 'zerortt': {
      need(conns.length === 2, `${conns.length} connections`);
      const [c1, c2] = conns as [Conn, Conn];
      const certs = (c: Conn): number => serverMessages(c.packets).filter((m) => m.type === TLS_CERTIFICATE).length;
      const psk = (c: Conn): boolean => c.packets.some((p) => p.dir === 'toServer' && p.tls.some((m) => m.type === TLS_CLIENT_HELLO && m.extensions.includes(EXT_PRE_SHARED_KEY)));
      need(certs(c1) > 0, '1st handshake: no Certificate from the server (handshake not decrypted?)');
      need(certs(c2) === 0, `2nd handshake: the server sent a Certificate (not resumed)`);
      need(psk(c2), '2nd ClientHello has no pre_shared_key');
      seen.push('1st handshake with Certificate, 2nd without, its ClientHello with pre_shared_key');
      if (t === 'zerortt') {
        const z = c2.packets.filter((p) => p.dir === 'toServer' && p.type === '0rtt');
        need(z.length > 0, 'no 0-RTT packet from the client');
        need(z.every((p) => p.decrypted), `${z.filter((p) => !p.decrypted).length} of ${z.length} 0-RTT packets not decrypted`);
        const early = new Set(z.flatMap((p) => p.streams.filter((s) => s.id % 4 === 0).map((s) => s.id)));
        const later = new Set(c2.packets.filter((p) => p.dir === 'toServer' && p.type === '1rtt').flatMap((p) => p.streams.filter((s) => s.id % 4 === 0 && !early.has(s.id)).map((s) => s.id)));
        const zBytes = sum(z.flatMap((p) => p.streams.map((s) => s.bytes)));
        need(zBytes > 0, '0-RTT packets carry no STREAM data');
        need(early.size >= later.size, `most requests went in 1-RTT: ${early.size} request streams opened in 0-RTT, ${later.size} in 1-RTT`);
        seen.push(`${z.length} 0-RTT packets, all decrypted, ${zBytes} B of STREAM data; ${early.size} request streams in 0-RTT, ${later.size} in 1-RTT`);
      }
      break;
    }
    case 'chacha20': {
      const offered = pkts.filter((p) => p.dir === 'toServer').flatMap((p) => p.tls.filter((m) => m.type === TLS_CLIENT_HELLO)).flatMap((m) => m.cipherSuites);
      const chosen = serverMessages(pkts).flatMap((m) => m.cipherSuites);
      need(chosen.length > 0 && chosen.every((c) => c === CHACHA20), `the ServerHello chose ${chosen.join(', ') || 'nothing tshark could read'}`);
      need(offered.length > 0 && offered.every((c) => c === CHACHA20), `the ClientHello offered ${[...new Set(offered)].join(', ')}`);
      seen.push('the client offered only TLS_CHACHA20_POLY1305_SHA256, the server chose it');
      break;
    }
    case 'keyupdate': {
      const k1 = (dir: QuicPacket['dir']): number => pkts.filter((p) => p.dir === dir && p.type === '1rtt' && p.decrypted && p.keyPhase === 1).length;
      need(k1('toServer') > 0 && k1('toClient') > 0, `1-RTT packets with key phase 1: client ${k1('toServer')}, server ${k1('toClient')}`);
      seen.push(`key phase 1: ${k1('toServer')} client packets, ${k1('toClient')} server packets`);
      break;
    }
    case 'multiplexing':
    case 'http3': {
      const streams = new Set(pkts.filter((p) => p.dir === 'toServer').flatMap((p) => p.streams.filter((s) => s.id % 4 === 0).map((s) => s.id)));
      need(streams.size >= setup.files, `${streams.size} client bidirectional streams for ${setup.files} files`);
      seen.push(`${streams.size} request streams`);
      if (t === 'multiplexing') {
        const bidi = serverMessages(pkts).find((m) => m.maxStreamsBidi !== undefined)?.maxStreamsBidi;
        need(bidi !== undefined, "the server's transport parameters were not decrypted");
        need(bidi <= 1000, `the server's initial_max_streams_bidi is ${bidi} (> 1000)`);
        seen.push(`server initial_max_streams_bidi ${bidi}`);
      } else need(setup.alpn === 'h3' && alpn[0] === 'h3', `ALPN ${alpn.join(', ') || 'not seen'}, not h3`);
      break;
    }
    case 'longrtt': {
      // A client Initial with a CRYPTO frame at offset 0 is a ClientHello (re)transmission.
      const hellos = pkts.filter((p) => p.dir === 'toServer' && p.type === 'initial' && p.crypto.some((c) => c.offset === 0)).length;
      need(hellos >= 2, `${hellos} ClientHello transmission(s): the client did not retransmit it`);
      seen.push(`${hellos} ClientHellos`);
      break;
    }
    case 'amplificationlimit': {
      need(retries.length === 0, 'the server sent a Retry');
      const hsAt = pkts.find((p) => p.dir === 'toServer' && p.type === 'handshake');
      need(hsAt !== undefined, 'no client Handshake packet');
      const upTo = pkts.filter((p) => p.pcap === hsAt.pcap && p.frame < hsAt.frame);
      const rx = sum(upTo.filter((p) => p.dir === 'toServer').map((p) => p.datagramBytes));
      const tx = sum(upTo.filter((p) => p.dir === 'toClient').map((p) => p.datagramBytes));
      const hsCrypto = sum(pkts.filter((p) => p.dir === 'toClient' && p.type === 'handshake').flatMap((p) => p.crypto.map((c) => c.length)));
      need(hsCrypto >= 7500, `server Handshake CRYPTO data ${hsCrypto} B (< 7500)`);
      need(tx <= 3 * rx, `before the client's first Handshake packet the server sent ${tx} B for ${rx} B received (×${(tx / Math.max(1, rx)).toFixed(2)} > 3)`);
      seen.push(`server Handshake CRYPTO ${hsCrypto} B; before the client's first Handshake packet: ${tx} B sent / ${rx} B received (×${(tx / Math.max(1, rx)).toFixed(2)})`);
      break;
    }
    case 'rebind-port':
    case 'rebind-addr': {
      const paths = [...new Set(pkts.map((p) => p.clientEnd))];
      need(paths.length >= 2, `one path only (${paths.join(', ')})`);
      // The server's first packet on each new path carries PATH_CHALLENGE; every challenge is answered.
      const seenPaths = new Set([pkts[0]!.clientEnd]);
      let unchallenged = 0;
      for (const p of pkts) {
        if (p.dir !== 'toClient' || seenPaths.has(p.clientEnd)) continue;
        seenPaths.add(p.clientEnd);
        if (!p.frameTypes.includes(FRAME_PATH_CHALLENGE)) unchallenged++;
      }
      const challenges = pkts.filter((p) => p.dir === 'toClient' && p.pathChallenges.length > 0);
      const responses = new Set(pkts.filter((p) => p.dir === 'toServer').flatMap((p) => p.pathResponses));
      // A challenge sent to a path the client has left (the relay's old upstream socket, which drops
      // it) cannot be answered: it counts only if the client sent anything on that path afterwards.
      const live = (c: QuicPacket): boolean => pkts.some((p) => p.dir === 'toServer' && p.clientEnd === c.clientEnd && p.pcap === c.pcap && p.frame > c.frame);
      const unanswered = challenges.filter(live).flatMap((c) => c.pathChallenges).filter((d) => !responses.has(d)).length;
      const toOld = challenges.filter((c) => !live(c)).flatMap((c) => c.pathChallenges).length;
      const n = challenges.flatMap((c) => c.pathChallenges).length;
      const v = `${paths.length} paths, ${n} PATH_CHALLENGE from the server (${toOld} to paths the client had left), ${unanswered} unanswered, ${unchallenged} new path(s) whose first server packet had none`;
      need(unchallenged === 0 && n > 0, v);
      need(unanswered === 0, v);
      if (t === 'rebind-addr') {
        const addrs = new Set(paths.map((p) => p.slice(0, p.lastIndexOf(':'))));
        need(addrs.size >= 2, `one client address only (${[...addrs].join(', ')})`);
      }
      seen.push(v);
      break;
    }
    case 'ipv6': {
      const v4 = pkts.filter((p) => p.family === 'IPv4').length;
      need(v4 === 0, `${v4} QUIC packets over IPv4`);
      seen.push('all QUIC packets over IPv6');
      break;
    }
    default:
      break;
  }
  return seen.join('; ');
}

/** Cases the relay's capture cannot judge, with why. */
export const NOT_CHECKABLE: Readonly<Record<string, string>> = {
  connectionmigration: "the client migrates to the server's preferred address directly, around the relay",
  ecn: 'the relay cannot carry or see IP ECN marks (node:dgram exposes no TOS byte), so ecn runs without it',
};

/** Runs the whole cross-check of one case: tshark over each pcap, then {@link judge}. */
export async function crossCheck(setup: CaseSetup, pcaps: readonly string[], keylogs: readonly string[], dir: string): Promise<TsharkVerdict> {
  if (NOT_CHECKABLE[setup.testCase]) return { status: 'not checked', detail: `not checked: ${NOT_CHECKABLE[setup.testCase]}` };
  const tshark = findTshark();
  if (tshark === null) return TSHARK_MISSING;
  if (pcaps.length === 0) return { status: 'not checked', detail: 'not checked: the case ended before any relay ran' };
  const keys = mergeKeylogs(keylogs, path.join(dir, 'keys.log'));
  try {
    const pkts: QuicPacket[] = [];
    for (const [i, f] of pcaps.entries()) pkts.push(...(await readQuicPackets(tshark, f, keys, i)));
    return { status: 'passed', detail: judge(setup, pkts) };
  } catch (e) {
    return { status: 'failed', detail: e instanceof Error ? e.message : String(e) };
  }
}
