import { take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

import { DefaultMetrics } from '../../src/metrics/DefaultMetrics';
import { ConnectionInbox } from '../../src/router/ConnectionInbox';
import type { Incoming } from '../../src/socket/Incoming';
import { fakeIncoming, shortHeaderPacket } from '../../src/testing/fakeIncoming';
import { cid, observableMatcher } from '../helpers/marbles';

/** Distinct packets for one connection: the payload byte tells them apart. */
function packets(...names: string[]): Record<string, Incoming> {
  return Object.fromEntries(names.map((n) => [n, fakeIncoming(shortHeaderPacket(cid(0xa1), Buffer.from(n)))]));
}

/** @test {ConnectionInbox} */
describe('ConnectionInbox', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('queues packets while nobody reads, and gives them to the reader first, then live ones', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const values = packets('a', 'b', 'c');
      const wire$ = hot('     -a-b------c--', values);
      const readerSubs = '    -----^-------';
      const expected = '      -----(ab)-c--';

      const inbox = new ConnectionInbox();
      wire$.subscribe((p) => inbox.deliver(p));

      expectObservable(inbox.packet$, readerSubs).toBe(expected, values);
    });
  });

  it('keeps at most `capacity` packets while unread, dropping and counting the rest', () => {
    const metrics = new DefaultMetrics();
    const inbox = new ConnectionInbox(2, metrics);
    testScheduler.run(({ hot, expectObservable }) => {
      const values = packets('a', 'b', 'c', 'd', 'e');
      const wire$ = hot('     -abcd------e--', values);
      const readerSubs = '    ------^-------';
      const expected = '      ------(ab)-e--';

      wire$.subscribe((p) => inbox.deliver(p));

      expectObservable(inbox.packet$, readerSubs).toBe(expected, values);
    });

    expect(metrics.rejectedPackets.connectionQueueFull).toBe(2);
    expect(inbox.queued).toBe(0);
  });

  it('never queues while a reader is subscribed', () => {
    const metrics = new DefaultMetrics();
    const inbox = new ConnectionInbox(1, metrics);
    testScheduler.run(({ hot, expectObservable }) => {
      const values = packets('a', 'b', 'c');
      const wire$ = hot('     -abc--', values);
      const expected = '      -abc--';

      wire$.subscribe((p) => inbox.deliver(p));

      expectObservable(inbox.packet$).toBe(expected, values);
    });

    expect(metrics.rejectedPackets.connectionQueueFull).toBe(0);
    expect(inbox.queued).toBe(0);
  });

  it('has one reader at a time: a new reader takes over from the previous one', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const values = packets('a', 'b', 'c');
      const wire$ = hot('     -a---b--c--', values);
      const firstSubs = '     ^----------';
      const secondSubs = '    ---^-------';
      const first = '         -a---------';
      const second = '        -----b--c--';

      const inbox = new ConnectionInbox();
      wire$.subscribe((p) => inbox.deliver(p));

      expectObservable(inbox.packet$, firstSubs).toBe(first, values);
      expectObservable(inbox.packet$, secondSubs).toBe(second, values);
    });
  });

  it('queues again after its reader leaves, for the next reader', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const values = packets('a', 'b', 'c');
      const wire$ = hot('     -a---b-c-------', values);
      const firstSubs = '     ^--!-----------';
      const secondSubs = '    ---------^-----';
      const first = '         -a-------------';
      const second = '        ---------(bc)--';

      const inbox = new ConnectionInbox();
      wire$.subscribe((p) => inbox.deliver(p));

      expectObservable(inbox.packet$, firstSubs).toBe(first, values);
      expectObservable(inbox.packet$, secondSubs).toBe(second, values);
    });
  });

  // Bug: ConnectionInbox.packet$ replays the queue in a loop guarded by `this.reader === reader`,
  // but `this.reader` is only cleared by the teardown, which RxJS runs after the subscribe function
  // returns. A reader that unsubscribes during the replay (take(1), or a worker pausing) makes the
  // loop shift every remaining packet into a closed subscriber: they are lost, and not counted.
  it('leaves the rest queued when a reader stops during the replay', () => {
    const values = packets('a', 'b', 'c');
    const inbox = new ConnectionInbox();
    for (const p of Object.values(values)) inbox.deliver(p);
    const got: Incoming[] = [];

    inbox.packet$.pipe(take(1)).subscribe((p) => got.push(p));

    expect(got).toEqual([values.a]);
    expect(inbox.queued).toBe(2);
  });
});
