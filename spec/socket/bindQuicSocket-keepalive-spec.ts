import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * A listening socket keeps a Node process alive, as a bound `node:dgram` socket does, until it is
 * closed or `unref()`'d. Each case runs in its own Node process, since "the process stays up" is
 * the behaviour under test.
 */

const ROOT = join(__dirname, '..', '..');

/** `require-loop`: the native socket read on Node's event loop instead of its receive thread. */
type Kind = 'require' | 'require-loop' | 'never';

/** Starts a Node process that binds a socket of `kind`, subscribes to it, then runs `then`. */
function child(kind: Kind, then: string): ChildProcess {
  const native = kind === 'never' ? 'never' : 'require';
  const receiveOn = kind === 'require-loop' ? 'loop' : 'thread';
  const script = `
    const { bindQuicSocket } = require('./src/socket/bindQuicSocket');
    bindQuicSocket({ native: '${native}', receiveOn: '${receiveOn}' }).then((socket) => {
      socket.incoming$.subscribe();
      process.stdout.write('receiving ' + socket.kind + '\\n');
      ${then}
    });
  `;
  return spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** Resolves with the exit code, or with 'alive' when the process is still running after `ms`. */
function exitWithin(proc: ChildProcess, ms: number): Promise<number | null | 'alive'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('alive'), ms);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Waits for the child's "receiving <kind>" line. */
function receiving(proc: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /receiving (\w+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`child exited (${code}) before receiving: ${out}`)));
  });
}

const kinds: readonly Kind[] = process.platform === 'linux' ? ['require', 'require-loop', 'never'] : ['never'];

describe.each(kinds)('bindQuicSocket({ native: %s }) and the event loop', (kind) => {
  const expected = kind === 'never' ? 'dgram' : 'native';
  const running: ChildProcess[] = [];
  afterEach(() => {
    for (const p of running.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

  it('keeps the process alive while it receives', async () => {
    const proc = child(kind, '');
    running.push(proc);
    expect(await receiving(proc)).toBe(expected);
    expect(await exitWithin(proc, 1500)).toBe('alive');
  });

  it('lets the process exit after unref()', async () => {
    const proc = child(kind, 'socket.unref();');
    running.push(proc);
    expect(await receiving(proc)).toBe(expected);
    expect(await exitWithin(proc, 10_000)).toBe(0);
  });

  it('holds the process again after ref()', async () => {
    const proc = child(kind, 'socket.unref(); socket.ref();');
    running.push(proc);
    expect(await receiving(proc)).toBe(expected);
    expect(await exitWithin(proc, 1500)).toBe('alive');
  });

  it('lets the process exit once closed', async () => {
    const proc = child(kind, 'setTimeout(() => socket.close(), 100);');
    running.push(proc);
    expect(await receiving(proc)).toBe(expected);
    expect(await exitWithin(proc, 10_000)).toBe(0);
  });
});
