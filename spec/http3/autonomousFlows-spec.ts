import { MAX_AUTONOMOUS_FLOWS } from '../../src/http3/H3Driver';
import type { H3Event } from '../../src/http3/H3Event';
import { ServerH3Driver } from '../../src/http3/ServerH3Driver';
import { napi } from '../../src/native/binding';
import { FakeH3Connection, fakeFactory, startOnFakes } from '../helpers/h3Fake';

function serve(enableExtendedConnect: boolean) {
  const h3 = new FakeH3Connection();
  const { driver, controller } = ServerH3Driver.create({ enableExtendedConnect }, fakeFactory(h3));
  const events: H3Event[] = [];
  controller.event$.subscribe((e) => events.push(e));
  const run = startOnFakes(driver, h3);
  return { controller, events, run };
}

const datagram = (flowId: number): Uint8Array => Buffer.concat([napi.encodeVarint(flowId), Buffer.from('x')]);

describe('autonomous datagram flows', () => {
  it(`opens at most ${MAX_AUTONOMOUS_FLOWS} flows from datagrams alone, and counts the rest as unrouted`, () => {
    const { controller, events, run } = serve(true);
    for (let id = 0; id < MAX_AUTONOMOUS_FLOWS + 50; id++) run.qconn.dgramsIn.push(datagram(1000 + id));
    run.turn();
    expect(events.filter((e) => e.type === 'newFlow')).toHaveLength(MAX_AUTONOMOUS_FLOWS);
    expect(controller.unroutedDatagrams).toBe(50);
    // A second datagram for an open flow goes to it, not to a new one.
    run.qconn.dgramsIn.push(datagram(1000));
    run.turn();
    expect(events.filter((e) => e.type === 'newFlow')).toHaveLength(MAX_AUTONOMOUS_FLOWS);
    expect(controller.unroutedDatagrams).toBe(50);
    run.stop();
  });

  it('opens none on a server without extended CONNECT (tokio-quiche)', () => {
    const { controller, events, run } = serve(false);
    run.qconn.dgramsIn.push(datagram(7), datagram(8));
    run.turn();
    expect(events.filter((e) => e.type === 'newFlow')).toHaveLength(0);
    expect(controller.unroutedDatagrams).toBe(2);
    run.stop();
  });
});
