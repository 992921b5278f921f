import { lastValueFrom } from 'rxjs';

import { QuicError } from '../../src/errors/QuicError';
import { BatchedH3Connection } from '../../src/http3/BatchedH3Connection';
import type { H3Header } from '../../src/http3/H3Headers';
import { napi } from '../../src/native/binding';
import { connectH3, startH3Server } from '../helpers/h3Loopback';
import { NativePair, thrown } from '../helpers/nativePair';

const GET: H3Header[] = [
  { name: ':method', value: 'GET' },
  { name: ':scheme', value: 'https' },
  { name: ':authority', value: 'localhost' },
  { name: ':path', value: '/' },
];

/** Two HTTP/3 ends over an in-memory pair: the server batched, the client plain native. */
function pair() {
  const p = NativePair.connect({ client: { alpn: ['h3'] }, server: { alpn: ['h3'] } });
  p.handshake();
  const config = new napi.H3Config();
  const client = napi.H3Connection.withTransport(p.client, config);
  const server = BatchedH3Connection.withTransport(p.server, config);
  p.advance();
  return { pair: p, client, server };
}

function drain(h3: BatchedH3Connection, conn: napi.Connection): napi.H3Event[] {
  const events: napi.H3Event[] = [];
  for (let e = h3.poll(conn); e !== null; e = h3.poll(conn)) events.push(e);
  return events;
}

describe('BatchedH3Connection', () => {
  it('should serve more events than one batch holds, in order, then null', () => {
    const { pair: p, client, server } = pair();
    // 90 requests (the pair allows 100 streams): 180 events, more than the 128 of one crossing.
    for (let i = 0; i < 90; i++) client.sendRequest(p.client, [...GET, { name: 'x-n', value: String(i) }], true);
    p.advance();
    server.inputArrived();

    const events = drain(server, p.server);
    expect(events).toHaveLength(180);
    for (let i = 0; i < 90; i++) {
      const mine = events.filter((e) => e.streamId === i * 4);
      expect(mine.map((e) => e.type)).toEqual(['headers', 'finished']);
      expect(mine[0]).toMatchObject({ moreFrames: false, headers: [...GET, { name: 'x-n', value: String(i) }] });
    }
    expect(server.poll(p.server)).toBeNull();
  });

  it('should ask quiche again only after packets or a body read, once it said it had no more', () => {
    const { pair: p, client, server } = pair();
    const crossings = jest.spyOn(napi.H3Connection.prototype, 'pollEvents');
    try {
      const streamId = client.sendRequest(p.client, GET, false);
      client.sendBody(p.client, streamId, Buffer.from('abc'), false);
      p.advance();
      server.inputArrived();
      expect(drain(server, p.server).map((e) => e.type)).toEqual(['headers', 'data']);
      expect(crossings).toHaveBeenCalledTimes(1);
      // Nothing since: answered without crossing, however often asked.
      expect(server.poll(p.server)).toBeNull();
      expect(server.poll(p.server)).toBeNull();
      expect(crossings).toHaveBeenCalledTimes(1);

      // A body read may reach the FIN or trailers: the next poll asks.
      client.sendBody(p.client, streamId, Buffer.from('d'), true);
      p.advance();
      expect(server.recvBody(p.server, streamId, new Uint8Array(64))).toBe(4);
      expect(drain(server, p.server).map((e) => e.type)).toEqual(['finished']);
      expect(crossings).toHaveBeenCalledTimes(2);

      // Packets: the driver says so before it polls.
      client.sendGoaway(p.client, 0);
      p.advance();
      expect(server.poll(p.server)).toBeNull();
      expect(crossings).toHaveBeenCalledTimes(2);
      server.inputArrived();
      expect(drain(server, p.server)).toEqual([expect.objectContaining({ type: 'goaway', streamId: 0 })]);
      expect(crossings).toHaveBeenCalledTimes(3);
    } finally {
      crossings.mockRestore();
    }
  });

  it('should ask again after a batch that stopped with an event waiting in the addon', () => {
    const { pair: p, client, server } = pair();
    // Two field sections larger than the buffer's 16 KiB together: the second waits in the addon.
    const big = 'a'.repeat(10_000);
    client.sendRequest(p.client, [...GET, { name: 'x-big', value: big }], false);
    client.sendRequest(p.client, [...GET, { name: 'x-big', value: big }], false);
    p.advance();
    server.inputArrived();

    expect(drain(server, p.server).map((e) => `${e.type} ${e.streamId}`)).toEqual(['headers 0', 'headers 4']);
  });

  it('should grow its buffer for a field section larger than it', () => {
    const { pair: p, client, server } = pair();
    // More than the 16 KiB the buffer starts with; Huffman-coded 'a's fit quiche's first congestion window.
    const big = 'a'.repeat(17_000);
    const streamId = client.sendRequest(p.client, [...GET, { name: 'x-big', value: big }], false);
    p.advance();
    server.inputArrived();

    const [headers, ...rest] = drain(server, p.server);
    expect(rest).toEqual([]);
    expect(headers).toMatchObject({ type: 'headers', streamId, moreFrames: true });
    expect(headers?.headers?.[4]).toEqual({ name: 'x-big', value: big });
  });

  it('should carry every octet of names and values as Latin-1, both ways', () => {
    const { pair: p, client, server } = pair();
    const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    const streamId = client.sendRequest(p.client, [...GET, { name: 'x-all', value: all }], true);
    p.advance();
    server.inputArrived();
    expect(drain(server, p.server)[0]?.headers).toContainEqual({ name: 'x-all', value: all });

    server.sendResponse(p.server, streamId, [{ name: ':status', value: '200' }, { name: 'x-all', value: all }], true, 3, true);
    p.advance();
    server.inputArrived();
    expect(client.poll(p.client)?.headers).toContainEqual({ name: 'x-all', value: all });
  });

  it('should report the reset code and goaway id', () => {
    const { pair: p, client, server } = pair();
    const streamId = client.sendRequest(p.client, GET, false);
    p.advance();
    server.inputArrived();
    drain(server, p.server);
    p.client.streamShutdown(streamId, napi.Shutdown.Write, 0x10c);
    client.sendGoaway(p.client, 0);
    p.advance();
    server.inputArrived();

    expect(drain(server, p.server).sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      expect.objectContaining({ type: 'goaway', streamId: 0 }),
      expect.objectContaining({ type: 'reset', streamId, errorCode: 0x10c }),
    ]);
  });

  it('should serve the events before a protocol error, then throw it', () => {
    const { pair: p, client, server } = pair();
    client.sendGoaway(p.client, 0);
    p.client.streamSend(2, Buffer.from([0x00, 0x00]), false); // DATA on the control stream
    p.advance();
    server.inputArrived();

    expect(server.poll(p.server)).toMatchObject({ type: 'goaway', streamId: 0 });
    expect(thrown(() => server.poll(p.server)).code).toBe('FrameUnexpected');
  });

  it('should refuse a header outside Latin-1 with InvalidArgument and send nothing', () => {
    const { pair: p, client, server } = pair();
    const streamId = client.sendRequest(p.client, GET, true);
    p.advance();
    server.inputArrived();
    drain(server, p.server);

    const error = thrown(() => server.sendResponse(p.server, streamId, [{ name: ':status', value: '200' }, { name: 'x', value: '\u2603' }], true));
    expect(error).toBeInstanceOf(QuicError);
    expect(error.code).toBe('InvalidArgument');
    expect(error.message).toBe('header value "\u2603" has a character outside Latin-1');
    // The stream is untouched: a valid response still goes out.
    server.sendResponse(p.server, streamId, [{ name: ':status', value: '204' }], true);
    p.advance();
    server.inputArrived();
    expect(client.poll(p.client)).toMatchObject({ type: 'headers', headers: [{ name: ':status', value: '204' }] });
  });

  it('should send a response and the body bytes the stream takes in one call', () => {
    const { pair: p, client, server } = pair();
    const small = client.sendRequest(p.client, GET, true);
    const large = client.sendRequest(p.client, GET, true);
    p.advance();
    server.inputArrived();
    drain(server, p.server);

    const status = [{ name: ':status', value: '200' }];
    expect(server.sendResponseWithBody(p.server, small, status, Buffer.from('hello'), true, 3, true)).toBe(5);
    // More than the stream's flow-control window: the rest waits, as sendBody would say.
    const body = Buffer.alloc(4 * 1024 * 1024, 1);
    const taken = server.sendResponseWithBody(p.server, large, status, body, true);
    expect(taken).toBeGreaterThan(0);
    expect(taken).toBeLessThan(body.length);
    p.advance();
    server.inputArrived();

    const events: napi.H3Event[] = [];
    const buf = new Uint8Array(64 * 1024);
    let received = 0;
    for (let e = client.poll(p.client); e !== null; e = client.poll(p.client)) {
      events.push(e);
      if (e.type === 'data') for (let n = client.recvBody(p.client, e.streamId, buf); n !== null; n = client.recvBody(p.client, e.streamId, buf)) if (e.streamId === large) received += n;
    }
    expect(events.filter((e) => e.streamId === small).map((e) => e.type)).toEqual(['headers', 'data', 'finished']);
    expect(events.filter((e) => e.streamId === large).map((e) => e.type)).toEqual(['headers', 'data']);
    expect(received).toBe(taken);
  });

  it('should refuse response headers a second time with FrameUnexpected and send no body', () => {
    const { pair: p, client, server } = pair();
    const streamId = client.sendRequest(p.client, GET, true);
    p.advance();
    server.inputArrived();
    drain(server, p.server);
    server.sendResponse(p.server, streamId, [{ name: ':status', value: '103' }], false);

    const error = thrown(() => server.sendResponseWithBody(p.server, streamId, [{ name: ':status', value: '200' }], Buffer.from('x'), true));
    expect(error.code).toBe('FrameUnexpected');
  });

  it('should answer the read after a short one with null, and read again once a poll saw new data', () => {
    const { pair: p, client, server } = pair();
    const streamId = client.sendRequest(p.client, GET, false);
    client.sendBody(p.client, streamId, Buffer.from('abc'), false);
    p.advance();
    server.inputArrived();
    const buf = new Uint8Array(1024);

    expect(drain(server, p.server).map((e) => e.type)).toEqual(['headers', 'data']);
    expect(server.recvBody(p.server, streamId, buf)).toBe(3);
    expect(server.recvBody(p.server, streamId, buf)).toBeNull();

    client.sendBody(p.client, streamId, Buffer.from('defg'), true);
    p.advance();
    server.inputArrived();
    expect(drain(server, p.server).map((e) => e.type)).toEqual(['data']);
    expect(server.recvBody(p.server, streamId, buf)).toBe(4);
    expect(Buffer.from(buf.subarray(0, 4)).toString()).toBe('defg');
    expect(server.recvBody(p.server, streamId, buf)).toBeNull();
    expect(drain(server, p.server).map((e) => e.type)).toEqual(['finished']);
  });

  it('should keep reading a body larger than the buffer until quiche has no more', () => {
    const { pair: p, client, server } = pair();
    const streamId = client.sendRequest(p.client, GET, false);
    client.sendBody(p.client, streamId, Buffer.alloc(10_000, 7), true);
    p.advance();
    server.inputArrived();
    const buf = new Uint8Array(4096);

    drain(server, p.server);
    const reads: Array<number | null> = [];
    for (let n = server.recvBody(p.server, streamId, buf); n !== null; n = server.recvBody(p.server, streamId, buf)) reads.push(n);
    expect(reads).toEqual([4096, 4096, 1808]);
    expect(drain(server, p.server).map((e) => e.type)).toEqual(['finished']);
  });

  it('should make a driver reset a response whose header is outside Latin-1, as before', async () => {
    const server = await startH3Server(() => ({ status: 200, headers: { 'x-snow': '\u2603' }, body: 'never' }));
    const client = await connectH3(server.port);
    try {
      await expect(lastValueFrom(client.conn.controller.request({ ':path': '/' }))).rejects.toMatchObject({
        code: 'StreamReset',
        applicationCode: 0x102, // H3_INTERNAL_ERROR
      });
      const events = server.connections[0]!.events;
      const failed = events.find((e) => e.type === 'responseError');
      expect(failed).toMatchObject({ error: { code: 'InvalidArgument' } });
      expect(String((failed as { error: Error }).error.message)).toContain('outside Latin-1');
    } finally {
      client.close();
      server.close();
    }
  });
});
