/**
 * Field sections as the batched native HTTP/3 calls carry them (`pollEvents`, `send…Encoded`):
 * a u32 LE field count, then for each field a u32 LE name length, the name, a u32 LE value length
 * and the value, every octet one Latin-1 character. Internal.
 *
 * Building this in a reused buffer costs no native object per header and no property reads on the
 * native side, which the `H3Header[]` calls did for every field.
 */
import { QuicError } from '../errors/QuicError';
import type { H3Header } from './H3Headers';

// Strings at least this long are written with one Buffer.write call after a regex check; shorter
// ones (nearly every name and value) by a loop that checks and copies each character at once.
const LONG_STRING = 64;
const OUTSIDE_LATIN1 = /[^\u0000-\u00ff]/;

// Names and values most messages carry: decoded as these strings rather than made afresh (a call
// into C++ each) and hashed again wherever they are looked up.
const COMMON_STRINGS = [
  ':method', ':scheme', ':authority', ':path', ':status', ':protocol', 'user-agent', 'accept', 'accept-encoding',
  'accept-language', 'content-length', 'content-type', 'cookie', 'host', 'priority', 'referer', 'te', 'cache-control',
  'date', 'server', 'etag', 'last-modified', 'location', 'set-cookie', 'origin', 'if-none-match', 'if-modified-since',
  'range', 'authorization', 'vary', 'GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'https', 'http', '/',
  '200', '204', '206', '304', '404', '*/*', 'trailers', 'localhost',
];
// COMMON_STRINGS by length.
const COMMON_BY_LENGTH: string[][] = [];
for (const c of COMMON_STRINGS) (COMMON_BY_LENGTH[c.length] ??= []).push(c);

// The buffer sections are encoded into: the native call copies what it needs at once, so one
// buffer serves every connection (JavaScript runs one call at a time).
let encodeBuffer = Buffer.allocUnsafe(4096);

/**
 * Encodes a header list into the shared buffer, which stays valid until the next call.
 *
 * @param headers The fields, names and values as Latin-1 strings.
 * @returns The shared buffer, the section at its start (the bytes after it are ignored).
 * @throws {QuicError} `InvalidArgument` when a name or value has a character outside Latin-1, as
 * the `H3Header[]` calls do.
 */
export function encodeFieldSection(headers: readonly H3Header[]): Buffer {
  let size = 4;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    size += 8 + h.name.length + h.value.length;
  }
  if (encodeBuffer.length < size) encodeBuffer = Buffer.allocUnsafe(Math.max(size, encodeBuffer.length * 2));
  const buf = encodeBuffer;
  buf.writeUInt32LE(headers.length, 0);
  let at = 4;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    at = writeString(buf, at, h.name, 'name');
    at = writeString(buf, at, h.value, 'value');
  }
  return buf;
}

/** Writes a length-prefixed Latin-1 string at `at`; returns the offset after it. */
function writeString(buf: Buffer, at: number, s: string, what: 'name' | 'value'): number {
  const n = s.length;
  buf[at] = n & 0xff;
  buf[at + 1] = (n >>> 8) & 0xff;
  buf[at + 2] = (n >>> 16) & 0xff;
  buf[at + 3] = n >>> 24;
  at += 4;
  if (n >= LONG_STRING) {
    if (OUTSIDE_LATIN1.test(s)) throw outsideLatin1(what, s);
    buf.write(s, at, n, 'latin1');
    return at + n;
  }
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw outsideLatin1(what, s);
    buf[at + i] = c;
  }
  return at + n;
}

function outsideLatin1(what: string, s: string): QuicError {
  return new QuicError('InvalidArgument', `header ${what} ${JSON.stringify(s)} has a character outside Latin-1`);
}

/**
 * One decoded field: an {@link H3Header} made by a constructor rather than an object literal (see
 * {@link decodeFieldSection}).
 */
class DecodedField implements H3Header {
  constructor(
    readonly name: string,
    readonly value: string,
  ) {}
}

/**
 * Decodes the section `pollEvents` wrote at `[start, end)` of `buf`.
 *
 * The list comes from `new Array()` and its fields from a constructor, not from `[]` and `{…}`
 * literals: V8 tracks a literal's allocation site and, in a process whose heap is large, decided
 * from a few samples to allocate these two sites' objects straight in the old generation (71,125 of
 * 72,000 lists and 177,806 of 180,000 fields in a request loop, with 2 million live objects
 * preloaded). Each request's dead header list then kept its young strings alive, and scavenges
 * promoted ~330 KB per 1,000 requests instead of ~2.
 *
 * @param buf The bytes `pollEvents` filled.
 * @param start Where the section starts.
 * @param end Where it ends.
 * @returns A new header list.
 */
export function decodeFieldSection(buf: Buffer, start: number, end: number): H3Header[] {
  const count = u32(buf, start);
  const list: H3Header[] = new Array<H3Header>();
  let at = start + 4;
  for (let i = 0; i < count && at < end; i++) {
    const nameLength = u32(buf, at);
    const name = readString(buf, at + 4, nameLength);
    at += 4 + nameLength;
    const valueLength = u32(buf, at);
    const value = readString(buf, at + 4, valueLength);
    at += 4 + valueLength;
    list.push(new DecodedField(name, value));
  }
  return list;
}

function u32(buf: Buffer, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

/** The Latin-1 string of `length` bytes at `at`: a common one if it is, else a new one. */
function readString(buf: Buffer, at: number, length: number): string {
  const candidates = COMMON_BY_LENGTH[length];
  if (candidates !== undefined) {
    for (let c = 0; c < candidates.length; c++) {
      const s = candidates[c]!;
      let i = 0;
      while (i < length && buf[at + i] === s.charCodeAt(i)) i++;
      if (i === length) return s;
    }
  }
  return buf.toString('latin1', at, at + length);
}
