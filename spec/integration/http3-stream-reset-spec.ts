import { concat as concat$, finalize, lastValueFrom, map, NEVER, of, Subject, take, timer } from 'rxjs';

import { QuicStreamError } from '../../src/errors/QuicStreamError';
import type { H3Event } from '../../src/http3/H3Event';
import { connectH3, fetchText, readAll, startH3Server } from '../helpers/h3Loopback';
import { until } from '../helpers/loopback';

const chunk = (s: string): Uint8Array => Buffer.from(s);

describe('HTTP/3 stream resets over loopback', () => {
  it('should reset the stream with H3_REQUEST_CANCELLED when a response body fails, and the client body$ errors; other requests go on', async () => {
    const server = await startH3Server((req) =>
      req.path === '/fail'
        ? { status: 200, body: concat$(of(chunk('partial')), timer(20).pipe(map(() => { throw new Error('backend died'); }))) }
        : { status: 200, body: 'fine' },
    );
    const client = await connectH3(server.port);
    try {
      const response = await lastValueFrom(client.conn.controller.request({ ':path': '/fail' }));
      const error = await readAll(response.body$).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(QuicStreamError);
      expect(error).toMatchObject({ code: 'StreamReset', streamId: 0, applicationCode: 0x10c });
      expect(client.events).toContainEqual({ type: 'reset', streamId: 0, errorCode: 0x10c });
      // The connection and its other requests are untouched.
      expect((await fetchText(client.conn, { ':path': '/ok' })).text).toBe('fine');
      expect(server.connections[0]!.events).toContainEqual(expect.objectContaining({ type: 'responseError', streamId: 0 }));
    } finally {
      client.close();
      server.close();
    }
  });

  it('should reset the request with H3_REQUEST_CANCELLED when the client body fails, and the server body$ errors', async () => {
    const serverErrors: unknown[] = [];
    // The upload fails once the server has the request. A reset that arrives with the request
    // (a starved server reads both in one step) discards it before HTTP/3 sees its HEADERS
    // (RFC 9000 §3.2), and no handler ever runs.
    const requestSeen = new Subject<void>();
    const server = await startH3Server(async (req) => {
      requestSeen.next();
      try {
        await readAll(req.body$);
      } catch (e) {
        serverErrors.push(e);
      }
      return { status: 200 };
    });
    const client = await connectH3(server.port);
    try {
      const upload$ = concat$(of(chunk('start')), requestSeen.pipe(take(1), map(() => { throw new Error('file vanished'); })));
      const failed = await lastValueFrom(client.conn.controller.request({ ':method': 'POST', ':path': '/' }, upload$)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(failed).toEqual(new Error('file vanished'));
      await until(() => serverErrors.length === 1, 3_000, 'the reset at the server');
      expect(serverErrors[0]).toBeInstanceOf(QuicStreamError);
      expect(serverErrors[0]).toMatchObject({ code: 'StreamReset', streamId: 0, applicationCode: 0x10c });
      expect(server.connections[0]!.events).toContainEqual({ type: 'reset', streamId: 0, errorCode: 0x10c });
      expect((await fetchText(client.conn, { ':path': '/next' })).response.status).toBe(200);
    } finally {
      client.close();
      server.close();
    }
  });

  it('should send STOP_SENDING when the client stops reading a response: the server stops producing it', async () => {
    let producerStopped = false;
    const server = await startH3Server((req) =>
      req.path === '/stream'
        ? {
            status: 200,
            // An endless body: 1 KiB every 5 ms.
            body: timer(0, 5).pipe(
              map((i) => Buffer.alloc(1024, i)),
              finalize(() => (producerStopped = true)),
            ),
          }
        : { status: 200 },
    );
    const client = await connectH3(server.port);
    try {
      const response = await lastValueFrom(client.conn.controller.request({ ':path': '/stream' }));
      // Read three chunks, then unsubscribe (take completes and unsubscribes).
      await lastValueFrom(response.body$.pipe(take(3)));
      await until(() => producerStopped, 3_000, 'the server body producer to stop');
      const serverEvents: H3Event[] = server.connections[0]!.events;
      const failure = serverEvents.find((e) => e.type === 'responseError');
      expect(failure).toMatchObject({ streamId: 0, error: { code: 'StreamStopped', applicationCode: 0x10c } });
      expect((await fetchText(client.conn, { ':path': '/again' })).response.status).toBe(200);
    } finally {
      client.close();
      server.close();
    }
  });

  it('should stop the upload when the server stops reading it, and still deliver the response', async () => {
    const server = await startH3Server(async (req) => {
      // Read one chunk, then stop (STOP_SENDING with H3_REQUEST_CANCELLED), and answer.
      await lastValueFrom(req.body$.pipe(take(1)));
      return { status: 413, body: 'too much' };
    });
    const client = await connectH3(server.port);
    let uploadStopped = false;
    try {
      const upload$ = concat$(of(chunk('first')), NEVER).pipe(finalize(() => (uploadStopped = true)));
      const { response, text } = await fetchText(client.conn, { ':method': 'POST', ':path': '/' }, upload$);
      expect(response.status).toBe(413);
      expect(text).toBe('too much');
      await until(() => uploadStopped, 3_000, 'the upload to stop');
    } finally {
      client.close();
      server.close();
    }
  });

  it('should cancel only that request when the client unsubscribes before the response', async () => {
    let handlerStopped = false;
    const server = await startH3Server((req) =>
      req.path === '/hang' ? NEVER.pipe(finalize(() => (handlerStopped = true))) : { status: 200, body: 'ok' },
    );
    const client = await connectH3(server.port);
    try {
      const subscription = client.conn.controller.request({ ':path': '/hang' }).subscribe();
      await until(() => server.connections[0]?.events.some((e) => e.type === 'headers') ?? false, 3_000, 'the request at the server');
      // The GET already sent its FIN, so cancelling it is a STOP_SENDING (H3_REQUEST_CANCELLED):
      // the server finds its response stopped and drops the handler.
      subscription.unsubscribe();
      await until(() => handlerStopped, 3_000, 'the server handler to be dropped');
      expect(server.connections[0]!.events).toContainEqual(
        expect.objectContaining({ type: 'responseError', streamId: 0, error: expect.objectContaining({ code: 'StreamStopped', applicationCode: 0x10c }) }),
      );
      expect((await fetchText(client.conn, { ':path': '/ok' })).text).toBe('ok');
    } finally {
      client.close();
      server.close();
    }
  });
});
