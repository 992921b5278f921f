import { QuicError } from '../errors/QuicError';

/** The longest request line the server buffers, CRLF included, before refusing it. 8 KiB. */
export const MAX_HQ_REQUEST_LINE = 8192;

const encoder = new TextEncoder();
const decoder = new TextDecoder('latin1');

/**
 * Builds the bytes of an hq-interop request: `GET <path>\r\n`.
 *
 * @param path The request target: starts with `/`, printable ASCII without spaces.
 * @returns The request line, CRLF included.
 * @throws {QuicError} `InvalidArgument` for a target a server could not parse.
 */
export function formatHqRequest(path: string): Uint8Array {
  if (!/^\/[\x21-\x7e]*$/.test(path)) {
    throw new QuicError('InvalidArgument', `an hq-interop path starts with "/" and holds printable ASCII without spaces, not ${JSON.stringify(path)}`);
  }
  const line = encoder.encode(`GET ${path}\r\n`);
  if (line.length > MAX_HQ_REQUEST_LINE) {
    throw new QuicError('InvalidArgument', `an hq-interop request line is at most ${MAX_HQ_REQUEST_LINE} bytes, not ${line.length}`);
  }
  return line;
}

/**
 * Reads the request target out of an hq-interop request line (`GET /path`, ended by CRLF, LF or
 * the stream's end).
 *
 * Besides the syntax it refuses dot segments (`.` and `..`, also percent-encoded) and segments
 * that decode to a `/`, `\` or NUL, so no handler ever sees a path that climbs out of its root.
 *
 * @param line The bytes up to (not including) the line end.
 * @returns The target as sent, e.g. `/index.html?x=1`.
 * @throws {QuicError} `MessageError` (the code quiche gives a malformed HTTP message) with the reason.
 */
export function parseHqRequest(line: Uint8Array): string {
  const text = decoder.decode(line).replace(/\r$/, '');
  const match = /^GET (\/[\x21-\x7e]*)$/.exec(text);
  if (match === null) throw malformed(`not "GET /path": ${JSON.stringify(text.slice(0, 64))}`);
  const target = match[1]!;
  const pathname = target.split(/[?#]/, 1)[0]!;
  for (const raw of pathname.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw malformed(`bad percent-encoding in ${JSON.stringify(raw)}`);
    }
    if (segment === '.' || segment === '..') throw malformed(`dot segment in ${JSON.stringify(pathname)}`);
    if (/[/\\\0]/.test(segment)) throw malformed(`encoded separator or NUL in ${JSON.stringify(raw)}`);
  }
  return target;
}

function malformed(why: string): QuicError {
  return new QuicError('MessageError', `malformed hq-interop request: ${why}`);
}
