import { HandshakeInfo } from '../../src/connection/HandshakeInfo';
import { QuicStreamError } from '../../src/errors/QuicStreamError';
import { ClientHqDriver } from '../../src/hq/ClientHqDriver';
import { HQ_NOT_FOUND, HQ_REQUEST_CANCELLED } from '../../src/hq/hqWireCodes';
import type { QuicheConnection } from '../../src/native/binding';
import { FakeQuicheConnection } from '../../src/testing/FakeQuicheConnection';

function setup(streamCapacity?: number): { conn: FakeQuicheConnection; driver: ClientHqDriver; turn(): void } {
  const conn = new FakeQuicheConnection({ established: true, isServer: false, ...(streamCapacity !== undefined ? { streamCapacity } : {}) });
  const q = conn as unknown as QuicheConnection;
  const driver = new ClientHqDriver();
  driver.onConnEstablished(q, new HandshakeInfo(0));
  return {
    conn,
    driver,
    turn: () => {
      driver.processReads(q);
      driver.processWrites(q);
    },
  };
}

describe('ClientHqDriver', () => {
  it('should send GET and FIN on streams 0, 4, … and emit each body until its FIN', () => {
    const { conn, driver, turn } = setup();
    const got: Record<string, string[]> = { a: [], b: [] };
    const done: string[] = [];
    driver.request('/a').subscribe({ next: (c) => got['a']!.push(Buffer.from(c).toString()), complete: () => done.push('a') });
    driver.request('/b').subscribe({ next: (c) => got['b']!.push(Buffer.from(c).toString()), complete: () => done.push('b') });
    turn();
    expect(conn.writtenTo(0)).toEqual({ data: Buffer.from('GET /a\r\n'), fin: true });
    expect(conn.writtenTo(4)).toEqual({ data: Buffer.from('GET /b\r\n'), fin: true });
    conn.deliverStream(4, 'bee');
    conn.deliverStream(0, 'ay', true);
    turn();
    conn.deliverStream(4, '', true);
    turn();
    expect(got).toEqual({ a: ['ay'], b: ['bee'] });
    expect(done).toEqual(['a', 'b']);
    expect(driver.openRequests).toBe(0);
  });

  it('should finish a request line the stream could not take at once', () => {
    const { conn, driver, turn } = setup(4);
    driver.request('/abcdef').subscribe();
    turn();
    expect(conn.writtenTo(0)).toEqual({ data: Buffer.from('GET '), fin: false });
    conn.setStreamCapacity(0, 100);
    turn();
    expect(conn.writtenTo(0)).toEqual({ data: Buffer.from('GET /abcdef\r\n'), fin: true });
  });

  it('should fail a request the server resets with a QuicStreamError carrying its code', () => {
    const { conn, driver, turn } = setup();
    let error: unknown;
    driver.request('/missing').subscribe({ error: (e: unknown) => (error = e) });
    turn();
    conn.resetByPeer(0, HQ_NOT_FOUND);
    turn();
    expect(error).toBeInstanceOf(QuicStreamError);
    expect(error).toMatchObject({ code: 'StreamReset', streamId: 0, applicationCode: HQ_NOT_FOUND });
  });

  it('should send STOP_SENDING when unsubscribed mid-body', () => {
    const { conn, driver, turn } = setup();
    const sub = driver.request('/big').subscribe();
    turn();
    conn.deliverStream(0, 'part');
    turn();
    sub.unsubscribe();
    turn();
    expect(conn.calls.filter((c) => c.method === 'streamShutdown').map((c) => c.args)).toEqual([[0, 'read', HQ_REQUEST_CANCELLED]]);
    expect(driver.openRequests).toBe(0);
  });

  it('should fail what is open with ConnectionClosed after a clean close', () => {
    const { driver, turn } = setup();
    let error: unknown;
    driver.request('/a').subscribe({ error: (e: unknown) => (error = e) });
    turn();
    driver.dispose({ ok: true });
    expect(error).toMatchObject({ code: 'ConnectionClosed' });
  });
});
