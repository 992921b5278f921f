/**
 * The regression guard for the native boundary: a fixed in-process transfer (an in-memory pair, no
 * sockets, no timers) whose crossing counts are deterministic, compared with the baseline recorded
 * in `bench/baseline.json`. It measures what the design depends on, not seconds, so it gives the
 * same answer on a busy or a quiet machine:
 *
 * - datagrams per batch: one `send()` crossing fills the caller's buffer, one `recv()` crossing
 *   takes it whole (GRO-style);
 * - stream bytes per `streamSend()` / `streamRecv()` crossing (large chunks);
 * - total native crossings for the transfer.
 *
 *   npm run bench:check              # compare with the baseline; exit 1 on a regression
 *   npm run bench:check -- --record  # write the current figures as the new baseline
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { NativePair } from '../spec/helpers/nativePair';

const TOTAL = 16 * 1024 * 1024;
const CHUNK = 64 * 1024;
// A figure may move this much (relative) before it counts as a regression.
const TOLERANCE = 0.1;

interface Figures {
  datagramsPerBatch: number;
  bytesPerStreamSend: number;
  bytesPerStreamRecv: number;
  crossings: number;
}

function measure(): Figures {
  const pair = NativePair.connect({
    client: { initialMaxData: 64_000_000, initialMaxStreamDataBidiLocal: 16_000_000, initialMaxStreamDataBidiRemote: 16_000_000 },
    server: { initialMaxData: 64_000_000, initialMaxStreamDataBidiLocal: 16_000_000, initialMaxStreamDataBidiRemote: 16_000_000 },
  });
  pair.handshake();
  const batches0 = pair.batchesMoved;
  const datagrams0 = pair.datagramsMoved;
  const chunk = new Uint8Array(CHUNK).fill(7);
  const buf = new Uint8Array(CHUNK);
  let sent = 0;
  let received = 0;
  let streamSends = 0;
  let streamRecvs = 0;
  let fin = false;
  while (!fin) {
    while (sent < TOTAL) {
      const len = Math.min(CHUNK, TOTAL - sent);
      streamSends++;
      const n = pair.client.streamSend(0, chunk.subarray(0, len), sent + len === TOTAL);
      if (n === null || n === 0) break;
      sent += n;
    }
    pair.advance();
    for (;;) {
      streamRecvs++;
      const r = pair.server.streamRecv(0, buf);
      if (r === null) break;
      received += r.bytes;
      if (r.fin) {
        fin = true;
        break;
      }
    }
    pair.advance();
  }
  if (received !== TOTAL) throw new Error(`received ${received} of ${TOTAL} bytes`);
  const batches = pair.batchesMoved - batches0;
  const datagrams = pair.datagramsMoved - datagrams0;
  // Each batch is one send() crossing and one recv() crossing.
  return {
    datagramsPerBatch: round(datagrams / batches),
    bytesPerStreamSend: Math.round(TOTAL / streamSends),
    bytesPerStreamRecv: Math.round(TOTAL / streamRecvs),
    crossings: 2 * batches + streamSends + streamRecvs,
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

const baselineFile = join(__dirname, 'baseline.json');
const figures = measure();
if (process.argv.includes('--record')) {
  writeFileSync(baselineFile, `${JSON.stringify({ transferBytes: TOTAL, ...figures }, null, 2)}\n`);
  console.log('recorded', figures);
  process.exit(0);
}
const baseline = JSON.parse(readFileSync(baselineFile, 'utf8')) as Figures;
const rows: Array<[keyof Figures, 'higher' | 'lower']> = [
  ['datagramsPerBatch', 'higher'],
  ['bytesPerStreamSend', 'higher'],
  ['bytesPerStreamRecv', 'higher'],
  ['crossings', 'lower'],
];
let failed = 0;
for (const [name, better] of rows) {
  const now = figures[name];
  const was = baseline[name];
  const worse = better === 'higher' ? now < was * (1 - TOLERANCE) : now > was * (1 + TOLERANCE);
  if (worse) failed++;
  console.log(`${worse ? '✕' : '✓'} ${name.padEnd(20)} ${String(now).padStart(10)}  (baseline ${was}, ${better} is better)`);
}
console.log(`${rows.length - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
