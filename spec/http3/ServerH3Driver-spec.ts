import { filter, map, of, Subject, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

import { Http3Error } from '../../src/errors/Http3Error';
import { QuicError } from '../../src/errors/QuicError';
import { QuicStreamError } from '../../src/errors/QuicStreamError';
import type { H3Event } from '../../src/http3/H3Event';
import type { H3Request } from '../../src/http3/H3Request';
import { ServerH3Driver } from '../../src/http3/ServerH3Driver';
import { DefaultMetrics } from '../../src/metrics/DefaultMetrics';
import { FakeH3Connection, fakeFactory, nativeError, startOnFakes } from '../helpers/h3Fake';

const GET = { ':method': 'GET', ':scheme': 'https', ':authority': 'localhost', ':path': '/' };

/** Resolves after pending asap/microtask work (the driver's wakes) has run. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function serve(settings: Parameters<typeof ServerH3Driver.create>[0] = {}, elapsed = 0) {
  const h3 = new FakeH3Connection();
  const { driver, controller } = ServerH3Driver.create(settings, fakeFactory(h3));
  const events: H3Event[] = [];
  controller.event$.subscribe((e) => events.push(e));
  const requests: H3Request[] = [];
  const requestErrors: unknown[] = [];
  controller.request$.subscribe({ next: (r) => requests.push(r), error: (e) => requestErrors.push(e) });
  const run = startOnFakes(driver, h3, { elapsed });
  return { h3, driver, controller, events, requests, requestErrors, run };
}

/** @test {ServerH3Driver} */
describe('ServerH3Driver', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => {
      expect(actual).toEqual(expected);
    });
  });

  it('should report SETTINGS and the request headers, then deliver the request', () => {
    const { h3, events, requests, run } = serve();
    h3.headers(0, { ...GET, ':path': '/a', 'user-agent': 'spec' }, false).event('finished', 0);
    run.turn();

    expect(events.map((e) => e.type)).toEqual(['settings', 'headers', 'bodyBytesReceived']);
    expect(events[0]).toEqual({ type: 'settings', settings: [[6, 16384]] });
    expect(events[1]).toMatchObject({ type: 'headers', streamId: 0, moreFrames: false, isInEarlyData: false });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ streamId: 0, method: 'GET', path: '/a', authority: 'localhost', scheme: 'https' });
    expect(requests[0]!.header('User-Agent')).toBe('spec');
    // The request stream is boosted ahead of responses until its response starts.
    expect(run.qconn.priorities).toEqual([{ streamId: 0, urgency: 64, incremental: false }]);
  });

  it('should not boost a request answered during the poll that delivered it: its response takes the stream at once', () => {
    const h3 = new FakeH3Connection();
    const { driver, controller } = ServerH3Driver.create({}, fakeFactory(h3));
    controller.request$.subscribe((r) => (r.path === '/now' ? r.respond({ status: 204 }) : undefined));
    const run = startOnFakes(driver, h3);
    h3.headers(0, { ...GET, ':path': '/now' }, false).headers(4, { ...GET, ':path': '/later' }, false);
    run.turn();

    expect(run.qconn.priorities).toEqual([{ streamId: 4, urgency: 64, incremental: false }]);
    expect(h3.written).toContainEqual(expect.objectContaining({ kind: 'response', streamId: 0, urgency: 3, incremental: true }));
  });

  it('should close with H3_NO_ERROR when no request comes within postAcceptTimeout of the handshake start', () => {
    testScheduler.run(({ expectObservable }) => {
      // given: the handshake took 30 ms of a 100 ms post-accept timeout
      const { controller, run } = serve({ postAcceptTimeout: 100 }, 30);

      // then: the driver shuts down at 70 ms
      expectObservable(controller.event$.pipe(filter((e) => e.type === 'connectionShutdown'))).toBe('70ms x', {
        x: { type: 'connectionShutdown', reason: 'postAcceptTimeout' },
      });
      testScheduler.schedule(() => expect(run.qconn.closes).toEqual([]), 69);
      testScheduler.schedule(() => expect(run.qconn.closes).toEqual([{ app: true, errorCode: 0x100 }]), 71);
    });
  });

  it('should cancel the post-accept timeout at the first request', () => {
    testScheduler.run(({ expectObservable }) => {
      const { h3, controller, run } = serve({ postAcceptTimeout: 100 });
      testScheduler.schedule(() => {
        h3.headers(0, GET, false);
        run.turn();
      }, 50);

      expectObservable(controller.event$.pipe(filter((e) => e.type === 'connectionShutdown'))).toBe('');
      testScheduler.schedule(() => expect(run.qconn.closes).toEqual([]), 200);
    });
  });

  it('should close at once when the handshake already used up the post-accept timeout', () => {
    const { run, events } = serve({ postAcceptTimeout: 100 }, 150);
    expect(run.qconn.closes).toEqual([{ app: true, errorCode: 0x100 }]);
    expect(events).toContainEqual({ type: 'connectionShutdown', reason: 'postAcceptTimeout' });
  });

  it('should wake the worker when a handler answers, and write the response with urgency 3, incremental', () => {
    testScheduler.run(({ expectObservable }) => {
      const { h3, driver, requests, run } = serve();
      h3.headers(0, GET, false).event('finished', 0);
      run.turn();
      // when: the handler answers 10 ms later
      timer(10).subscribe(() => requests[0]!.respond({ status: 200, headers: { 'x-a': '1' }, body: 'hi' }));

      // then: waitForData emits in that frame, and that turn writes the response
      expectObservable(driver.waitForData(run.qconn).pipe(map(() => 'w'))).toBe('10ms w');
      testScheduler.schedule(() => {
        expect(h3.written).toEqual([
          {
            kind: 'response',
            streamId: 0,
            headers: [
              { name: ':status', value: '200' },
              { name: 'x-a', value: '1' },
            ],
            fin: false,
            urgency: 3,
            incremental: true,
          },
          { kind: 'body', streamId: 0, bytes: 2, fin: true },
        ]);
      }, 11);
    });
  });

  it('should send informational responses first, then the final one as additional headers', async () => {
    const { h3, requests, run } = serve();
    h3.headers(0, GET, false).event('finished', 0);
    run.turn();
    const response$ = new Subject<{ status: number }>();
    requests[0]!.respond(response$);
    response$.next({ status: 103 });
    await tick();
    response$.next({ status: 204 });
    await tick();

    expect(h3.written.map((w) => [w.kind, 'headers' in w ? w.headers[0]!.value : '', 'fin' in w ? w.fin : ''])).toEqual([
      ['response', '103', false],
      ['additional', '204', true],
    ]);
    // The handler's Observable is unsubscribed once the final response is queued.
    expect(response$.observed).toBe(false);
    run.stop();
  });

  it('should answer 500 when the handler fails before a final response', async () => {
    const { h3, requests, events, run } = serve();
    h3.headers(0, GET, false).event('finished', 0);
    run.turn();
    requests[0]!.respond(Promise.reject(new Error('boom')));
    await tick();
    expect(h3.written).toEqual([expect.objectContaining({ kind: 'response', headers: [{ name: ':status', value: '500' }], fin: true })]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'responseError', streamId: 0 }));
    expect(() => requests[0]!.respond({ status: 200 })).toThrow(QuicError);
    run.stop();
  });

  it('should close with H3_NO_ERROR at the request beyond maxRequestsPerConnection, ignoring it', () => {
    const { h3, requests, events, run } = serve({ maxRequestsPerConnection: 2 });
    h3.headers(0, GET, false).headers(4, GET, false);
    run.turn();
    expect(run.qconn.closes).toEqual([]);
    h3.headers(8, GET, false);
    run.turn();
    expect(requests.map((r) => r.streamId)).toEqual([0, 4]);
    expect(run.qconn.closes).toEqual([{ app: true, errorCode: 0x100 }]);
    expect(events).toContainEqual({ type: 'connectionShutdown', reason: 'maxRequestsPerConnection' });
  });

  it('should send GOAWAY naming the stream after the highest seen, and refuse later requests', async () => {
    const { h3, controller, requests, run } = serve();
    h3.headers(0, GET, false).headers(8, GET, false);
    run.turn();
    controller.sendGoaway();
    await tick();
    expect(h3.written).toEqual([{ kind: 'goaway', id: 12 }]);

    h3.headers(12, GET, false);
    run.turn();
    await tick();
    expect(requests.map((r) => r.streamId)).toEqual([0, 8]);
    expect(run.qconn.shutdowns).toEqual([
      { streamId: 12, direction: 'read', errorCode: 0x10b },
      { streamId: 12, direction: 'write', errorCode: 0x10b },
    ]);
    run.stop();
  });

  it('should keep streams in flight when the client sends GOAWAY', async () => {
    const { h3, requests, events, run } = serve();
    h3.headers(0, GET, false).event('finished', 0).event('goaway', 0);
    run.turn();
    expect(events).toContainEqual({ type: 'goaway', id: 0 });
    requests[0]!.respond({ status: 200 });
    await tick();
    expect(h3.written).toEqual([expect.objectContaining({ kind: 'response', fin: true })]);
    expect(run.qconn.closes).toEqual([]);
    run.stop();
  });

  it('should tell the worker from processReads whether the packets gave it anything: events and datagrams do, acknowledgements alone do not', () => {
    const { h3, driver, run } = serve();
    // The first read forwards the peer's SETTINGS.
    expect(driver.processReads(run.qconn)).toBe(true);
    // Only acknowledgements or flow control arrived: quiche has no event.
    expect(driver.processReads(run.qconn)).toBe(false);
    h3.headers(0, GET, true);
    expect(driver.processReads(run.qconn)).toBe(true);
    expect(driver.processReads(run.qconn)).toBe(false);
    run.stop();
  });

  it('should throw an Http3Error from processReads on a protocol error, then report it and complete event$', () => {
    const { h3, driver, controller, events, run } = serve();
    h3.headers(0, GET, true);
    run.turn();
    h3.pollError = nativeError('FrameUnexpected', 'FrameUnexpected: unexpected frame (wireCode=261)');
    let thrown: unknown;
    try {
      driver.processReads(run.qconn);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(Http3Error);
    expect(thrown).toMatchObject({ code: 'FrameUnexpected', wireCode: 0x105 });

    // The worker then ends the connection with that error.
    let completed = false;
    controller.event$.subscribe({ complete: () => (completed = true) });
    driver.onConnClose(run.qconn, new DefaultMetrics(), { ok: false, error: thrown as Http3Error });
    expect(events[events.length - 1]).toEqual({ type: 'connectionError', error: thrown });
    expect(completed).toBe(true);
  });

  it('should error request$ and the request bodies in flight with the connection error', () => {
    const h3 = new FakeH3Connection();
    const { driver, controller } = ServerH3Driver.create({}, fakeFactory(h3));
    const seen: unknown[] = [];
    controller.request$.subscribe({
      next: (r) => r.body$.subscribe({ error: (e) => seen.push(['body', e]) }),
      error: (e) => seen.push(['request$', e]),
    });
    const run = startOnFakes(driver, h3);
    h3.headers(0, GET, true);
    run.turn();
    const error = new Http3Error('ExcessiveLoad', { wireCode: 0x107 });
    driver.onConnClose(run.qconn, new DefaultMetrics(), { ok: false, error });
    expect(seen).toEqual([
      ['body', error],
      ['request$', error],
    ]);
  });

  it('should error a request body with StreamReset when the client resets it, and leave other requests alone', () => {
    const h3 = new FakeH3Connection();
    const { driver, controller } = ServerH3Driver.create({}, fakeFactory(h3));
    const seen: string[] = [];
    let resetError: unknown;
    controller.request$.subscribe((r) =>
      r.body$.subscribe({
        next: (c) => seen.push(`${r.streamId}:${Buffer.from(c).toString()}`),
        error: (e) => (resetError = e),
        complete: () => seen.push(`${r.streamId}:end`),
      }),
    );
    const run = startOnFakes(driver, h3);
    h3.headers(0, GET).headers(4, GET).data(0, 'a').data(4, 'b').event('reset', 0, 0x10c).event('finished', 4);
    run.turn();
    expect(resetError).toBeInstanceOf(QuicStreamError);
    expect(resetError).toMatchObject({ code: 'StreamReset', streamId: 0, applicationCode: 0x10c });
    expect(seen).toEqual(['0:a', '4:b', '4:end']);
  });

  it('should send STOP_SENDING with H3_REQUEST_CANCELLED when a body reader unsubscribes before the end', async () => {
    const { h3, requests, run } = serve();
    h3.headers(0, GET).data(0, 'a');
    run.turn();
    const sub = requests[0]!.body$.subscribe();
    await tick();
    sub.unsubscribe();
    await tick();
    expect(run.qconn.shutdowns).toEqual([{ streamId: 0, direction: 'read', errorCode: 0x10c }]);
    run.stop();
  });

  it('should reset the stream with H3_REQUEST_CANCELLED when the response body errors', async () => {
    const { h3, requests, events, run } = serve();
    h3.headers(0, GET, false).event('finished', 0);
    run.turn();
    const body$ = new Subject<Uint8Array>();
    requests[0]!.respond({ status: 200, body: body$ });
    await tick();
    body$.next(Buffer.from('part'));
    await tick();
    body$.error(new Error('disk on fire'));
    await tick();
    expect(h3.written.map((w) => w.kind)).toEqual(['response', 'body']);
    expect(run.qconn.shutdowns).toEqual([{ streamId: 0, direction: 'write', errorCode: 0x10c }]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'responseError', streamId: 0 }));
    run.stop();
  });

  it('should read at most maxBufferedChunks ahead of a reader that does not pull', async () => {
    const { h3, requests, run } = serve();
    h3.headers(0, GET);
    for (let i = 0; i < 40; i++) h3.bodies.set(0, [...(h3.bodies.get(0) ?? []), Buffer.from([i])]);
    h3.event('data', 0);
    run.turn();
    // Nobody reads yet: nothing is taken from quiche.
    expect(h3.recvBodyCalls).toBe(0);

    const it = requests[0]!.body[Symbol.asyncIterator]();
    const first = await it.next();
    await tick();
    expect(first.value).toEqual(Uint8Array.from([0]));
    // One chunk handed over, 16 buffered: the other 23 are left in quiche.
    expect(h3.bodies.get(0)).toHaveLength(40 - 1 - 16);

    for (let i = 1; i < 10; i++) await it.next();
    await tick();
    expect(h3.bodies.get(0)!.length).toBeLessThanOrEqual(40 - 10 - 8);
    run.stop();
  });

  it('should pull a body iterator only while the stream has capacity', async () => {
    const { h3, requests, run } = serve();
    h3.headers(0, GET, false).event('finished', 0);
    run.turn();
    let pulled = 0;
    function* chunks(): Generator<Uint8Array> {
      for (let i = 0; i < 10; i++) {
        pulled++;
        yield Buffer.alloc(100);
      }
    }
    // quiche takes 150 bytes, then has no capacity.
    h3.budget = 150;
    requests[0]!.respond({ status: 200, body: chunks() });
    await tick();
    // 100, then 50 of the second: the rest of the second waits, and the third is not pulled.
    expect(pulled).toBe(2);
    expect(h3.written.filter((w) => w.kind === 'body').map((w) => (w as { bytes: number }).bytes)).toEqual([100, 50]);

    // when: quiche has room again (the worker turns after the peer's MAX_STREAM_DATA)
    h3.budget = Number.POSITIVE_INFINITY;
    run.turn();
    await tick();
    expect(pulled).toBe(10);
    expect(h3.written[h3.written.length - 1]).toMatchObject({ kind: 'body', fin: true });
    run.stop();
  });

  it('should deliver request trailers on trailers$', () => {
    const { h3, requests, run } = serve();
    h3.headers(0, GET).data(0, 'x');
    run.turn();
    const trailers: unknown[] = [];
    requests[0]!.trailers$.subscribe((t) => trailers.push(t));
    requests[0]!.body$.subscribe();
    h3.headers(0, { 'x-sum': '42' }, false).event('finished', 0);
    run.turn();
    expect(trailers).toEqual([[{ name: 'x-sum', value: '42' }]]);
  });

  it('should stop the request body with H3_NO_ERROR when the response ends before the body was read', async () => {
    const { h3, requests, run } = serve();
    h3.headers(0, GET).data(0, 'ignored');
    run.turn();
    requests[0]!.respond({ status: 413 });
    await tick();
    await tick();
    expect(run.qconn.shutdowns).toEqual([{ streamId: 0, direction: 'read', errorCode: 0x100 }]);
    let error: unknown;
    requests[0]!.body$.subscribe({ error: (e) => (error = e) });
    expect(error).toMatchObject({ code: 'InvalidState' });
    run.stop();
  });

  it('should close with H3_NO_ERROR once the controller completes and the last stream is done', async () => {
    const { h3, controller, requests, events, run } = serve();
    h3.headers(0, GET, false).event('finished', 0);
    run.turn();
    controller.complete();
    await tick();
    expect(run.qconn.closes).toEqual([]);
    requests[0]!.respond(of({ status: 200 }));
    await tick();
    await tick();
    expect(events).toContainEqual({ type: 'streamClosed', streamId: 0 });
    expect(run.qconn.closes).toEqual([{ app: true, errorCode: 0x100 }]);
    run.stop();
  });

  it('should shut a stream down on command: STOP_SENDING and RESET_STREAM with the given codes', async () => {
    const { h3, controller, requests, events, run } = serve();
    h3.headers(0, GET).data(0, 'a');
    run.turn();
    let bodyError: unknown;
    requests[0]!.body$.subscribe({ error: (e) => (bodyError = e) });
    controller.shutdownStream(0, { read: 0x10c, write: 0x10b });
    await tick();
    expect(run.qconn.shutdowns).toEqual([
      { streamId: 0, direction: 'read', errorCode: 0x10c },
      { streamId: 0, direction: 'write', errorCode: 0x10b },
    ]);
    expect(bodyError).toMatchObject({ code: 'StreamStopped', streamId: 0, applicationCode: 0x10c });
    expect(events).toContainEqual({ type: 'streamClosed', streamId: 0 });
    run.stop();
  });

  it('should run QUIC commands on the connection at the next turn', async () => {
    const { controller, run } = serve();
    const ran: unknown[] = [];
    controller.quicCommand({ type: 'custom', run: (qconn) => ran.push(qconn) });
    expect(ran).toEqual([]);
    await tick();
    expect(ran).toEqual([run.qconn]);
    run.stop();
  });

  it('should reject a driver started on a client connection', () => {
    const h3 = new FakeH3Connection();
    const { driver } = ServerH3Driver.create({}, fakeFactory(h3));
    expect(() => startOnFakes(driver, h3, { server: false })).toThrow(QuicError);
  });
});
