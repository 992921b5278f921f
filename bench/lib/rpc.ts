/**
 * A tiny request/response protocol over a child's IPC channel, so that an orchestrator can ask a
 * bench child to do something (run a load, report stats) and wait for its answer.
 *
 * Child → parent: `{ ready: true, ...info }` once, then `{ id, ok, value | error }` per call.
 * Parent → child: `{ id, method, args }`.
 */
import type { ChildProcess } from 'node:child_process';

interface Call {
  id: number;
  method: string;
  args: unknown;
}
interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/** Parent side of one child. */
export class ChildRpc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private exitError: Error | undefined;

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.on('message', (m: unknown) => {
      const r = m as Reply;
      if (typeof r !== 'object' || r === null || typeof r.id !== 'number') return;
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      clearTimeout(p.timer);
      if (r.ok) p.resolve(r.value);
      else p.reject(new Error(`${this.name}: ${r.error}`));
    });
    child.once('exit', (code, signal) => {
      this.exitError = new Error(`${this.name}: exited (${code ?? signal})`);
      for (const [, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(this.exitError);
      }
      this.pending.clear();
    });
  }

  /** Waits for the child's `ready` message. */
  ready<T>(timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: unknown): void => {
        const r = m as { ready?: boolean; error?: string };
        if (r && r.ready) {
          cleanup();
          resolve(r as T);
        } else if (r && typeof r.error === 'string' && !('id' in r)) {
          cleanup();
          reject(new Error(`${this.name}: ${r.error}`));
        }
      };
      const onExit = (code: number | null): void => {
        cleanup();
        reject(new Error(`${this.name}: exited before ready (${code})`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: not ready in ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }

  call<T>(method: string, args: unknown = {}, timeoutMs = 120_000): Promise<T> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${method} gave no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, method, args } satisfies Call);
    });
  }
}

/** Child side: answers calls with `handlers`, after sending `ready`. */
export function serveRpc(handlers: Record<string, (args: any) => unknown>, readyInfo: Record<string, unknown> = {}): void {
  process.on('message', (m: unknown) => {
    const c = m as Call;
    if (typeof c !== 'object' || c === null || typeof c.id !== 'number') return;
    const h = handlers[c.method];
    const reply = (r: Reply): void => {
      if (process.connected) process.send!(r);
    };
    if (!h) {
      reply({ id: c.id, ok: false, error: `no method ${c.method}` });
      return;
    }
    Promise.resolve()
      .then(() => h(c.args))
      .then(
        (value) => reply({ id: c.id, ok: true, value }),
        (e: unknown) => reply({ id: c.id, ok: false, error: describeError(e) }),
      );
  });
  // The orchestrator going away ends us too.
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true, ...readyInfo });
}

/** An error's name, message and cause chain on one line. */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  let s = `${e.name}: ${e.message}`;
  let cause = (e as { cause?: unknown }).cause;
  for (let i = 0; i < 3 && cause !== undefined; i++) {
    s += ` (cause: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)})`;
    cause = cause instanceof Error ? (cause as { cause?: unknown }).cause : undefined;
  }
  return s;
}

/** For a child's top level: report a startup failure to the parent, then exit. */
export function failChild(e: unknown): void {
  console.error(e);
  if (process.connected) process.send!({ error: describeError(e) }, () => process.exit(2));
  else process.exit(2);
}
