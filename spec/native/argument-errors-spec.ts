import { napi } from '../../src/native/binding';
import {
  CLIENT_ADDRESS,
  NativePair,
  SERVER_ADDRESS,
  SERVER_NAME,
  newCid,
  thrown,
} from '../helpers/nativePair';

describe('native argument errors', () => {
  it('should refuse a send buffer smaller than one 1200-byte packet with BufferTooShort, losing nothing', () => {
    const pair = NativePair.connect();

    for (const size of [0, 20, 1199]) {
      expect(thrown(() => pair.client.send(new Uint8Array(size), new Uint32Array(8))).code).toBe('BufferTooShort');
    }
    // Nothing was consumed: the first flight is still there, and the handshake completes.
    pair.handshake();
    expect(pair.client.isEstablished()).toBe(true);
  });

  it('should write whole packets into a 1200-byte buffer, and pad the client Initial to 1200', () => {
    const pair = NativePair.connect();
    const out = new Uint8Array(1200);
    const lengths = new Uint32Array(8);

    const batch = pair.client.send(out, lengths);
    expect(batch).toMatchObject({ count: 1, bytes: 1200, segmentSize: 1200 });
    expect(napi.parseHeader(out, 16).type).toBe('initial');
  });

  it('should refuse an empty lengths array with InvalidArgument', () => {
    const pair = NativePair.connect();
    expect(thrown(() => pair.client.send(new Uint8Array(1500), new Uint32Array(0))).code).toBe('InvalidArgument');
  });

  it('should refuse an address that is not an IP and port with InvalidArgument', () => {
    const pair = NativePair.connect();
    pair.handshake();
    const datagram = new Uint8Array(1200);

    for (const bad of [
      { address: 'localhost', port: 4433 },
      { address: '', port: 4433 },
      { address: '300.1.1.1', port: 4433 },
      { address: '127.0.0.1', port: 65_536 },
    ]) {
      const error = thrown(() => pair.client.recv(datagram, bad, CLIENT_ADDRESS));
      expect([bad, error.code]).toEqual([bad, 'InvalidArgument']);
      expect(thrown(() => pair.client.recv(datagram, SERVER_ADDRESS, bad)).code).toBe('InvalidArgument');
    }
    const config = new napi.Config();
    expect(thrown(() => napi.Connection.connect(SERVER_NAME, newCid(), { address: 'nope', port: 1 }, SERVER_ADDRESS, config)).code).toBe('InvalidArgument');
    expect(thrown(() => napi.Connection.accept(newCid(), null, SERVER_ADDRESS, { address: '::g', port: 1 }, config)).code).toBe('InvalidArgument');
    // Bracketed IPv6, as URLs write it, is an address.
    expect(() => napi.Connection.connect(SERVER_NAME, newCid(), { address: '[::1]', port: 1 }, { address: '::1', port: 2 }, config)).not.toThrow();
  });

  it('should take null addresses for those of the previous recv, and refuse them on the first', () => {
    const pair = NativePair.connect();
    const first = NativePair.capture(pair.client)!;
    expect(thrown(() => pair.server.recv(first.datagrams[0]!, null, SERVER_ADDRESS)).code).toBe('InvalidArgument');
    expect(thrown(() => pair.server.recv(first.datagrams[0]!, CLIENT_ADDRESS, null)).code).toBe('InvalidArgument');
    // Nothing was taken: the Initial is still good, and then null stands for the same path.
    pair.server.recv(first.datagrams[0]!, CLIENT_ADDRESS, SERVER_ADDRESS);
    for (const d of first.datagrams.slice(1)) pair.server.recv(d, null, null);
    const answer = NativePair.capture(pair.server)!;
    expect(answer.from).toEqual({ ...SERVER_ADDRESS, family: 'IPv4' });
    expect(answer.to).toEqual({ ...CLIENT_ADDRESS, family: 'IPv4' });
  });

  it('should refuse a stream id JavaScript cannot carry exactly with InvalidArgument', () => {
    const pair = NativePair.connect();
    pair.handshake();
    const data = Buffer.from('x');
    const buf = new Uint8Array(8);

    for (const id of [-1, -4, 0.5, 2 ** 53, 2 ** 62, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect([id, thrown(() => pair.client.streamSend(id, data, false)).code]).toEqual([id, 'InvalidArgument']);
      expect(thrown(() => pair.client.streamRecv(id, buf)).code).toBe('InvalidArgument');
      expect(thrown(() => pair.client.streamShutdown(id, napi.Shutdown.Write, 0)).code).toBe('InvalidArgument');
      expect(thrown(() => pair.client.streamReadable(id)).code).toBe('InvalidArgument');
      expect(thrown(() => pair.client.streamCapacity(id)).code).toBe('InvalidArgument');
    }
    // An id JavaScript carries exactly goes to quiche, which applies its own rules: here the
    // peer's limit of 100 bidirectional streams.
    expect(thrown(() => pair.client.streamSend(4 * 1000, data, false)).code).toBe('StreamLimit');
    expect(thrown(() => pair.client.streamSend(Number.MAX_SAFE_INTEGER - 3, data, false)).code).toBe('StreamLimit');
    // A stream the peer opened cannot be read before it exists.
    expect(thrown(() => pair.client.streamRecv(1, buf)).code).toBe('InvalidStreamState');
  });

  it('should refuse connection IDs longer than 20 bytes with InvalidArgument', () => {
    const config = new napi.Config();
    const long = Buffer.alloc(21);
    expect(thrown(() => napi.Connection.connect(SERVER_NAME, long, CLIENT_ADDRESS, SERVER_ADDRESS, config)).code).toBe('InvalidArgument');
    expect(thrown(() => napi.Connection.accept(long, null, SERVER_ADDRESS, CLIENT_ADDRESS, config)).code).toBe('InvalidArgument');
    expect(thrown(() => napi.parseHeader(new Uint8Array(64), 21)).code).toBe('InvalidArgument');
  });

  it('should refuse a zero GRO segment size with InvalidArgument', () => {
    const pair = NativePair.connect();
    expect(thrown(() => pair.server.recv(new Uint8Array(1200), CLIENT_ADDRESS, SERVER_ADDRESS, 0)).code).toBe('InvalidArgument');
  });

  it('should refuse a malformed reset token and an HTTP/3 urgency above 7 with InvalidArgument', () => {
    const pair = NativePair.connect({ client: { alpn: ['h3'] }, server: { alpn: ['h3'] } });
    pair.handshake();
    expect(thrown(() => pair.client.newScid(newCid(), Buffer.alloc(15), false)).code).toBe('InvalidArgument');

    const h3 = napi.H3Connection.withTransport(pair.client, new napi.H3Config());
    const id = h3.sendRequest(pair.client, [
      { name: ':method', value: 'GET' },
      { name: ':scheme', value: 'https' },
      { name: ':authority', value: 'localhost' },
      { name: ':path', value: '/' },
    ], true);
    expect(thrown(() => h3.sendPriorityUpdateForRequest(pair.client, id, 8, false)).code).toBe('InvalidArgument');
    expect(thrown(() => h3.sendRequest(pair.client, [{ name: ':path', value: '/\u0100' }], true)).code).toBe('InvalidArgument');
  });
});
