/**
 * The "frames" that {@link FakeQuicheConnection} reads from and writes into datagrams.
 *
 * They are not QUIC frames on the wire: a fake datagram is a real short-header packet (so the
 * router can route it by its DCID) whose payload is a marker and a JSON body. Some name a QUIC
 * frame (`stream`, `datagram`, `connectionClose`, `resetStream`, `stopSending`, `ping`); two script
 * what real quiche does on its own (`handshakeDone` completes the handshake, `earlyData` puts a
 * server in 0-RTT).
 */

/**
 * One event a fake datagram carries.
 *
 * Byte payloads are `Buffer`s, so `toEqual` and {@link observableMatcher} compare them by content.
 */
export type FakeFrame =
  /** Stream data (and the FIN) from the sender. */
  | { readonly type: 'stream'; readonly streamId: number; readonly data: Buffer; readonly fin: boolean }
  /** A DATAGRAM frame (RFC 9221). */
  | { readonly type: 'datagram'; readonly data: Buffer }
  /** A CONNECTION_CLOSE: an application close (`isApp`) or a transport one. */
  | { readonly type: 'connectionClose'; readonly isApp: boolean; readonly errorCode: number; readonly reason: string }
  /** RESET_STREAM: the sender abandoned its side of the stream. */
  | { readonly type: 'resetStream'; readonly streamId: number; readonly errorCode: number }
  /** STOP_SENDING: the sender will not read the stream. */
  | { readonly type: 'stopSending'; readonly streamId: number; readonly errorCode: number }
  /** A PING (what `sendAckEliciting()` queues). */
  | { readonly type: 'ping' }
  /** Completes the handshake of the connection that receives it. */
  | { readonly type: 'handshakeDone' }
  /** Puts the server that receives it in 0-RTT early data (not yet established). */
  | { readonly type: 'earlyData' };

/** The marker that starts the payload of a fake datagram. */
const MARKER = Buffer.from('rxjs-quiche/fake:');

/** A FakeFrame as JSON: byte payloads in base64. */
type EncodedFrame = Record<string, unknown>;

/**
 * A `stream` frame.
 *
 * @param streamId The stream.
 * @param data The bytes; a string is UTF-8 encoded.
 * @param fin Whether this ends the stream. Defaults to `false`.
 */
export function streamFrame(streamId: number, data: string | Uint8Array, fin = false): FakeFrame {
  return { type: 'stream', streamId, data: toBuffer(data), fin };
}

/**
 * A `datagram` frame.
 *
 * @param data The bytes; a string is UTF-8 encoded.
 */
export function datagramFrame(data: string | Uint8Array): FakeFrame {
  return { type: 'datagram', data: toBuffer(data) };
}

/**
 * A `connectionClose` frame.
 *
 * @param init `isApp` (defaults to `true`), `errorCode` (defaults to `0`), `reason` (defaults to `''`).
 */
export function connectionCloseFrame(init: { isApp?: boolean; errorCode?: number; reason?: string } = {}): FakeFrame {
  return { type: 'connectionClose', isApp: init.isApp ?? true, errorCode: init.errorCode ?? 0, reason: init.reason ?? '' };
}

/**
 * A `resetStream` frame.
 *
 * @param streamId The stream.
 * @param errorCode The application error code.
 */
export function resetStreamFrame(streamId: number, errorCode: number): FakeFrame {
  return { type: 'resetStream', streamId, errorCode };
}

/**
 * A `stopSending` frame.
 *
 * @param streamId The stream.
 * @param errorCode The application error code.
 */
export function stopSendingFrame(streamId: number, errorCode: number): FakeFrame {
  return { type: 'stopSending', streamId, errorCode };
}

/** A `handshakeDone` frame: the receiving fake connection becomes established. */
export function handshakeDoneFrame(): FakeFrame {
  return { type: 'handshakeDone' };
}

/** An `earlyData` frame: the receiving fake server enters 0-RTT. */
export function earlyDataFrame(): FakeFrame {
  return { type: 'earlyData' };
}

/**
 * Writes frames as the payload of a fake datagram (after its header).
 *
 * @param frames The frames, in order.
 * @returns The payload bytes.
 */
export function encodeFakeFrames(frames: readonly FakeFrame[]): Buffer {
  const body = frames.map((frame): EncodedFrame => {
    if ('data' in frame) return { ...frame, data: frame.data.toString('base64') };
    return { ...frame };
  });
  return Buffer.concat([MARKER, Buffer.from(JSON.stringify(body))]);
}

/**
 * Reads the frames of a fake datagram.
 *
 * @param datagram A whole datagram (header included).
 * @returns Its frames, or `null` when it is not a fake datagram (a real QUIC packet, junk).
 */
export function decodeFakeFrames(datagram: Uint8Array): FakeFrame[] | null {
  const buf = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const at = buf.indexOf(MARKER);
  if (at < 0) return null;
  // Zero bytes after the body are padding (PADDING frames in a real packet, a GRO segment's tail).
  let end = buf.length;
  while (end > at && buf[end - 1] === 0) end--;
  let body: unknown;
  try {
    body = JSON.parse(buf.subarray(at + MARKER.length, end).toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(body)) return null;
  return body.map((frame: EncodedFrame) =>
    typeof frame.data === 'string' ? ({ ...frame, data: Buffer.from(frame.data, 'base64') } as FakeFrame) : (frame as FakeFrame),
  );
}

function toBuffer(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
}
