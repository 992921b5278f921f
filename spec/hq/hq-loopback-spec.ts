import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';

import { QuicError } from '../../src/errors/QuicError';
import { QuicStreamError } from '../../src/errors/QuicStreamError';
import { directoryHandler } from '../../src/hq/directoryHandler';
import type { HqHandler } from '../../src/hq/HqRequest';
import { HQ_BAD_REQUEST, HQ_INTERNAL_ERROR, HQ_NOT_FOUND, HQ_REQUEST_CANCELLED } from '../../src/hq/hqWireCodes';
import { until, within } from '../helpers/loopback';
import { connectHqClient, connectRaw, type HqTestClient, type HqTestServer, startHqServer } from './hqLoopback';

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** What a failed request rejected with. */
async function failureOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('the request succeeded');
}

describe('hq-interop over loopback (serveHq ↔ connectHq$, real quiche)', () => {
  let root: string;
  let server: HqTestServer;
  let client: HqTestClient;
  const files = new Map<string, Buffer>();

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hq-spec-'));
    const www = path.join(root, 'www');
    fs.mkdirSync(www);
    const put = (name: string, data: Buffer): void => {
      fs.writeFileSync(path.join(www, name), data);
      files.set(name, data);
    };
    put('hello.txt', Buffer.from('hello over hq-interop\n'));
    put('big.bin', randomBytes(6 * 1024 * 1024 + 123));
    for (let i = 0; i < 60; i++) put(`small-${i}`, randomBytes(100 + i * 37));
    fs.writeFileSync(path.join(root, 'secret.txt'), 'outside the root');
    fs.symlinkSync(path.join(root, 'secret.txt'), path.join(www, 'link-out'));
    const files$ = directoryHandler(www);
    const handler: HqHandler = (req) => {
      if (req.path === '/throws') throw new Error('handler failed');
      if (req.path === '/fails-midway') {
        return (async function* () {
          yield new Uint8Array(1000);
          throw new Error('producer failed');
        })();
      }
      if (req.path === '/endless') {
        return (async function* () {
          for (;;) yield new Uint8Array(16 * 1024);
        })();
      }
      return files$(req);
    };
    server = await startHqServer(handler, { initialMaxStreamsBidi: 16 });
    client = await connectHqClient(server.port);
  });

  afterAll(() => {
    client?.close();
    server?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('should fetch one file with its exact bytes, on stream 0, with FIN', async () => {
    const chunks = await within(lastValueFrom(client.conn.driver.request('/hello.txt').pipe(toArray())), 10_000, '/hello.txt');
    expect(Buffer.concat(chunks).toString()).toBe('hello over hq-interop\n');
    expect(server.events).toContainEqual(expect.objectContaining({ type: 'request', request: expect.objectContaining({ path: '/hello.txt', streamId: 0 }) }));
    expect(server.events).toContainEqual(expect.objectContaining({ type: 'responseSent', streamId: 0, bytes: 22 }));
  });

  it('should fetch 60 files in parallel on one connection, past a stream limit of 16', async () => {
    const names = [...files.keys()].filter((n) => n.startsWith('small-'));
    const bodies = await within(Promise.all(names.map((n) => client.conn.driver.get(`/${n}`))), 20_000, '60 parallel requests');
    bodies.forEach((b, i) => expect(sha256(b)).toBe(sha256(files.get(names[i]!)!)));
    expect(server.connections).toHaveLength(1);
  });

  it('should fetch a 6 MiB file intact (SHA-256), read from disk as the stream has room', async () => {
    const body = await within(client.conn.driver.get('/big.bin'), 25_000, '/big.bin');
    expect(body.length).toBe(files.get('big.bin')!.length);
    expect(sha256(body)).toBe(sha256(files.get('big.bin')!));
  });

  it('should refuse a path escape with HQ_BAD_REQUEST, without calling the handler', async () => {
    const before = server.events.filter((e) => e.type === 'request').length;
    for (const p of ['/../secret.txt', '/a/%2e%2e/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      const error = await within(failureOf(client.conn.driver.get(p)), 10_000, p);
      expect(error).toBeInstanceOf(QuicStreamError);
      expect(error).toMatchObject({ code: 'StreamReset', applicationCode: HQ_BAD_REQUEST });
    }
    expect(server.events.filter((e) => e.type === 'request').length).toBe(before);
    const bad = server.events.filter((e) => e.type === 'badRequest');
    expect(bad.length).toBeGreaterThanOrEqual(3);
    expect(bad[0]).toMatchObject({ error: expect.objectContaining({ code: 'MessageError' }) });
  });

  it('should not follow a symbolic link out of the root, and answer HQ_NOT_FOUND for a missing file', async () => {
    for (const p of ['/link-out', '/no-such-file', '/']) {
      const error = await within(failureOf(client.conn.driver.get(p)), 10_000, p);
      expect(error).toMatchObject({ code: 'StreamReset', applicationCode: HQ_NOT_FOUND });
    }
    expect(server.events).toContainEqual(expect.objectContaining({ type: 'notFound', path: '/no-such-file' }));
  });

  it('should reset only the stream of a handler or body that fails, with HQ_INTERNAL_ERROR', async () => {
    const thrown = await within(failureOf(client.conn.driver.get('/throws')), 10_000, '/throws');
    expect(thrown).toMatchObject({ code: 'StreamReset', applicationCode: HQ_INTERNAL_ERROR });
    const midway = await within(failureOf(client.conn.driver.get('/fails-midway')), 10_000, '/fails-midway');
    expect(midway).toMatchObject({ code: 'StreamReset', applicationCode: HQ_INTERNAL_ERROR });
    // The connection goes on.
    expect((await client.conn.driver.get('/hello.txt')).length).toBe(22);
  });

  it('should refuse a client-side bad path before sending anything', async () => {
    const error = await failureOf(client.conn.driver.get('no-slash'));
    expect(error).toBeInstanceOf(QuicError);
    expect(error).toMatchObject({ code: 'InvalidArgument' });
  });

  it('should stop an endless body when the client unsubscribes (STOP_SENDING), and go on', async () => {
    let got = 0;
    const sub = client.conn.driver.request('/endless').subscribe((c) => (got += c.length));
    await until(() => got > 200_000, 10_000, 'part of the endless body');
    sub.unsubscribe();
    await until(() => server.events.some((e) => e.type === 'stopped' && e.errorCode === HQ_REQUEST_CANCELLED), 10_000, 'the server to see STOP_SENDING');
    await until(() => server.connections[0]!.driver.openStreams === 0, 10_000, 'the server to forget the stream');
    expect((await client.conn.driver.get('/hello.txt')).length).toBe(22);
  });

  describe('with a raw client', () => {
    it('should reset a malformed request line both ways with HQ_BAD_REQUEST, and keep the connection', async () => {
      const raw = await connectRaw(server.port);
      try {
        const results = await within(
          Promise.all([raw.app.send(0, 'POST /hello.txt\r\n'), raw.app.send(4, 'GET hello.txt\r\n'), raw.app.send(8, 'GET /a b\r\n'), raw.app.send(12, Buffer.alloc(9000, 0x61), false)]),
          10_000,
          'the malformed requests',
        );
        for (const r of results) expect(r).toMatchObject({ fin: false, resetCode: HQ_BAD_REQUEST });
        // A well-formed request on the same connection still works; LF alone and no FIN are enough.
        const ok = await within(raw.app.send(16, 'GET /hello.txt\n', false), 10_000, 'a good request after bad ones');
        expect(ok).toMatchObject({ fin: true, resetCode: null });
        expect(ok.data.toString()).toBe('hello over hq-interop\n');
      } finally {
        raw.close();
      }
    });

    it('should drop a request whose stream the client resets before the line is complete', async () => {
      const raw = await connectRaw(server.port);
      try {
        const answer = raw.app.send(0, 'GET /hel', false);
        await until(() => server.connections.length >= 2 && server.connections.at(-1)!.driver.openStreams === 1, 10_000, 'the partial request');
        raw.app.run((q) => q.streamShutdown(0, 'write' as never, 0x77));
        await until(() => server.events.some((e) => e.type === 'reset' && e.errorCode === 0x77), 10_000, 'the server to see the reset');
        expect(await within(answer, 10_000, 'the server to reset its side')).toMatchObject({ resetCode: HQ_REQUEST_CANCELLED });
        await until(() => server.connections.at(-1)!.driver.openStreams === 0, 10_000, 'the server to forget the stream');
      } finally {
        raw.close();
      }
    });
  });

  it('should close cleanly: close() completes connectHq$ and fails nothing else', async () => {
    const other = await connectHqClient(server.port);
    expect((await other.conn.driver.get('/hello.txt')).length).toBe(22);
    other.conn.driver.close();
    expect(await within(other.outcome, 10_000, 'connectHq$ to complete')).toEqual({ ok: true });
    const late = await failureOf(other.conn.driver.get('/hello.txt'));
    expect(late).toMatchObject({ code: 'ConnectionClosed' });
    other.close();
  });
});
