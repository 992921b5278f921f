/**
 * Raw-QUIC bulk transfer over loopback through the whole RxJS pipeline (node:dgram sockets, the
 * router, one worker per side, an ApplicationOverQuic source and sink), both ends in this process.
 *
 * Ours only: the side-by-side suite against tokio-quiche, ngtcp2 and the Node QUIC libraries is
 * the performance issue's work. Not part of `npm test`.
 *
 *   npm run bench:raw -- [MiB per run, default 200] [runs, default 5] [--socket native|dgram]
 *
 * `--socket native` uses the native Linux socket (GSO sends, recvmmsg + GRO on a thread) on both
 * ends through `listenWithCapabilities$`; `dgram` (the default) uses node:dgram.
 */
import { Subject } from 'rxjs';

import { applicationOverQuic, connectWithConfig$, listen$, type ApplicationOverQuic, type QuicheConnection } from '../src';
import { listenWithCapabilities$ } from '../src/router/listen';
import { bindNativeUdpSocket, type NativeUdpSocketStats } from '../src/socket/NativeUdpSocket';
import { bindUdp, loopbackParams } from '../spec/helpers/loopback';

const args = process.argv.slice(2);
const socketFlag = args.indexOf('--socket');
const SOCKET = socketFlag >= 0 ? args.splice(socketFlag, 2)[1] : 'dgram';
if (SOCKET !== 'native' && SOCKET !== 'dgram') throw new Error(`--socket native|dgram, not ${SOCKET}`);
const MIB = Number(args[0] ?? 200);
const RUNS = Number(args[1] ?? 5);
const TOTAL = MIB * 1024 * 1024;

/** Reads every stream to its end and reports how long the data took to arrive. */
class Sink implements ApplicationOverQuic {
  private ok = false;
  private readonly buf = new Uint8Array(65536);
  private t0 = 0;
  private resolve!: (ms: number) => void;
  readonly elapsed = new Promise<number>((r) => (this.resolve = r));
  onConnEstablished(): void {
    this.ok = true;
  }
  shouldAct(): boolean {
    return this.ok;
  }
  waitForData(): Subject<never> {
    return new Subject<never>();
  }
  processReads(q: QuicheConnection): void {
    for (const id of q.readable()) {
      let r;
      while ((r = q.streamRecv(id, this.buf))) {
        if (this.t0 === 0) this.t0 = performance.now();
        if (r.fin) this.resolve(performance.now() - this.t0);
      }
    }
  }
  processWrites(): void {}
}

/** Writes TOTAL bytes on stream 0 as fast as quiche takes them. */
class Source implements ApplicationOverQuic {
  private ok = false;
  private sent = 0;
  private readonly chunk = new Uint8Array(65536);
  onConnEstablished(): void {
    this.ok = true;
  }
  shouldAct(): boolean {
    return this.ok;
  }
  waitForData(): Subject<never> {
    return new Subject<never>();
  }
  processReads(): void {}
  processWrites(q: QuicheConnection): void {
    while (this.sent < TOTAL) {
      const len = Math.min(this.chunk.length, TOTAL - this.sent);
      const n = q.streamSend(0, this.chunk.subarray(0, len), this.sent + len >= TOTAL);
      if (!n) return;
      this.sent += n;
    }
  }
}

async function once(): Promise<{ mibps: number; cpuSecPerGiB: number; stats?: NativeUdpSocketStats[] }> {
  return SOCKET === 'native' ? onceNative() : onceDgram();
}

async function onceNative(): Promise<{ mibps: number; cpuSecPerGiB: number; stats: NativeUdpSocketStats[] }> {
  const s = await bindNativeUdpSocket('127.0.0.1', 0);
  const c = await bindNativeUdpSocket('127.0.0.1', 0);
  const { server, client } = loopbackParams(
    { initialMaxData: 50_000_000, initialMaxStreamDataBidiRemote: 20_000_000 },
    { initialMaxData: 50_000_000 },
  );
  const sink = new Sink();
  const l = listenWithCapabilities$([s], server).pipe(applicationOverQuic(() => sink)).subscribe();
  const cpu0 = process.cpuUsage();
  const sub = connectWithConfig$(c, 'localhost', client, new Source(), { peer: s.localAddress }).subscribe();
  const ms = await sink.elapsed;
  const cpu = process.cpuUsage(cpu0);
  sub.unsubscribe();
  l.unsubscribe();
  const stats = [c.stats(), s.stats()];
  s.close();
  c.close();
  return { mibps: MIB / (ms / 1000), cpuSecPerGiB: (cpu.user + cpu.system) / 1e6 / (MIB / 1024), stats };
}

async function onceDgram(): Promise<{ mibps: number; cpuSecPerGiB: number }> {
  const s = await bindUdp();
  const c = await bindUdp();
  const { server, client } = loopbackParams(
    { initialMaxData: 50_000_000, initialMaxStreamDataBidiRemote: 20_000_000 },
    { initialMaxData: 50_000_000 },
  );
  const sink = new Sink();
  const l = listen$(s, server).pipe(applicationOverQuic(() => sink)).subscribe();
  const cpu0 = process.cpuUsage();
  const sub = connectWithConfig$(c, 'localhost', client, new Source(), { peer: s.address() }).subscribe();
  const ms = await sink.elapsed;
  const cpu = process.cpuUsage(cpu0);
  sub.unsubscribe();
  l.unsubscribe();
  s.close();
  c.close();
  return { mibps: MIB / (ms / 1000), cpuSecPerGiB: (cpu.user + cpu.system) / 1e6 / (MIB / 1024) };
}

(async () => {
  const results = [];
  for (let i = 0; i < RUNS; i++) {
    process.stderr.write(`\rrun ${i + 1}/${RUNS}…`);
    const r = await once();
    results.push(r);
    if (process.env.BENCH_VERBOSE) {
      console.error(`\nrun ${i + 1}: ${r.mibps.toFixed(1)} MiB/s, ${r.cpuSecPerGiB.toFixed(1)} CPU s/GiB`);
      if (r.stats) console.error('  client', JSON.stringify(r.stats[0]), '\n  server', JSON.stringify(r.stats[1]));
    }
  }
  process.stderr.write('\r');
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `raw QUIC bulk, ${MIB} MiB, one stream, ${SOCKET === 'native' ? 'native UDP socket' : 'node:dgram'}, both ends in one process, median of ${RUNS}: ` +
      `${median(results.map((r) => r.mibps)).toFixed(1)} MiB/s, ` +
      `${median(results.map((r) => r.cpuSecPerGiB)).toFixed(1)} CPU s per GiB (both ends)`,
  );
})();
