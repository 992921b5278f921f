import { firstValueFrom, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

import { Http3Error } from '../../src/errors/Http3Error';
import { QuicError } from '../../src/errors/QuicError';
import { QuicStreamError } from '../../src/errors/QuicStreamError';
import { ClientH3Driver } from '../../src/http3/ClientH3Driver';
import type { H3Event } from '../../src/http3/H3Event';
import type { H3Response } from '../../src/http3/H3Response';
import { DefaultMetrics } from '../../src/metrics/DefaultMetrics';
import { FakeH3Connection, fakeFactory, nativeError, startOnFakes } from '../helpers/h3Fake';

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function client() {
  const h3 = new FakeH3Connection();
  const { driver, controller } = ClientH3Driver.create({}, { ...fakeFactory(h3), authority: 'example.org' });
  const events: H3Event[] = [];
  controller.event$.subscribe((e) => events.push(e));
  const run = startOnFakes(driver, h3, { server: false });
  return { h3, driver, controller, events, run };
}

/** Records what a request Observable does. */
function watchRequest(request$: ReturnType<ReturnType<typeof client>['controller']['request']>) {
  const seen: { responses: H3Response[]; error?: unknown; complete: boolean } = { responses: [], complete: false };
  const subscription = request$.subscribe({
    next: (r) => seen.responses.push(r),
    error: (e) => (seen.error = e),
    complete: () => (seen.complete = true),
  });
  return { seen, subscription };
}

/** @test {ClientH3Driver} */
describe('ClientH3Driver', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => {
      expect(actual).toEqual(expected);
    });
  });

  it('should send a request on the next turn, filling in the pseudo-header fields', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { h3, controller } = client();
      // when: the request is subscribed at 5 ms
      cold('-----a').subscribe(() => controller.request({ 'x-b': '1' }).subscribe());

      // then: the worker wakes in that frame, and the request goes out with FIN (no body)
      expectObservable(controller.event$.pipe(map((e) => e.type))).toBe('5ms n', { n: 'newOutboundRequest' });
      testScheduler.schedule(() => {
        expect(h3.written).toEqual([
          {
            kind: 'request',
            streamId: 0,
            headers: [
              { name: ':method', value: 'GET' },
              { name: ':scheme', value: 'https' },
              { name: ':path', value: '/' },
              { name: ':authority', value: 'example.org' },
              { name: 'x-b', value: '1' },
            ],
            fin: true,
          },
        ]);
      }, 6);
    });
  });

  it('should emit the final response with the informational ones before it, then complete', async () => {
    const { h3, controller, run } = client();
    const { seen } = watchRequest(controller.request({ ':path': '/x' }));
    await tick();
    h3.headers(0, { ':status': '103', link: '</a>' }).headers(0, { ':status': '200', 'content-type': 'text/plain' }).data(0, 'hello');
    run.turn();
    expect(seen.responses).toHaveLength(1);
    expect(seen.complete).toBe(true);
    const response = seen.responses[0]!;
    expect(response.status).toBe(200);
    expect(response.header('Content-Type')).toBe('text/plain');
    expect(response.informational).toEqual([
      [
        { name: ':status', value: '103' },
        { name: 'link', value: '</a>' },
      ],
    ]);
    // The body is read only once somebody reads it.
    const body = firstValueFrom(response.body$);
    await tick();
    expect(Buffer.from(await body).toString()).toBe('hello');
    run.stop();
  });

  it('should hold requests back while the stream limit is reached, and send them when it lifts', async () => {
    const { h3, controller, events, run } = client();
    h3.requestErrors.push(nativeError('StreamLimit'), nativeError('StreamLimit'));
    watchRequest(controller.request({ ':path': '/1' }));
    watchRequest(controller.request({ ':path': '/2' }));
    // The wake's turn hits the limit, and so does the next one; the one after (MAX_STREAMS
    // arrived) sends both, in order.
    await tick();
    expect(h3.written).toEqual([]);
    run.turn();
    expect(h3.written).toEqual([]);
    run.turn();
    expect(h3.written.map((w) => w.kind === 'request' && w.headers.find((h) => h.name === ':path')!.value)).toEqual(['/1', '/2']);
    expect(events.filter((e) => e.type === 'newOutboundRequest')).toHaveLength(2);
    run.stop();
  });

  it('should cancel both directions with H3_REQUEST_CANCELLED when unsubscribed before the response', async () => {
    const { h3, controller, run } = client();
    const { subscription } = watchRequest(controller.request({ ':method': 'POST' }, new (class {
      async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
        yield Buffer.from('a');
        await new Promise(() => undefined);
      }
    })()));
    await tick();
    expect(h3.written[0]).toMatchObject({ kind: 'request', fin: false });
    subscription.unsubscribe();
    await tick();
    expect(run.qconn.shutdowns).toEqual([
      { streamId: 0, direction: 'read', errorCode: 0x10c },
      { streamId: 0, direction: 'write', errorCode: 0x10c },
    ]);
    run.stop();
  });

  it('should drop a queued request when unsubscribed before it was sent', async () => {
    const { h3, controller, run } = client();
    h3.requestErrors.push(nativeError('StreamBlocked'));
    const { subscription } = watchRequest(controller.request({}));
    await tick();
    subscription.unsubscribe();
    run.turn();
    expect(h3.written).toEqual([]);
    run.stop();
  });

  it('should fail the request with StreamReset when the server resets it before responding', async () => {
    const { h3, controller, run } = client();
    const { seen } = watchRequest(controller.request({}));
    await tick();
    h3.event('reset', 0, 0x10b);
    run.turn();
    expect(seen.error).toBeInstanceOf(QuicStreamError);
    expect(seen.error).toMatchObject({ code: 'StreamReset', streamId: 0, applicationCode: 0x10b });
    run.stop();
  });

  it('should fail queued requests with RequestRejected after GOAWAY and keep those in flight', async () => {
    const { h3, controller, events, run } = client();
    const first = watchRequest(controller.request({ ':path': '/in-flight' }));
    await tick();
    h3.requestErrors.push(nativeError('StreamLimit'));
    const queued = watchRequest(controller.request({ ':path': '/queued' }));
    await tick();
    h3.event('goaway', 4);
    run.turn();
    expect(events).toContainEqual({ type: 'goaway', id: 4 });
    expect(queued.seen.error).toBeInstanceOf(Http3Error);
    expect(queued.seen.error).toMatchObject({ code: 'RequestRejected', wireCode: 0x10b });
    h3.headers(0, { ':status': '200' }, false).event('finished', 0);
    run.turn();
    expect(first.seen.responses[0]?.status).toBe(200);
    // A request after GOAWAY fails at once.
    const late = watchRequest(controller.request({}));
    expect(late.seen.error).toMatchObject({ code: 'RequestRejected' });
    run.stop();
  });

  it('should fail a request whose body errors, resetting and stopping the stream', async () => {
    const { controller, run } = client();
    const boom = new Error('no more data');
    const { seen } = watchRequest(
      controller.request({ ':method': 'PUT' }, (async function* () {
        yield Buffer.from('x');
        throw boom;
      })()),
    );
    await tick();
    await tick();
    await tick();
    expect(seen.error).toBe(boom);
    expect(run.qconn.shutdowns).toEqual(
      expect.arrayContaining([
        { streamId: 0, direction: 'write', errorCode: 0x10c },
        { streamId: 0, direction: 'read', errorCode: 0x10c },
      ]),
    );
    run.stop();
  });

  it('should fail pending requests and bodies with the connection error, or ConnectionClosed after a clean close', async () => {
    const { h3, driver, controller, run } = client();
    const sent = watchRequest(controller.request({}));
    await tick();
    h3.headers(0, { ':status': '200' });
    run.turn();
    let bodyError: unknown;
    sent.seen.responses[0]!.body$.subscribe({ error: (e) => (bodyError = e) });
    h3.requestErrors.push(nativeError('StreamLimit'));
    const queued = watchRequest(controller.request({}));
    await tick();
    driver.onConnClose(run.qconn, new DefaultMetrics(), { ok: true });
    expect(bodyError).toBeInstanceOf(QuicError);
    expect(bodyError).toMatchObject({ code: 'ConnectionClosed' });
    expect(queued.seen.error).toMatchObject({ code: 'ConnectionClosed' });
    const after = watchRequest(controller.request({}));
    expect(after.seen.error).toMatchObject({ code: 'ConnectionClosed' });
  });

  it('should close with H3_NO_ERROR once the controller completes and nothing is in flight', async () => {
    const { h3, controller, run } = client();
    watchRequest(controller.request({}));
    controller.complete();
    await tick();
    expect(run.qconn.closes).toEqual([]);
    h3.headers(0, { ':status': '204' }, false).event('finished', 0);
    run.turn();
    expect(run.qconn.closes).toEqual([{ app: true, errorCode: 0x100 }]);
    run.stop();
  });
});
