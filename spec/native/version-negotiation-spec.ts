import { napi } from '../../src/native/binding';
import {
  CLIENT_ADDRESS,
  NativePair,
  SERVER_ADDRESS,
  SERVER_NAME,
  clientConfigOptions,
  newCid,
  testCertificates,
  thrown,
} from '../helpers/nativePair';

/** A reserved ("greased") version no one speaks: 0x?a?a?a?a (RFC 9000 §15). */
const UNKNOWN_VERSION = 0x1a2a3a4a;

/** A long-header Initial of `version`, padded to 1200 bytes: the QUIC invariants and nothing else. */
function craftInitial(version: number, dcid: Buffer, scid: Buffer): Buffer {
  const header = Buffer.alloc(7);
  header[0] = 0xc0; // long header, fixed bit, type Initial
  header.writeUInt32BE(version, 1);
  return Buffer.concat([
    header.subarray(0, 5),
    Buffer.from([dcid.length]),
    dcid,
    Buffer.from([scid.length]),
    scid,
    Buffer.from([0x00]), // token length 0
    Buffer.alloc(1200 - 5 - 2 - dcid.length - scid.length - 1, 0xab),
  ]);
}

describe('native version negotiation', () => {
  it('should parse an Initial of an unknown version and answer it with a version negotiation packet', () => {
    const dcid = Buffer.from('0011223344556677', 'hex');
    const scid = Buffer.from('8899aabbccddeeff', 'hex');
    const packet = craftInitial(UNKNOWN_VERSION, dcid, scid);

    const header = napi.parseHeader(packet, 8);
    expect(header.type).toBe('initial');
    expect(header.version).toBe(UNKNOWN_VERSION);
    expect(header.dcid).toEqual(dcid);
    expect(header.scid).toEqual(scid);
    expect(napi.versionIsSupported(header.version)).toBe(false);
    expect(napi.versionIsSupported(napi.PROTOCOL_VERSION)).toBe(true);
    expect(napi.versionIsSupported(0)).toBe(false);

    const out = new Uint8Array(1500);
    const length = napi.negotiateVersion(header.scid, header.dcid, out);
    const vn = Buffer.from(out.subarray(0, length));
    expect(vn[0]! & 0x80).toBe(0x80);
    expect(vn.readUInt32BE(1)).toBe(0);

    // The answer goes back to the client: its SCID becomes our DCID and the other way round.
    const parsed = napi.parseHeader(vn, 8);
    expect(parsed.type).toBe('versionNegotiation');
    expect(parsed.version).toBe(0);
    expect(parsed.dcid).toEqual(scid);
    expect(parsed.scid).toEqual(dcid);
    expect(parsed.versions).toContain(napi.PROTOCOL_VERSION);
    expect(parsed.versions?.every((v) => napi.versionIsSupported(v) || (v & 0x0f0f0f0f) === 0x0a0a0a0a)).toBe(true);
  });

  it('should refuse to write a version negotiation packet into a buffer too small for it', () => {
    const error = thrown(() => napi.negotiateVersion(newCid(), newCid(), new Uint8Array(20)));
    expect(error.code).toBe('BufferTooShort');
  });

  it('should let a client that started with an unknown version finish the handshake in QUIC v1', () => {
    const pair = NativePair.connect({ client: { version: UNKNOWN_VERSION } });

    // The server side of an endpoint: the first packet is of a version quiche does not speak.
    const first = NativePair.capture(pair.client);
    const initial = first?.datagrams[0] ?? Buffer.alloc(0);
    const header = napi.parseHeader(initial, 16);
    expect(header.version).toBe(UNKNOWN_VERSION);
    expect(napi.versionIsSupported(header.version)).toBe(false);
    const out = new Uint8Array(1500);
    const length = napi.negotiateVersion(header.scid, header.dcid, out);
    pair.client.recv(out.subarray(0, length), SERVER_ADDRESS, CLIENT_ADDRESS);

    // The client starts over in v1; the rest is an ordinary handshake.
    const retried = NativePair.capture(pair.client);
    expect(napi.parseHeader(retried?.datagrams[0] ?? Buffer.alloc(0), 16).version).toBe(napi.PROTOCOL_VERSION);
    for (const d of retried?.datagrams ?? []) pair.server.recv(d, CLIENT_ADDRESS, SERVER_ADDRESS);
    pair.handshake();
    expect(pair.client.isEstablished()).toBe(true);
    expect(pair.server.isEstablished()).toBe(true);
  });

  it('should drop a version negotiation packet that lists the version in use', () => {
    const client = napi.Connection.connect(
      SERVER_NAME,
      newCid(),
      CLIENT_ADDRESS,
      SERVER_ADDRESS,
      new napi.Config(clientConfigOptions(testCertificates())),
    );
    const initial = NativePair.capture(client)?.datagrams[0] ?? Buffer.alloc(0);
    const header = napi.parseHeader(initial, 16);
    const out = new Uint8Array(1500);
    const length = napi.negotiateVersion(header.scid, header.dcid, out);

    // RFC 9000 §6.2: a client MUST discard a VN packet that lists the version it chose.
    expect(() => client.recv(out.subarray(0, length), SERVER_ADDRESS, CLIENT_ADDRESS)).not.toThrow();
    expect(client.isClosed()).toBe(false);
    expect(client.localError()).toBeNull();
  });
});
