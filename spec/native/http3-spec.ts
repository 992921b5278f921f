import { createHash, randomBytes } from 'node:crypto';

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
});
