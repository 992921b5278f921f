import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { EchoClientApp, EchoServerApp } from '../helpers/echoApps';
import { type LoopbackClient, type LoopbackServer, loopbackParams, startClient, startServer, within } from '../helpers/loopback';

/** The JSON-SEQ records of a qlog file (each starts with RS, 0x1e). */
function records(text: string): Array<Record<string, unknown>> {
  return text
    .split('\x1e')
    .filter((r) => r.trim() !== '')
    .map((r) => JSON.parse(r) as Record<string, unknown>);
}

// tokio-quiche: qlog_compression::qlog_compression_threads_through_to_disk, plus keylog.
describe('qlog and keylog files over loopback', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rxjs-quiche-qlog-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['none', '.sqlog', (b: Buffer) => b.toString('utf8')],
    ['gzip', '.sqlog.gz', (b: Buffer) => gunzipSync(b).toString('utf8')],
  ] as const)('writes one qlog per connection with compression %s, complete once it closed', async (compression, suffix, decode) => {
    const keylogFile = join(dir, 'keys.log');
    const { server, client } = loopbackParams({ qlogDir: dir, qlogCompression: compression }, { keylogFile });
    let listener: LoopbackServer<EchoServerApp> | undefined;
    let dialer: LoopbackClient<EchoClientApp> | undefined;
    try {
      listener = await startServer(server, () => new EchoServerApp());
      dialer = await startClient(listener.address, client, new EchoClientApp(randomBytes(2_000)));
      await within(dialer.app.echoed, 2_000, 'the echo');
      const accepted = await listener.connection(0);
      await within(Promise.all([dialer.conn.outcome, accepted.conn.outcome]), 3_000, 'both sides to close');
      // The gzip stream finishes writing asynchronously after close.
      await new Promise((r) => setTimeout(r, 100));

      const files = readdirSync(dir).filter((f) => f.endsWith(suffix));
      expect(files).toHaveLength(1);
      const [header, ...events] = records(decode(readFileSync(join(dir, files[0]!))));
      expect(header).toMatchObject({ title: 'rxjs-quiche qlog' });
      expect(JSON.stringify(header)).toContain(files[0]!.slice(0, 40));
      expect(events.length).toBeGreaterThan(5);
      expect(events.some((e) => String(e['name']).includes('packet_received'))).toBe(true);

      // The client logged its TLS secrets in NSS key log format.
      const keylog = readFileSync(keylogFile, 'utf8').trim().split('\n');
      expect(keylog.some((l) => /^CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]+$/.test(l))).toBe(true);
      expect(keylog.some((l) => l.startsWith('CLIENT_TRAFFIC_SECRET_0 '))).toBe(true);
    } finally {
      dialer?.close();
      listener?.close();
    }
  });
});
