import { finalize, Observable, of, Subject } from 'rxjs';

import { InboundBody } from '../../src/http3/InboundBody';
import { OutboundBody } from '../../src/http3/OutboundBody';

function sink() {
  const seen: string[] = [];
  return {
    seen,
    sink: {
      chunk: (d: Uint8Array) => seen.push(Buffer.from(d).toString()),
      end: () => seen.push('end'),
      fail: (e: unknown) => seen.push(`fail ${(e as Error).message}`),
    },
  };
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** @test {OutboundBody} */
describe('OutboundBody', () => {
  it('should send a string as UTF-8 and end', () => {
    const { seen, sink: s } = sink();
    new OutboundBody('héllo', s).pull();
    expect(seen).toEqual(['héllo', 'end']);
  });

  it('should pull an iterable one chunk per pull', () => {
    const { seen, sink: s } = sink();
    const body = new OutboundBody([Buffer.from('a'), Buffer.from('b')], s);
    body.pull();
    expect(seen).toEqual(['a']);
    body.pull();
    body.pull();
    expect(seen).toEqual(['a', 'b', 'end']);
    expect(body.done).toBe(true);
  });

  it('should pull an async iterable one chunk at a time, busy while a pull is in flight', async () => {
    const { seen, sink: s } = sink();
    let produced = 0;
    const body = new OutboundBody(
      (async function* () {
        for (let i = 0; i < 3; i++) {
          produced++;
          yield Buffer.from(String(i));
        }
      })(),
      s,
    );
    body.pull();
    expect(body.busy).toBe(true);
    body.pull(); // ignored: one pull at a time
    await tick();
    expect(seen).toEqual(['0']);
    expect(produced).toBe(1);
    body.pull();
    await tick();
    body.pull();
    await tick();
    body.pull();
    await tick();
    expect(seen).toEqual(['0', '1', '2', 'end']);
  });

  it('should subscribe to an Observable on the first pull, not before', () => {
    const { seen, sink: s } = sink();
    const source = new Subject<Uint8Array>();
    const body = new OutboundBody(source, s);
    expect(source.observed).toBe(false);
    body.pull();
    expect(source.observed).toBe(true);
    source.next(Buffer.from('x'));
    source.complete();
    expect(seen).toEqual(['x', 'end']);
  });

  it('should report a failing producer', async () => {
    const { seen, sink: s } = sink();
    const body = new OutboundBody(
      (async function* () {
        yield Buffer.from('a');
        throw new Error('broken');
      })(),
      s,
    );
    body.pull();
    await tick();
    body.pull();
    await tick();
    expect(seen).toEqual(['a', 'fail broken']);
  });

  it('should stop the producer on cancel, and report nothing after', () => {
    const { seen, sink: s } = sink();
    let finalized = false;
    const source = new Subject<Uint8Array>();
    const body = new OutboundBody(source.pipe(finalize(() => (finalized = true))), s);
    body.pull();
    body.cancel();
    source.next(Buffer.from('late'));
    expect(finalized).toBe(true);
    expect(seen).toEqual([]);
  });

  it('should pull an incoming body$ through its iterator (paced), not by subscribing', async () => {
    const { seen, sink: s } = sink();
    const demands: string[] = [];
    const inbound = new InboundBody(0, { demand: () => demands.push('demand'), cancel: () => demands.push('cancel') }, 4);
    const body = new OutboundBody(inbound.body$, s);
    body.pull();
    expect(body.busy).toBe(true);
    inbound.push(Buffer.from('a'));
    await tick();
    expect(seen).toEqual(['a']);
    inbound.end();
    body.pull();
    await tick();
    expect(seen).toEqual(['a', 'end']);
    expect(demands).toContain('demand');
  });

  it('should end a synchronous Observable that completes during subscribe', () => {
    const { seen, sink: s } = sink();
    const body = new OutboundBody(of(Buffer.from('1'), Buffer.from('2')), s);
    body.pull();
    expect(seen).toEqual(['1', '2', 'end']);
    expect(body.done).toBe(true);
    expect(body.busy).toBe(false);
  });

  it('should fail an Observable that runs more than its backlog ahead of what was sent, and stop it', () => {
    const failures: unknown[] = [];
    let chunks = 0;
    let sent = 0;
    const source = new Subject<Uint8Array>();
    const body = new OutboundBody(
      source,
      { chunk: () => chunks++, end: () => undefined, fail: (e) => failures.push(e), sentBytes: () => sent },
      10_000,
    );
    body.pull();
    // 9 KB ahead, then the peer takes 5 KB: 4 KB backlog, fine.
    for (let i = 0; i < 9; i++) source.next(new Uint8Array(1_000));
    sent = 5_000;
    for (let i = 0; i < 11; i++) source.next(new Uint8Array(1_000));
    // 20 KB pushed, 5 KB sent: the 16th chunk made the backlog 11 KB > 10 KB.
    expect(chunks).toBe(16);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ code: 'BodyOverflow' });
    expect(source.observed).toBe(false);
    expect(body.done).toBe(true);
  });

  it('should stop a synchronous endless Observable at its backlog instead of buffering forever', () => {
    const failures: unknown[] = [];
    let chunks = 0;
    const endless = new Observable<Uint8Array>((subscriber) => {
      // Pushes until told to stop, inside subscribe(), like range() or a tight loop would.
      while (!subscriber.closed) subscriber.next(new Uint8Array(64 * 1024));
    });
    const body = new OutboundBody(endless, { chunk: () => chunks++, end: () => undefined, fail: (e) => failures.push(e), sentBytes: () => 0 });
    body.pull();
    expect(failures).toEqual([expect.objectContaining({ code: 'BodyOverflow' })]);
    // 16 MiB in 64 KiB chunks, plus the one that crossed the line.
    expect(chunks).toBe(257);
  });
});
