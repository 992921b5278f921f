import { ClientH3Driver } from '../../src/http3/ClientH3Driver';
import type { H3Event } from '../../src/http3/H3Event';
import type { H3Request } from '../../src/http3/H3Request';
import { formatPriority } from '../../src/http3/H3Priority';
import { ServerH3Driver } from '../../src/http3/ServerH3Driver';
import { FakeH3Connection, fakeFactory, startOnFakes } from '../helpers/h3Fake';

const GET = { ':method': 'GET', ':scheme': 'https', ':authority': 'localhost', ':path': '/' };

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** @test {formatPriority} */
describe('formatPriority', () => {
  it('should write RFC 9218 Priority Field Values', () => {
    expect(formatPriority({ urgency: 3, incremental: true })).toBe('u=3, i');
    expect(formatPriority({ urgency: 0, incremental: false })).toBe('u=0');
    expect(() => formatPriority({ urgency: 8, incremental: false })).toThrow(RangeError);
  });
});

/** @test {ServerH3Driver} */
describe('ServerH3Driver priorities (RFC 9218)', () => {
  function server() {
    const h3 = new FakeH3Connection();
    const { driver, controller } = ServerH3Driver.create({}, fakeFactory(h3));
    const events: H3Event[] = [];
    controller.event$.subscribe((e) => events.push(e));
    const requests: H3Request[] = [];
    controller.request$.subscribe((r) => requests.push(r));
    const run = startOnFakes(driver, h3);
    return { h3, events, requests, run };
  }

  it('should send a response with the priority it asks for', async () => {
    const { h3, requests, run } = server();
    h3.headers(0, GET, false).event('finished', 0);
    run.turn();
    requests[0]!.respond({ status: 200, body: 'x', priority: { urgency: 0, incremental: false } });
    await tick();
    expect(h3.written[0]).toMatchObject({ kind: 'response', streamId: 0, urgency: 0, incremental: false });
  });

  it('should answer 500 for a response priority with an urgency outside 0-7', async () => {
    const { h3, events, requests, run } = server();
    h3.headers(0, GET, false).event('finished', 0);
    run.turn();
    requests[0]!.respond({ status: 200, priority: { urgency: 9, incremental: false } });
    await tick();
    expect(h3.written[0]).toMatchObject({ kind: 'response', headers: [{ name: ':status', value: '500' }] });
    expect(events.some((e) => e.type === 'responseError')).toBe(true);
  });

  it('should expose a PRIORITY_UPDATE that came before the request, and later ones as they come', () => {
    const { h3, events, requests, run } = server();
    // quiche reports a PRIORITY_UPDATE for a stream not open yet too, and keeps its value.
    h3.priorityUpdates.set(0, 'u=1');
    h3.event('priorityUpdate', 0);
    h3.headers(0, GET, false);
    run.turn();
    expect(requests[0]!.priority).toBe('u=1');
    h3.priorityUpdates.set(0, 'u=5, i');
    h3.event('priorityUpdate', 0);
    run.turn();
    expect(requests[0]!.priority).toBe('u=5, i');
    expect(events).toContainEqual({ type: 'priorityUpdate', streamId: 0, value: 'u=5, i' });
  });
});

/** @test {ClientH3Driver} */
describe('ClientH3Driver priorities (RFC 9218)', () => {
  function client() {
    const h3 = new FakeH3Connection();
    const { driver, controller } = ClientH3Driver.create({}, { ...fakeFactory(h3), authority: 'example.org' });
    const run = startOnFakes(driver, h3, { server: false });
    return { h3, controller, run };
  }

  it('should send the priority option as a priority header', async () => {
    const { h3, controller } = client();
    controller.request({ ':path': '/' }, undefined, { priority: { urgency: 1, incremental: true } }).subscribe();
    await tick();
    expect(h3.written[0]).toMatchObject({ kind: 'request', headers: expect.arrayContaining([{ name: 'priority', value: 'u=1, i' }]) });
  });

  it('should send PRIORITY_UPDATE for an open request on the next turn', async () => {
    const { h3, controller } = client();
    controller.request({ ':path': '/' }, 'body that keeps the stream open').subscribe();
    await tick();
    controller.updatePriority(0, { urgency: 6, incremental: false });
    await tick();
    expect(h3.written).toContainEqual({ kind: 'priorityUpdate', streamId: 0, urgency: 6, incremental: false });
    expect(() => controller.updatePriority(0, { urgency: -1, incremental: false })).toThrow(RangeError);
  });
});
