import { createHmac, randomBytes } from 'node:crypto';

import { napi } from '../../src/native/binding';
import {
  CID_LEN,
  CLIENT_ADDRESS,
  NativePair,
  SERVER_ADDRESS,
  SERVER_NAME,
  clientConfigOptions,
  newCid,
  serverConfigOptions,
  testCertificates,
} from '../helpers/nativePair';

/** A toy address-validation token: the client's address and its original DCID. */
function mintToken(peer: napi.SocketAddress, odcid: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`rxjs-quiche ${peer.address}:${peer.port} `), odcid]);
}

/** The original DCID from a token, or `null` when the token was not minted for `peer`. */
function validateToken(peer: napi.SocketAddress, token: Buffer): Buffer | null {
  const prefix = Buffer.from(`rxjs-quiche ${peer.address}:${peer.port} `);
  if (token.length <= prefix.length || !token.subarray(0, prefix.length).equals(prefix)) return null;
  return token.subarray(prefix.length);
}

/**
 * Starts a client and takes its first flight off the wire: padded Initials carrying the
 * ClientHello (two of them when the post-quantum key share makes it larger than one packet).
 */
function clientInitial(certs = testCertificates()): { client: napi.Connection; initial: Buffer } {
  const client = napi.Connection.connect(
    SERVER_NAME,
    newCid(),
    CLIENT_ADDRESS,
    SERVER_ADDRESS,
    new napi.Config(clientConfigOptions(certs)),
  );
  const flight = NativePair.capture(client);
  const datagrams = flight?.datagrams ?? [];
  expect(datagrams.length).toBeGreaterThan(0);
  for (const d of datagrams) {
    expect(d.length).toBeGreaterThanOrEqual(1200);
    expect(napi.parseHeader(d, CID_LEN).type).toBe('initial');
  }
  return { client, initial: flight?.datagrams[0] ?? Buffer.alloc(0) };
}

describe('native Retry', () => {
  const certs = testCertificates();

  /**
   * Plays the server's side of a Retry: answers the first Initial with a Retry carrying a token,
   * checks the token in the second Initial, and returns what the server needs to accept.
   */
  function retryRoundTrip(client: napi.Connection, initial: Buffer) {
    const first = napi.parseHeader(initial, CID_LEN);
    expect(first.type).toBe('initial');
    expect(first.version).toBe(napi.PROTOCOL_VERSION);
    expect(first.token).toEqual(Buffer.alloc(0));
    expect(first.scid.equals(client.sourceId())).toBe(true);

    const retryScid = newCid();
    const token = mintToken(CLIENT_ADDRESS, first.dcid);
    const out = new Uint8Array(1500);
    const length = napi.retry(first.scid, first.dcid, retryScid, token, first.version, out);
    const retryPacket = out.subarray(0, length);
    const parsed = napi.parseHeader(Buffer.from(retryPacket), CID_LEN);
    expect(parsed.type).toBe('retry');
    expect(parsed.scid.equals(retryScid)).toBe(true);
    expect(parsed.token?.equals(token)).toBe(true);

    expect(client.recv(retryPacket, SERVER_ADDRESS, CLIENT_ADDRESS)).toBe(length);

    // The client starts over: new Initials to the Retry's SCID, each carrying the token.
    const second = NativePair.capture(client)?.datagrams ?? [];
    expect(second.length).toBeGreaterThan(0);
    for (const d of second) {
      const header = napi.parseHeader(d, CID_LEN);
      expect(header.type).toBe('initial');
      expect(header.dcid.equals(retryScid)).toBe(true);
      expect(header.token?.equals(token)).toBe(true);
    }
    const odcid = validateToken(CLIENT_ADDRESS, napi.parseHeader(second[0] ?? Buffer.alloc(0), CID_LEN).token ?? Buffer.alloc(0));
    expect(odcid?.equals(first.dcid)).toBe(true);
    return { second, retryScid, odcid: odcid ?? Buffer.alloc(0) };
  }

  it('should complete the handshake after a Retry with a token, with a server CID of its own', () => {
    const { client, initial } = clientInitial(certs);
    const { second, retryScid, odcid } = retryRoundTrip(client, initial);

    // The connection's own SCID differs from the Retry's: both go to the client in transport parameters.
    const scid = newCid();
    const server = napi.Connection.accept(
      scid,
      odcid,
      SERVER_ADDRESS,
      CLIENT_ADDRESS,
      new napi.Config(serverConfigOptions(certs)),
      retryScid,
    );
    for (const d of second) server.recv(d, CLIENT_ADDRESS, SERVER_ADDRESS);
    const pair = new NativePair(client, server, certs);
    pair.handshake();

    expect(client.isEstablished()).toBe(true);
    expect(server.isEstablished()).toBe(true);
    expect(client.destinationId().equals(scid)).toBe(true);
    expect(client.localError()).toBeNull();
  });

  it('should complete the handshake when the server keeps the Retry SCID as its own', () => {
    const { client, initial } = clientInitial(certs);
    const { second, retryScid, odcid } = retryRoundTrip(client, initial);

    const server = napi.Connection.accept(
      retryScid,
      odcid,
      SERVER_ADDRESS,
      CLIENT_ADDRESS,
      new napi.Config(serverConfigOptions(certs)),
    );
    for (const d of second) server.recv(d, CLIENT_ADDRESS, SERVER_ADDRESS);
    new NativePair(client, server, certs).handshake();

    expect(client.isEstablished()).toBe(true);
  });

  it('should fail the client with TRANSPORT_PARAMETER_ERROR when the server names the wrong Retry SCID', () => {
    const { client, initial } = clientInitial(certs);
    const { second, odcid } = retryRoundTrip(client, initial);

    const server = napi.Connection.accept(
      newCid(),
      odcid,
      SERVER_ADDRESS,
      CLIENT_ADDRESS,
      new napi.Config(serverConfigOptions(certs)),
      newCid(),
    );
    for (const d of second) server.recv(d, CLIENT_ADDRESS, SERVER_ADDRESS);
    const pair = new NativePair(client, server, certs);

    // The client's recv() of the server's flight rejects its transport parameters.
    expect(() => pair.handshake()).toThrow(expect.objectContaining({ code: 'InvalidTransportParam' }));
    // TRANSPORT_PARAMETER_ERROR is 0x08; the server hears of it.
    expect(client.localError()).toEqual({ isApp: false, errorCode: 0x08, reason: '' });
    pair.advance();
    expect(server.peerError()).toEqual({ isApp: false, errorCode: 0x08, reason: '' });
    expect(server.isDraining()).toBe(true);
  });
});

describe('native hmacSha256', () => {
  it('computes the MAC node:crypto does (RFC 4231 test case 2) into the start of out', () => {
    const out = Buffer.alloc(40, 0xee);
    napi.hmacSha256(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'), out);
    expect(out.subarray(0, 32).toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(out.subarray(32)).toEqual(Buffer.alloc(8, 0xee));
    const key = randomBytes(32);
    const data = randomBytes(77);
    napi.hmacSha256(key, data, out);
    expect(out.subarray(0, 32)).toEqual(createHmac('sha256', key).update(data).digest());
  });

  it('refuses an out shorter than 32 bytes with InvalidArgument, writing nothing', () => {
    const out = Buffer.alloc(31);
    expect(() => napi.hmacSha256(Buffer.from('k'), Buffer.from('d'), out)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(out).toEqual(Buffer.alloc(31));
  });
});
