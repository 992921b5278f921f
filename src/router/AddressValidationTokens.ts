import { randomBytes, timingSafeEqual } from 'node:crypto';

import { napi } from '../native/binding';

import type { SocketAddress } from '../socket/Incoming';

// Token layout: expiry (8 bytes, ms since the epoch) | HMAC-SHA256 (32 bytes) | original DCID.
const EXPIRY_LEN = 8;
const MAC_LEN = 32;
const MAX_CID_LEN = 20;

// What the MAC covers: expiry | the address's length (1 byte) | the address as text | original DCID.
// The length keeps the address and the DCID apart: without it, a token for 10.0.0.1 whose DCID
// starts with the byte '2' would also pass from 10.0.0.12. Shared: each MAC is computed at once.
let macInput = Buffer.allocUnsafe(EXPIRY_LEN + 1 + 64 + MAX_CID_LEN);

/**
 * Mints and checks the address-validation tokens a server puts in Retry packets: tokio-quiche's
 * `AddrValidationTokenManager`, with an expiry.
 *
 * A token binds the client's IP address and the original destination connection ID under an
 * HMAC-SHA256 key that is random per listener; unlike tokio-quiche's, it also carries an expiry
 * covered by the MAC, so a captured token cannot be replayed later.
 */
export class AddressValidationTokens {
  private readonly key: Buffer;

  /**
   * @param lifetime How long a token stays valid, in ms. Defaults to `60_000`.
   * @param now The clock. Defaults to `Date.now`.
   * @param key The HMAC key. Defaults to 32 random bytes.
   */
  constructor(
    private readonly lifetime = 60_000,
    private readonly now: () => number = Date.now,
    key?: Uint8Array,
  ) {
    this.key = key ? Buffer.from(key) : randomBytes(32);
  }

  /** A token for `peer` that carries `odcid`. */
  mint(peer: SocketAddress, odcid: Uint8Array): Buffer {
    const token = Buffer.allocUnsafe(EXPIRY_LEN + MAC_LEN + odcid.length);
    token.writeBigUInt64BE(BigInt(Math.floor(this.now() + this.lifetime)), 0);
    this.mac(token.subarray(0, EXPIRY_LEN), peer, odcid, token.subarray(EXPIRY_LEN, EXPIRY_LEN + MAC_LEN));
    token.set(odcid, EXPIRY_LEN + MAC_LEN);
    return token;
  }

  /**
   * Checks a token from `peer`.
   *
   * @returns The original destination connection ID it carries, or `null` when it is malformed,
   * forged, for another address, or expired.
   */
  validate(peer: SocketAddress, token: Uint8Array): Uint8Array | null {
    if (token.length < EXPIRY_LEN + MAC_LEN || token.length > EXPIRY_LEN + MAC_LEN + MAX_CID_LEN) return null;
    const buf = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
    const expiry = Number(buf.readBigUInt64BE(0));
    const odcid = buf.subarray(EXPIRY_LEN + MAC_LEN);
    const expected = Buffer.allocUnsafe(MAC_LEN);
    this.mac(buf.subarray(0, EXPIRY_LEN), peer, odcid, expected);
    if (!timingSafeEqual(expected, buf.subarray(EXPIRY_LEN, EXPIRY_LEN + MAC_LEN))) return null;
    if (this.now() > expiry) return null;
    return Uint8Array.from(odcid);
  }

  /** Writes the MAC of a token's fields into `out` (32 bytes). */
  private mac(expiry: Uint8Array, peer: SocketAddress, odcid: Uint8Array, out: Uint8Array): void {
    // An address as Node writes one is ASCII: at most 45 characters, more with an IPv6 zone.
    const addressLength = Math.min(Buffer.byteLength(peer.address, 'latin1'), 255);
    const length = EXPIRY_LEN + 1 + addressLength + odcid.length;
    if (macInput.length < length) macInput = Buffer.allocUnsafe(length);
    macInput.set(expiry, 0);
    macInput[EXPIRY_LEN] = addressLength;
    macInput.write(peer.address, EXPIRY_LEN + 1, addressLength, 'latin1');
    macInput.set(odcid, EXPIRY_LEN + 1 + addressLength);
    napi.hmacSha256(this.key, macInput.subarray(0, length), out);
  }
}
