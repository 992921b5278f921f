/**
 * Process helpers for the benchmarks: CPU seconds and RSS of any process from /proc (so ngtcp2's
 * programs and our Node children are measured the same way), spawning our TypeScript children with
 * an IPC channel, timed runs of external programs under /usr/bin/time, and stopping children.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.join(__dirname, '..', '..');

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/**
 * utime + stime of a process (all its threads), in seconds, from /proc/<pid>/stat. Throws when
 * the process is gone.
 */
export function procCpuSec(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/** Resident set size of a process, in bytes, from /proc/<pid>/status (VmRSS). */
export function procRssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** A UDP port that was free a moment ago (for programs that need one on the command line). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(r));
  return port;
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(t);
}

/**
 * Runs a TypeScript file of ours in a fresh Node process (own event loop) through ts-node, with
 * an IPC channel. `nodeArgs` go before the script (e.g. `--expose-gc`).
 */
export function spawnTs(file: string, args: string[], nodeArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, '-r', 'ts-node/register/transpile-only', file, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** The result of an external program run under `/usr/bin/time`. */
export interface TimedRun {
  code: number | null;
  /** Spawn to exit, ms. */
  wallMs: number;
  /** User + system CPU seconds of the program. */
  cpuSec: number;
  /** Peak RSS, bytes. */
  maxRssBytes: number;
  /** The last lines of its stderr. */
  stderrTail: string;
}

/**
 * Runs `file args` under `/usr/bin/time` (for its CPU seconds and peak RSS), kills it after
 * `timeoutMs`. `timeFile` must be a writable path private to this run.
 */
export async function timedRun(file: string, args: string[], timeFile: string, timeoutMs: number): Promise<TimedRun> {
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, file, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
    if (err.length > 20_000) err = err.slice(-4000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exited(child);
  const wallMs = performance.now() - t0;
  clearTimeout(timer);
  let cpuSec = NaN;
  let maxRssBytes = NaN;
  try {
    const last = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()!;
    const [u, s, m] = last.split(' ').map(Number);
    cpuSec = u! + s!;
    maxRssBytes = m! * 1024;
  } catch {
    // killed before time wrote anything
  }
  const stderrTail = err.trim().split('\n').slice(-3).join(' | ');
  return { code, wallMs, cpuSec, maxRssBytes, stderrTail };
}

/** The Debian version of a package, or '?'. */
export function debVersion(pkg: string): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', pkg]).toString().trim();
  } catch {
    return '?';
  }
}
