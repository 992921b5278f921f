/**
 * Connection ID helpers for the router's hot path: reading a datagram's destination connection ID
 * without crossing into native code, and turning CIDs into map keys.
 */

import { decodeVarint } from './varint';

/** The longest connection ID QUIC v1 allows. */
export const MAX_CONN_ID_LEN = 20;

/**
 * Reads the destination connection ID of the first packet in a datagram.
 *
 * Long headers carry the DCID's length; short headers do not, so the caller says how long its own
 * connection IDs are.
 *
 * @param buf The datagram.
 * @param shortHeaderCidLen The length of our connection IDs.
 * @returns A view of the DCID inside `buf`, or `null` when the datagram is too short to hold one.
 */
export function dcidOf(buf: Uint8Array, shortHeaderCidLen: number): Uint8Array | null {
  if (buf.length < 1) return null;
  const first = buf[0]!;
  if ((first & 0x80) === 0) {
    // Short header: flags, then the DCID.
    if (buf.length < 1 + shortHeaderCidLen) return null;
    return buf.subarray(1, 1 + shortHeaderCidLen);
  }
  // Long header: flags, 4 bytes of version, DCID length, DCID.
  if (buf.length < 6) return null;
  const len = buf[5]!;
  if (len > MAX_CONN_ID_LEN || buf.length < 6 + len) return null;
  return buf.subarray(6, 6 + len);
}

/** Whether the datagram starts with a long header packet. */
export function isLongHeader(buf: Uint8Array): boolean {
  return buf.length > 0 && (buf[0]! & 0x80) !== 0;
}

/**
 * A connection ID as a map key: one character per byte, so lookups cost no hex encoding.
 */
export function cidKey(cid: Uint8Array): string {
  return String.fromCharCode.apply(null, cid as unknown as number[]);
}

/** A connection ID as lowercase hex, for logs, qlog file names and trace ids. */
export function cidHex(cid: Uint8Array): string {
  return Buffer.from(cid.buffer, cid.byteOffset, cid.byteLength).toString('hex');
}

/** The version-independent fields of a long header (RFC 8999 §5.1). */
export interface LongHeaderInvariants {
  readonly version: number;
  readonly dcid: Uint8Array;
  readonly scid: Uint8Array;
}

/**
 * Reads the fields every QUIC version's long header shares (RFC 8999 §5.1): the version and both
 * connection IDs. What follows them depends on the version, so this is all a server may read of a
 * packet of a version it does not speak, e.g. to answer it with version negotiation.
 *
 * @param buf The datagram.
 * @returns The fields, or `null` for a short header or a datagram too short to hold them.
 */
export function longHeaderInvariants(buf: Uint8Array): LongHeaderInvariants | null {
  if (!isLongHeader(buf) || buf.length < 7) return null;
  const version = ((buf[1]! << 24) | (buf[2]! << 16) | (buf[3]! << 8) | buf[4]!) >>> 0;
  const dcidLen = buf[5]!;
  const scidLenAt = 6 + dcidLen;
  if (buf.length < scidLenAt + 1) return null;
  const scidLen = buf[scidLenAt]!;
  if (buf.length < scidLenAt + 1 + scidLen) return null;
  return {
    version,
    dcid: buf.subarray(6, scidLenAt),
    scid: buf.subarray(scidLenAt + 1, scidLenAt + 1 + scidLen),
  };
}

/** QUIC v2's version number (RFC 9369), whose long-header packet types are renumbered. */
const QUIC_V2 = 0x6b3343cf;

/**
 * Whether a datagram (or each datagram of a GRO train of `segment`-byte datagrams) carries a
 * long-header Handshake packet, walking coalesced packets by their Length fields. Header bytes only,
 * unauthenticated: for the worker's own anti-amplification account, which quiche backs with its
 * decrypted view.
 *
 * @param buf The received bytes.
 * @param segment The GRO segment size; 0 or absent for one datagram.
 * @returns True when some datagram holds a Handshake packet (QUIC v1 or v2).
 */
export function hasHandshakePacket(buf: Uint8Array, segment = 0): boolean {
  const step = segment > 0 ? segment : buf.length;
  for (let start = 0; start < buf.length; start += step) {
    const end = Math.min(start + step, buf.length);
    let at = start;
    while (at < end) {
      const header = longHeaderInvariants(buf.subarray(at, end));
      if (header === null) break; // a short header runs to the end of the datagram
      const { version, scid } = header;
      const type = (buf[at]! >> 4) & 0x3;
      if (version === 1 ? type === 2 : version === QUIC_V2 && type === 3) return true;
      const initial = version === 1 ? type === 0 : version === QUIC_V2 && type === 1;
      const retry = version === 1 ? type === 3 : version === QUIC_V2 && type === 0;
      if (version === 0 || retry) break;
      // Past the SCID: the token (Initial only), then the Length field.
      let p = scid.byteOffset - buf.byteOffset + scid.length;
      if (initial) {
        const token = decodeVarint(buf.subarray(p, end));
        if (token === null) break;
        p += token[1] + token[0];
      }
      const length = decodeVarint(buf.subarray(p, end));
      if (length === null) break;
      at = p + length[1] + length[0];
    }
  }
  return false;
}
