import { randomBytes, randomInt } from 'node:crypto';

import { napi } from '../../src/native/binding';
import {
  CID_LEN,
  CLIENT_ADDRESS,
  NativePair,
  SERVER_ADDRESS,
  newCid,
  serverConfigOptions,
  testCertificates,
} from '../helpers/nativePair';

/** Every `code` the addon may give a datagram it refuses (quiche's error names). */
const DATAGRAM_ERRORS = new Set([
  'BufferTooShort',
  'InvalidPacket',
  'InvalidFrame',
  'InvalidState',
  'UnknownVersion',
  'CryptoFail',
  'TlsFail',
  'InvalidTransportParam',
  'InvalidDcidInitialization',
]);

const HEADER_TYPES = new Set(['initial', 'retry', 'handshake', 'zeroRtt', 'versionNegotiation', 'short']);

/** Calls `fn`; returns `null` when it returned, or the code it threw, failing on an untyped error. */
function outcome(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string' || !DATAGRAM_ERRORS.has(code)) {
      throw new Error(`untyped error ${String(code)}: ${(e as Error).message}`);
    }
    return code;
  }
}

/** Random junk that looks like QUIC often enough to get past the first checks. */
function junk(i: number, dcid: Buffer): Buffer {
  const size = randomInt(0, 1500);
  const buf = randomBytes(size);
  switch (i % 4) {
    case 0: // anything at all
      return buf;
    case 1: // a short header addressed to the connection
      if (size > 1 + dcid.length) {
        buf[0] = 0x40 | (buf[0]! & 0x3f);
        dcid.copy(buf, 1);
      }
      return buf;
    case 2: // a QUIC v1 long header with plausible lengths
      if (size > 7) {
        buf[0] = 0xc0 | (buf[0]! & 0x3f);
        buf.writeUInt32BE(napi.PROTOCOL_VERSION, 1);
        buf[5] = randomInt(0, 21);
      }
      return buf;
    default: // a long header addressed to the connection
      if (size > 7 + dcid.length) {
        buf[0] = 0xc0 | (buf[0]! & 0x3f);
        buf.writeUInt32BE(napi.PROTOCOL_VERSION, 1);
        buf[5] = dcid.length;
        dcid.copy(buf, 6);
      }
      return buf;
  }
}

describe('native fuzzing with junk datagrams', () => {
  const certs = testCertificates();

  it('should parse or refuse with a typed error any datagram given to parseHeader', () => {
    const codes = new Map<string, number>();
    for (let i = 0; i < 4000; i += 1) {
      const datagram = junk(i, newCid());
      let header: napi.Header | undefined;
      const code = outcome(() => {
        header = napi.parseHeader(datagram, randomInt(0, 21));
      });
      if (code !== null) codes.set(code, (codes.get(code) ?? 0) + 1);
      else expect(HEADER_TYPES.has(header?.type ?? '')).toBe(true);
    }
    // Both refusals actually happened.
    expect([...codes.keys()].sort()).toEqual(['BufferTooShort', 'InvalidPacket']);
  });

  it('should parse or refuse every truncation of real packets', () => {
    const pair = NativePair.connect();
    const flight = NativePair.capture(pair.client)?.datagrams ?? [];
    for (const d of flight) pair.server.recv(d, CLIENT_ADDRESS, SERVER_ADDRESS);
    const answer = NativePair.capture(pair.server)?.datagrams ?? [];
    for (const datagram of [...flight, ...answer]) {
      for (let length = 0; length <= datagram.length; length += 1) {
        outcome(() => napi.parseHeader(datagram.subarray(0, length), CID_LEN));
      }
    }
    expect(answer.length).toBeGreaterThan(0);
  });

  it('should drop junk sent to an established connection, which keeps working', () => {
    const pair = NativePair.connect();
    pair.handshake();
    let refused = 0;
    for (let i = 0; i < 3000; i += 1) {
      const target = i % 2 === 0 ? pair.client : pair.server;
      const [from, to] = target === pair.client ? [SERVER_ADDRESS, CLIENT_ADDRESS] : [CLIENT_ADDRESS, SERVER_ADDRESS];
      const datagram = junk(i, target.sourceId());
      if (outcome(() => target.recv(datagram, from, to)) !== null) refused += 1;
    }
    // Unauthenticated junk is dropped without a word once a connection is under way (RFC 9000 §12.2).
    expect(refused).toBe(0);
    expect(pair.client.localError()).toBeNull();
    expect(pair.server.localError()).toBeNull();

    pair.client.streamSend(0, Buffer.from('still here'), true);
    pair.advance();
    const buf = new Uint8Array(32);
    expect(pair.server.streamRecv(0, buf)).toEqual({ bytes: 10, fin: true });
    expect(pair.client.isClosed() || pair.server.isClosed()).toBe(false);
  });

  it('should refuse with a typed error or drop junk and truncated Initials sent to a new server', () => {
    const serverConfig = new napi.Config(serverConfigOptions(certs));
    const client = NativePair.connect().client;
    const initial = NativePair.capture(client)?.datagrams[0] ?? Buffer.alloc(0);
    const fresh = () => napi.Connection.accept(newCid(), null, SERVER_ADDRESS, CLIENT_ADDRESS, serverConfig);

    const codes = new Set<string>();
    // Every truncation of a real Initial, then junk: each to a new server.
    const inputs = [
      ...Array.from({ length: initial.length }, (_, n) => initial.subarray(0, n)),
      ...Array.from({ length: 1000 }, (_, i) => junk(i, newCid())),
    ];
    for (const datagram of inputs) {
      const server = fresh();
      const code = outcome(() => server.recv(Buffer.from(datagram), CLIENT_ADDRESS, SERVER_ADDRESS));
      if (code !== null) {
        codes.add(code);
        // quiche has a CONNECTION_CLOSE queued, or nothing (it never sent anything yet).
        expect(server.isEstablished()).toBe(false);
      }
    }
    // A truncated Initial is shorter than its own length field says: it fails to parse. (Junk
    // only reaches decryption by chance, so CryptoFail is not required of it: that made this spec
    // fail now and then.)
    expect([...codes]).toEqual(expect.arrayContaining(['BufferTooShort']));

    // A whole Initial with one payload byte flipped parses but fails to authenticate.
    const tampered = Buffer.from(initial);
    tampered[tampered.length - 20]! ^= 0x01;
    expect(outcome(() => fresh().recv(tampered, CLIENT_ADDRESS, SERVER_ADDRESS))).toBe('CryptoFail');

    // The whole Initial is still an Initial.
    const server = fresh();
    expect(server.recv(Buffer.from(initial), CLIENT_ADDRESS, SERVER_ADDRESS)).toBe(initial.length);
  });
});
