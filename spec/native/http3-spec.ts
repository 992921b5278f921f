import { createHash, randomBytes } from 'node:crypto';

import { decodeFieldSection, encodeFieldSection } from '../../src/http3/h3FieldSection';
import { napi } from '../../src/native/binding';
import { NativePair, thrown } from '../helpers/nativePair';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Reads all the body bytes a stream has now. */
function readBody(h3: napi.H3Connection, conn: napi.Connection, streamId: number, buf: Uint8Array): Buffer {
  const chunks: Buffer[] = [];
  for (let n = h3.recvBody(conn, streamId, buf); n !== null; n = h3.recvBody(conn, streamId, buf)) {
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

/**
 * Polls one side until it has no event left, reading the body of each `data` event before the
 * next poll (quiche queues `finished` only once the body has been read).
 */
function pollAll(h3: napi.H3Connection, conn: napi.Connection, body: Buffer[] = []): napi.H3Event[] {
  const events: napi.H3Event[] = [];
  const buf = new Uint8Array(16 * 1024);
  for (let e = h3.poll(conn); e !== null; e = h3.poll(conn)) {
    events.push(e);
    if (e.type === 'data') body.push(readBody(h3, conn, e.streamId, buf));
  }
  return events;
}

/** Two HTTP/3 ends over an established pair, with both SETTINGS exchanged. */
function h3Pair(settings: napi.H3ConfigOptions = {}) {
  const pair = NativePair.connect({ client: { alpn: ['h3'] }, server: { alpn: ['h3'] } });
  pair.handshake();
  const config = new napi.H3Config(settings);
  const client = napi.H3Connection.withTransport(pair.client, config);
  const server = napi.H3Connection.withTransport(pair.server, config);
  pair.advance();
  return { pair, client, server };
}

const GET: napi.H3Header[] = [
  { name: ':method', value: 'GET' },
  { name: ':scheme', value: 'https' },
  { name: ':authority', value: 'localhost' },
  { name: ':path', value: '/' },
];

describe('native HTTP/3', () => {
  it('should carry a request with a body and a response with a body and trailers', () => {
    const { pair, client, server } = h3Pair({ maxFieldSectionSize: 16 * 1024 });

    // Request: headers, then a 1 MiB body, more than the 256 kB stream window the pair grants.
    const requestBody = randomBytes(1024 * 1024);
    const streamId = client.sendRequest(
      pair.client,
      [
        { name: ':method', value: 'POST' },
        { name: ':scheme', value: 'https' },
        { name: ':authority', value: 'localhost' },
        { name: ':path', value: '/upload' },
        { name: 'content-type', value: 'application/octet-stream' },
      ],
      false,
    );
    expect(streamId).toBe(0);

    const serverEvents: napi.H3Event[] = [];
    const serverBody: Buffer[] = [];
    let offset = 0;
    let blocked = 0;
    while (offset < requestBody.length) {
      const n = client.sendBody(pair.client, streamId, requestBody.subarray(offset), true);
      if (n === null) blocked += 1;
      else offset += n;
      pair.advance();
      serverEvents.push(...pollAll(server, pair.server, serverBody));
    }
    pair.advance();
    serverEvents.push(...pollAll(server, pair.server, serverBody));

    // The body waited for flow control at least once: sendBody() said so with null.
    expect(blocked).toBeGreaterThan(0);
    const [headers, ...rest] = serverEvents;
    expect(headers).toMatchObject({ type: 'headers', streamId, moreFrames: true });
    expect(headers?.headers).toEqual([
      { name: ':method', value: 'POST' },
      { name: ':scheme', value: 'https' },
      { name: ':authority', value: 'localhost' },
      { name: ':path', value: '/upload' },
      { name: 'content-type', value: 'application/octet-stream' },
    ]);
    expect(rest.filter((e) => e.type !== 'data')).toEqual([{ type: 'finished', streamId }]);
    expect(sha256(Buffer.concat(serverBody))).toBe(sha256(requestBody));

    // Response: headers, a body, then trailers that end the stream.
    const responseBody = Buffer.from('hello over HTTP/3');
    server.sendResponse(
      pair.server,
      streamId,
      [
        { name: ':status', value: '200' },
        { name: 'content-length', value: String(responseBody.length) },
      ],
      false,
    );
    expect(server.sendBody(pair.server, streamId, responseBody, false)).toBe(responseBody.length);
    server.sendAdditionalHeaders(pair.server, streamId, [{ name: 'x-checksum', value: 'abc123' }], true, true);
    pair.advance();

    const clientBody: Buffer[] = [];
    const clientEvents = pollAll(client, pair.client, clientBody);
    expect(clientEvents.map((e) => e.type)).toEqual(['headers', 'data', 'headers', 'finished']);
    expect(clientEvents[0]).toEqual({
      type: 'headers',
      streamId,
      moreFrames: true,
      headers: [
        { name: ':status', value: '200' },
        { name: 'content-length', value: String(responseBody.length) },
      ],
    });
    expect(Buffer.concat(clientBody).toString()).toBe('hello over HTTP/3');
    // Trailers: the last header section, nothing after it.
    expect(clientEvents[2]).toEqual({
      type: 'headers',
      streamId,
      moreFrames: false,
      headers: [{ name: 'x-checksum', value: 'abc123' }],
    });

    // Each side saw the other's SETTINGS (SETTINGS_MAX_FIELD_SECTION_SIZE is 0x6).
    expect(client.peerSettingsRaw()).toEqual(expect.arrayContaining([[0x6, 16 * 1024]]));
    expect(server.peerSettingsRaw()).toEqual(expect.arrayContaining([[0x6, 16 * 1024]]));
  });

  it('should carry header values outside ASCII as Latin-1 bytes', () => {
    const { pair, client, server } = h3Pair();
    const streamId = client.sendRequest(pair.client, [...GET, { name: 'x-latin1', value: 'caf\u00e9 \u00ff' }], true);
    pair.advance();

    const [headers] = pollAll(server, pair.server);
    expect(headers?.headers).toContainEqual({ name: 'x-latin1', value: 'caf\u00e9 \u00ff' });
    server.sendResponse(pair.server, streamId, [{ name: ':status', value: '204' }], true);
    pair.advance();
    expect(pollAll(client, pair.client).map((e) => e.type)).toEqual(['headers', 'finished']);
  });

  it('should refuse a second response on the same stream with FrameUnexpected', () => {
    const { pair, client, server } = h3Pair();
    const streamId = client.sendRequest(pair.client, GET, true);
    pair.advance();
    expect(pollAll(server, pair.server).map((e) => e.type)).toEqual(['headers', 'finished']);

    server.sendResponse(pair.server, streamId, [{ name: ':status', value: '204' }], false);
    const error = thrown(() => server.sendResponse(pair.server, streamId, [{ name: ':status', value: '200' }], true));
    expect(error.code).toBe('FrameUnexpected');
    expect(error.message).toContain(`streamId=${streamId}`);
  });

  it('should report a request stream reset by the client as a reset event with its code', () => {
    const { pair, client, server } = h3Pair();
    const streamId = client.sendRequest(pair.client, GET, false);
    pair.advance();
    expect(pollAll(server, pair.server).map((e) => e.type)).toEqual(['headers']);

    // H3_REQUEST_CANCELLED.
    pair.client.streamShutdown(streamId, napi.Shutdown.Write, 0x10c);
    pair.advance();

    expect(pollAll(server, pair.server)).toEqual([{ type: 'reset', streamId, errorCode: 0x10c }]);
  });

  describe('batched calls', () => {
    const KINDS = ['headers', 'data', 'finished', 'reset', 'priorityUpdate', 'goaway'];

    /**
     * One `pollEvents` call, decoded; `needed` when the first field section did not fit; `stop`, the
     * number after the last event when the batch is not full (-1: quiche had no more; -2: one waits).
     */
    function pollEvents(h3: napi.H3Connection, conn: napi.Connection, maxEvents: number, bytes = Buffer.alloc(16 * 1024)) {
      // Filled with a value the addon never writes, so a stop it did not write shows.
      const nums = new Float64Array(maxEvents * 4).fill(7);
      const n = h3.pollEvents(conn, nums, bytes);
      if (n < 0) return { events: [], needed: -n, stop: undefined };
      const events: napi.H3Event[] = [];
      let start = 0;
      for (let i = 0; i < n; i++) {
        const [kind, streamId, detail, end] = nums.subarray(i * 4, i * 4 + 4);
        const e: napi.H3Event = { type: KINDS[kind!]!, streamId: streamId! };
        if (kind === 0) Object.assign(e, { headers: decodeFieldSection(bytes, start, end!), moreFrames: detail === 1 });
        if (kind === 3) e.errorCode = detail!;
        if (kind !== 0) expect(end).toBe(start);
        events.push(e);
        start = end!;
      }
      return { events, needed: 0, stop: n < maxEvents ? nums[n * 4] : undefined };
    }

    it('should return many events in one call, in the order poll() returns them', () => {
      const a = h3Pair();
      const b = h3Pair();
      for (const { pair, client } of [a, b]) {
        for (let i = 0; i < 40; i++) client.sendRequest(pair.client, [...GET, { name: 'x-n', value: String(i) }], true);
        pair.advance();
      }

      const batch = pollEvents(a.server, a.pair.server, 128);
      const batched = batch.events;
      expect(batched).toHaveLength(80);
      expect(batch.stop).toBe(-1);
      expect(pollEvents(a.server, a.pair.server, 128)).toEqual({ events: [], needed: 0, stop: -1 });
      expect(batched).toEqual(pollAll(b.server, b.pair.server));
      expect(batched[0]).toEqual({ type: 'headers', streamId: 0, moreFrames: false, headers: [...GET, { name: 'x-n', value: '0' }] });
    });

    it('should keep the events beyond a full batch for the next call', () => {
      const { pair, client, server } = h3Pair();
      for (let i = 0; i < 3; i++) client.sendRequest(pair.client, GET, true);
      pair.advance();

      const first = pollEvents(server, pair.server, 4).events;
      const rest = pollEvents(server, pair.server, 4).events;
      expect(first).toHaveLength(4);
      expect([...first, ...rest].map((e) => `${e.type} ${e.streamId}`).sort()).toEqual(
        ['finished 0', 'finished 4', 'finished 8', 'headers 0', 'headers 4', 'headers 8'].sort(),
      );
    });

    it('should ask for a larger buffer for a field section that does not fit, and lose nothing', () => {
      const { pair, client, server } = h3Pair();
      const big = 'v'.repeat(3000);
      client.sendRequest(pair.client, [...GET, { name: 'x-big', value: big }], true);
      pair.advance();

      const small = pollEvents(server, pair.server, 16, Buffer.alloc(64));
      expect(small.events).toEqual([]);
      // The count, then the five fields with their lengths.
      const expected = 4 + [...GET, { name: 'x-big', value: big }].reduce((n, h) => n + 8 + h.name.length + h.value.length, 0);
      expect(small.needed).toBe(expected);

      const { events } = pollEvents(server, pair.server, 16, Buffer.alloc(small.needed));
      expect(events.map((e) => e.type)).toEqual(['headers', 'finished']);
      expect(events[0]?.headers).toContainEqual({ name: 'x-big', value: big });
    });

    it('should stop before a field section that does not fit behind others, and return it first next time', () => {
      const { pair, client, server } = h3Pair();
      client.sendRequest(pair.client, GET, false);
      pair.advance();
      client.sendRequest(pair.client, [...GET, { name: 'x-big', value: 'v'.repeat(500) }], false);
      pair.advance();

      // Room for the first section only: the second waits in the addon.
      const bytes = Buffer.alloc(200);
      const firstCall = pollEvents(server, pair.server, 16, bytes);
      const secondCall = pollEvents(server, pair.server, 16, Buffer.alloc(1024));
      // The first call stopped with an event waiting, the second because quiche had no more.
      expect([firstCall.stop, secondCall.stop]).toEqual([-2, -1]);
      const first = firstCall.events;
      const second = secondCall.events;
      expect([...first, ...second].map((e) => e.type)).toEqual(['headers', 'headers']);
      expect(first).toHaveLength(1);
      expect(second[0]?.headers).toContainEqual({ name: 'x-big', value: 'v'.repeat(500) });
    });

    it('should let poll() return an event pollEvents kept', () => {
      const { pair, client, server } = h3Pair();
      const streamId = client.sendRequest(pair.client, [...GET, { name: 'x-big', value: 'v'.repeat(300) }], true);
      pair.advance();

      expect(pollEvents(server, pair.server, 16, Buffer.alloc(32)).needed).toBeGreaterThan(300);
      const kept = server.poll(pair.server);
      expect(kept).toMatchObject({ type: 'headers', streamId, moreFrames: false });
      expect(kept?.headers).toContainEqual({ name: 'x-big', value: 'v'.repeat(300) });
      expect(server.poll(pair.server)).toEqual({ type: 'finished', streamId });
      expect(server.poll(pair.server)).toBeNull();
    });

    it('should return the events before a protocol error, and raise the error on the next call', () => {
      const { pair, client, server } = h3Pair();
      // A GOAWAY, then a DATA frame on the client's control stream (stream 2): FrameUnexpected.
      client.sendGoaway(pair.client, 0);
      pair.client.streamSend(2, Buffer.from([0x00, 0x00]), false);
      pair.advance();

      // Stopped with the error waiting (-2), not because quiche had no more.
      expect(pollEvents(server, pair.server, 16)).toEqual({ events: [{ type: 'goaway', streamId: 0 }], needed: 0, stop: -2 });
      const error = thrown(() => pollEvents(server, pair.server, 16));
      expect(error.code).toBe('FrameUnexpected');
      // quiche closed the connection with H3_FRAME_UNEXPECTED (0x105); nothing more comes.
      expect(pair.server.localError()).toMatchObject({ isApp: true, errorCode: 0x105 });
      expect(pollEvents(server, pair.server, 16).events).toEqual([]);
    });

    it('should raise a deferred error from poll() too', () => {
      const { pair, client, server } = h3Pair();
      client.sendGoaway(pair.client, 0);
      pair.client.streamSend(2, Buffer.from([0x00, 0x00]), false);
      pair.advance();

      expect(pollEvents(server, pair.server, 16).events).toHaveLength(1);
      expect(thrown(() => server.poll(pair.server)).code).toBe('FrameUnexpected');
    });

    it('should send encoded field sections: request, response, informational and trailers', () => {
      const { pair, client, server } = h3Pair();
      const streamId = client.sendRequestEncoded(pair.client, encodeFieldSection([...GET, { name: 'x-latin1', value: 'caf\u00e9' }]), true);
      pair.advance();
      const [request] = pollAll(server, pair.server);
      expect(request?.headers).toEqual([...GET, { name: 'x-latin1', value: 'caf\u00e9' }]);

      // quiche takes the first section (here a 1xx) with sendResponse, the later ones as additional.
      server.sendResponseEncoded(pair.server, streamId, encodeFieldSection([{ name: ':status', value: '103' }]), false, 0, true);
      server.sendAdditionalHeadersEncoded(pair.server, streamId, encodeFieldSection([{ name: ':status', value: '200' }]), false, false);
      server.sendAdditionalHeadersEncoded(pair.server, streamId, encodeFieldSection([{ name: 'x-trailer', value: '1' }]), true, true);
      pair.advance();
      const events = pollAll(client, pair.client);
      expect(events.map((e) => e.headers ?? e.type)).toEqual([
        [{ name: ':status', value: '103' }],
        [{ name: ':status', value: '200' }],
        [{ name: 'x-trailer', value: '1' }],
        'finished',
      ]);
    });

    it('should refuse a truncated encoded field section with InvalidArgument', () => {
      const { pair, client } = h3Pair();
      const encoded = Buffer.from(encodeFieldSection(GET).subarray(0, 20));
      const error = thrown(() => client.sendRequestEncoded(pair.client, encoded, true));
      expect(error.code).toBe('InvalidArgument');
      expect(error.message).toContain('truncated');
    });

    it('should refuse a character outside Latin-1 before encoding, as the H3Header[] calls do', () => {
      const { pair, client } = h3Pair();
      const native = thrown(() => client.sendRequest(pair.client, [...GET, { name: 'x-emoji', value: 'caf\u00e9 \u2603' }], true));
      const encoded = thrown(() => encodeFieldSection([...GET, { name: 'x-emoji', value: 'caf\u00e9 \u2603' }]));
      const longName = thrown(() => encodeFieldSection([{ name: `x-${'\u0100'.repeat(100)}`, value: '' }]));
      expect(encoded.code).toBe('InvalidArgument');
      expect(encoded.code).toBe(native.code);
      expect(encoded.message).toBe('header value "café ☃" has a character outside Latin-1');
      expect(longName.code).toBe('InvalidArgument');
      expect(longName.message).toContain('header name');
    });
  });
});
