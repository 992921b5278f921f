import type { Incoming, SocketAddress } from '../socket/Incoming';
import { encodeFakeFrames, type FakeFrame } from './FakeFrame';

/** The peer address {@link fakeIncoming} uses unless told otherwise. */
export const FAKE_PEER_ADDRESS: SocketAddress = Object.freeze({ address: '127.0.0.1', port: 50_001, family: 'IPv4' });

/** The local address {@link fakeIncoming} uses unless told otherwise. */
export const FAKE_LOCAL_ADDRESS: SocketAddress = Object.freeze({ address: '127.0.0.1', port: 4_433, family: 'IPv4' });

/** The QUIC v1 version number. */
const QUIC_V1 = 0x0000_0001;

/** The long-header packet types of QUIC v1 (RFC 9000 §17.2), by the name `napi.parseHeader` uses. */
const LONG_TYPES = { initial: 0, zeroRtt: 1, handshake: 2, retry: 3 } as const;

/**
 * Wraps datagram bytes as an {@link Incoming}, as a socket would deliver them.
 *
 * ## Example
 * ```ts
 * const a = fakeIncoming(shortHeaderPacket(Buffer.from('0011223344556677', 'hex')));
 * const b = fakeIncoming(bytes, { peer: { address: '::1', port: 9000 }, gro: 1200 });
 * ```
 *
 * @param buf The datagram (or GRO batch).
 * @param options `peer` (defaults to {@link FAKE_PEER_ADDRESS}), `local` (defaults to
 * {@link FAKE_LOCAL_ADDRESS}), `rxTime` (defaults to `0`), `gro` (the segment size of a batch).
 * @returns The datagram as the router and workers see it.
 */
export function fakeIncoming(
  buf: Uint8Array,
  options: { peer?: SocketAddress; local?: SocketAddress; rxTime?: number; gro?: number } = {},
): Incoming {
  return {
    buf,
    peer: options.peer ?? FAKE_PEER_ADDRESS,
    local: options.local ?? FAKE_LOCAL_ADDRESS,
    rxTime: options.rxTime ?? 0,
    ...(options.gro !== undefined ? { gro: options.gro } : {}),
  };
}

/**
 * A short-header (1-RTT) packet for `dcid`.
 *
 * The header is one byte (fixed bit set), then the DCID; the length of the DCID is not on the
 * wire, as in real short headers. The payload is not encrypted: this is for the router, which only
 * reads the DCID, and for {@link FakeQuicheConnection}.
 *
 * @param dcid The destination connection ID.
 * @param payload What follows the DCID. Defaults to 24 bytes of `0xaa` (a packet number and a tag's worth).
 * @returns The datagram bytes.
 */
export function shortHeaderPacket(dcid: Uint8Array, payload: Uint8Array = Buffer.alloc(24, 0xaa)): Buffer {
  return Buffer.concat([Buffer.from([0x40]), Buffer.from(dcid), Buffer.from(payload)]);
}

/**
 * What {@link longHeaderPacket} builds.
 */
export interface LongHeaderPacketInit {
  /** The packet type. Defaults to `'initial'`. */
  readonly type?: keyof typeof LONG_TYPES;
  /** The version field. Defaults to QUIC v1. */
  readonly version?: number;
  /** The destination connection ID (0 to 20 bytes for v1). */
  readonly dcid: Uint8Array;
  /** The source connection ID. Defaults to 8 bytes of `0x5c`. */
  readonly scid?: Uint8Array;
  /** The token of an Initial. Defaults to none. */
  readonly token?: Uint8Array;
  /** What follows the header. Defaults to 24 bytes of `0xaa`. */
  readonly payload?: Uint8Array;
  /** Pads the datagram with zeros to at least this many bytes (a client Initial is at least 1200). */
  readonly padTo?: number;
}

/**
 * A long-header packet: an Initial, 0-RTT, Handshake or Retry header with the fields you choose.
 *
 * The header parses with `napi.parseHeader` and the router reads its DCID, but nothing is
 * encrypted: quiche itself would drop the packet. Use a real client's first flight
 * (`napi.Connection.connect(...).send(...)`) where a packet must be accepted.
 *
 * ## Example
 * ```ts
 * longHeaderPacket({ dcid: cid, type: 'handshake' });
 * longHeaderPacket({ dcid: cid, version: 0x1a2a3a4a, padTo: 1200 }); // an Initial of an unknown version
 * ```
 *
 * @param init The fields.
 * @returns The datagram bytes.
 */
export function longHeaderPacket(init: LongHeaderPacketInit): Buffer {
  const type = LONG_TYPES[init.type ?? 'initial'];
  const scid = init.scid ?? Buffer.alloc(8, 0x5c);
  const payload = Buffer.from(init.payload ?? Buffer.alloc(24, 0xaa));
  const version = Buffer.alloc(4);
  version.writeUInt32BE(init.version ?? QUIC_V1, 0);
  const parts: Buffer[] = [
    // Header form and fixed bit, the type, and a 1-byte packet number length.
    Buffer.from([0xc0 | (type << 4)]),
    version,
    Buffer.from([init.dcid.length]),
    Buffer.from(init.dcid),
    Buffer.from([scid.length]),
    Buffer.from(scid),
  ];
  if (init.type === undefined || init.type === 'initial') {
    const token = Buffer.from(init.token ?? Buffer.alloc(0));
    parts.push(varint(token.length), token);
  }
  if (init.type === 'retry') {
    parts.push(payload);
  } else {
    parts.push(varint(payload.length), payload);
  }
  const datagram = Buffer.concat(parts);
  const padTo = init.padTo ?? 0;
  return datagram.length >= padTo ? datagram : Buffer.concat([datagram, Buffer.alloc(padTo - datagram.length)]);
}

/**
 * A fake datagram for `dcid` carrying {@link FakeFrame}s, for a {@link FakeQuicheConnection}.
 *
 * ## Example
 * ```ts
 * fakePacket(cid, [handshakeDoneFrame(), streamFrame(0, 'hello', true)]);
 * ```
 *
 * @param dcid The destination connection ID the router routes it by.
 * @param frames The frames (one or several).
 * @returns The datagram bytes: a short header, then the encoded frames.
 */
export function fakePacket(dcid: Uint8Array, frames: FakeFrame | readonly FakeFrame[]): Buffer {
  const list = Array.isArray(frames) ? (frames as readonly FakeFrame[]) : [frames as FakeFrame];
  return shortHeaderPacket(dcid, encodeFakeFrames(list));
}

/** A QUIC variable-length integer (RFC 9000 §16), for lengths below 2^30. */
function varint(n: number): Buffer {
  if (n < 0x40) return Buffer.from([n]);
  if (n < 0x4000) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(0x8000_0000 + n, 0);
  return b;
}
