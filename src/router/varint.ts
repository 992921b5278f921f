/**
 * Decodes the QUIC variable-length integer (RFC 9000 §16) at the start of `buf` (non-minimal
 * encodings accepted).
 *
 * @returns `[value, length]`, or `null` when `buf` is too short.
 */
export function decodeVarint(buf: Uint8Array): [number, number] | null {
  if (buf.length === 0) return null;
  const length = 1 << (buf[0]! >> 6);
  if (buf.length < length) return null;
  let value = buf[0]! & 0x3f;
  for (let i = 1; i < length; i++) value = value * 256 + buf[i]!;
  return [value, length];
}
