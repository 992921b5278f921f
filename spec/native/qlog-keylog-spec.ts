import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { NativePair } from '../helpers/nativePair';

/** Splits JSON-SEQ (RFC 7464): each record is RS, a JSON text, LF. */
function jsonSeq(text: string): unknown[] {
  expect(text.startsWith('\x1e')).toBe(true);
  expect(text.endsWith('\n')).toBe(true);
  return text
    .split('\x1e')
    .slice(1)
    .map((record) => {
      expect(record.endsWith('\n')).toBe(true);
      return JSON.parse(record) as unknown;
    });
}

interface QlogEvent {
  time: number;
  name: string;
  data?: unknown;
}

/** An NSS key log line: a label, the 32-byte client random, a secret, all hex. */
const KEYLOG_LINE = /^([A-Z_0-9]+) ([0-9a-f]{64}) ([0-9a-f]{64,96})$/;

describe('native qlog and key log', () => {
  it('should stream qlog as JSON-SEQ records: a header, then events, drained by each takeQlog()', () => {
    const pair = NativePair.connect();
    pair.client.enableQlogStream('spec title', 'spec description');
    pair.handshake();

    const [header, ...events] = jsonSeq(pair.client.takeQlog()?.toString('utf8') ?? '');
    expect(header).toMatchObject({
      serialization_format: 'JSON-SEQ',
      title: 'spec title',
      description: 'spec description',
      trace: { vantage_point: { type: 'client' } },
    });
    const names = (events as QlogEvent[]).map((e) => e.name);
    expect(names).toContain('quic:packet_sent');
    expect(names).toContain('quic:packet_received');
    for (const e of events as QlogEvent[]) expect(typeof e.time).toBe('number');

    // Drained: nothing new until the connection does something.
    expect(pair.client.takeQlog()).toBeNull();
    pair.client.streamSend(0, Buffer.from('x'), true);
    pair.advance();
    const more = jsonSeq(pair.client.takeQlog()?.toString('utf8') ?? '') as QlogEvent[];
    expect(more.length).toBeGreaterThan(0);
    expect(more.some((e) => e.name === 'quic:packet_sent')).toBe(true);
    // A connection that never enabled qlog has none.
    expect(pair.server.takeQlog()).toBeNull();
  });

  it('should write a qlog file whose records are complete while the connection is still open', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxjs-quiche-qlog-'));
    try {
      const path = join(dir, 'client.sqlog');
      const pair = NativePair.connect();
      pair.client.setQlogFile(path, 'file', 'on disk');
      pair.handshake();

      const [header, ...events] = jsonSeq(readFileSync(path, 'utf8'));
      expect(header).toMatchObject({ title: 'file', description: 'on disk' });
      expect(events.length).toBeGreaterThan(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should log the TLS secrets of both ends in NSS key log format, identical on both sides', () => {
    const pair = NativePair.connect({ client: { logKeys: true }, server: { logKeys: true } });
    pair.client.enableKeylogStream();
    pair.server.enableKeylogStream();
    pair.handshake();

    const parse = (text: string) =>
      text
        .trimEnd()
        .split('\n')
        .map((line) => {
          const m = KEYLOG_LINE.exec(line);
          expect(m).not.toBeNull();
          return { label: m?.[1] ?? '', random: m?.[2] ?? '', secret: m?.[3] ?? '' };
        });
    const client = parse(pair.client.takeKeylog()?.toString('utf8') ?? '');
    const server = parse(pair.server.takeKeylog()?.toString('utf8') ?? '');

    const labels = [
      'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
      'SERVER_HANDSHAKE_TRAFFIC_SECRET',
      'CLIENT_TRAFFIC_SECRET_0',
      'SERVER_TRAFFIC_SECRET_0',
    ];
    expect(client.map((l) => l.label)).toEqual(expect.arrayContaining(labels));
    expect(server.map((l) => l.label)).toEqual(expect.arrayContaining(labels));
    // One client random for the whole connection, and the same secrets at both ends.
    expect(new Set(client.map((l) => l.random)).size).toBe(1);
    const byLabel = (lines: typeof client) => new Map(lines.map((l) => [l.label, `${l.random} ${l.secret}`]));
    const serverSecrets = byLabel(server);
    for (const [label, value] of byLabel(client)) {
      if (serverSecrets.has(label)) expect(serverSecrets.get(label)).toBe(value);
    }
    expect(pair.client.takeKeylog()).toBeNull();
  });

  it('should log no secrets when the config does not enable logKeys', () => {
    const pair = NativePair.connect();
    pair.client.enableKeylogStream();
    pair.handshake();

    expect(pair.client.takeKeylog()).toBeNull();
  });
});
