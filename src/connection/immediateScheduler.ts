import { type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';

/**
 * One scheduled piece of work: runs on Node's `setImmediate` (or `setTimeout` for a delay), once
 * per `schedule` call, until unsubscribed.
 */
class ImmediateAction<T> extends Subscription implements SchedulerAction<T> {
  private handle: { kind: 'immediate'; id: NodeJS.Immediate } | { kind: 'timeout'; id: NodeJS.Timeout } | null = null;

  constructor(private readonly work: (this: SchedulerAction<T>, state?: T) => void) {
    super(() => this.cancel());
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.cancel();
    const run = (): void => {
      this.handle = null;
      if (!this.closed) this.work.call(this, state);
    };
    this.handle = delay > 0 ? { kind: 'timeout', id: setTimeout(run, delay) } : { kind: 'immediate', id: setImmediate(run) };
    return this;
  }

  private cancel(): void {
    if (this.handle === null) return;
    if (this.handle.kind === 'immediate') clearImmediate(this.handle.id);
    else clearTimeout(this.handle.id);
    this.handle = null;
  }
}

/**
 * Runs work on Node's `setImmediate`: after the current callback and every microtask it queued
 * (Promise continuations included), in the same turn of the event loop when scheduled from its
 * poll phase. RxJS 7 has no such scheduler (its `asapScheduler` is a microtask, which runs before
 * a Promise chain settles). The worker flushes on it, so what the application writes in reaction
 * to a packet (an `await`ed response followed by the next request) leaves in the same datagram as
 * the ACK for that packet. Not virtualised by `TestScheduler`: marble specs pass their own.
 */
export const immediateScheduler: SchedulerLike = {
  now: () => Date.now(),
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
    return new ImmediateAction<T>(work).schedule(state, delay);
  },
};
