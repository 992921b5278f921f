import { HandshakeInfo } from '../../src/connection/HandshakeInfo';
import type { HqEvent } from '../../src/hq/HqEvent';
import type { HqHandler } from '../../src/hq/HqRequest';
import { HQ_BAD_REQUEST, HQ_INTERNAL_ERROR, HQ_NOT_FOUND, HQ_REQUEST_CANCELLED } from '../../src/hq/hqWireCodes';
import { ServerHqDriver } from '../../src/hq/ServerHqDriver';
import type { QuicheConnection } from '../../src/native/binding';
import { FakeQuicheConnection } from '../../src/testing/FakeQuicheConnection';

/** A driver on an established fake server connection, and everything it reported. */
function setup(handler: HqHandler, streamCapacity?: number): { conn: FakeQuicheConnection; q: QuicheConnection; driver: ServerHqDriver; events: HqEvent[]; turn(): void } {
  const conn = new FakeQuicheConnection({ established: true, isServer: true, ...(streamCapacity !== undefined ? { streamCapacity } : {}) });
  const q = conn as unknown as QuicheConnection;
  const driver = new ServerHqDriver(handler);
  const events: HqEvent[] = [];
  driver.event$.subscribe((e) => events.push(e));
  driver.onConnEstablished(q, new HandshakeInfo(0));
  return {
    conn,
    q,
    driver,
    events,
    turn: () => {
      driver.processReads(q);
      driver.processWrites(q);
    },
  };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ServerHqDriver', () => {
  it('should send the FIN with the last chunk of a body, not alone', () => {
    const { conn, turn } = setup(() => ['ab', 'cd'].map((c) => Buffer.from(c)));
    conn.deliverStream(0, 'GET /x\r\n', true);
    turn();
    const sends = conn.calls.filter((c) => c.method === 'streamSend').map((c) => [(c.args[1] as Buffer).toString(), c.args[2]]);
    expect(sends).toEqual([
      ['ab', false],
      ['cd', true],
    ]);
  });

  it('should answer a request line split over packets with the body and FIN, no headers', () => {
    const { conn, turn, events } = setup((req) => `body of ${req.path}`);
    conn.deliverStream(0, 'GET /a');
    turn();
    expect(conn.writtenTo(0).data.length).toBe(0);
    conn.deliverStream(0, '.txt\r\n', true);
    turn();
    expect(conn.writtenTo(0)).toEqual({ data: Buffer.from('body of /a.txt'), fin: true });
    expect(events.map((e) => e.type)).toEqual(['request', 'responseSent']);
  });

  it('should write no more than the stream takes, and the rest when it has room', () => {
    const { conn, turn } = setup(() => new Uint8Array(25).fill(7), 10);
    conn.deliverStream(0, 'GET /x\r\n', true);
    turn();
    expect(conn.writtenTo(0)).toEqual({ data: Buffer.alloc(10, 7), fin: false });
    turn();
    expect(conn.writtenTo(0).data.length).toBe(10);
    conn.setStreamCapacity(0, 100);
    turn();
    expect(conn.writtenTo(0)).toEqual({ data: Buffer.alloc(25, 7), fin: true });
  });

  it('should pull an iterable body only while the stream has room', () => {
    let pulled = 0;
    function* chunks(): Generator<Uint8Array> {
      for (let i = 0; i < 10; i++) {
        pulled++;
        yield new Uint8Array(4).fill(i);
      }
    }
    const { conn, turn } = setup(() => chunks(), 8);
    conn.deliverStream(0, 'GET /x\r\n', true);
    turn();
    // Two chunks fit in 8 bytes; with no room left, at most two more were pulled (one waiting for
    // room, one looked ahead for the end) and the rest not.
    expect(conn.writtenTo(0).data.length).toBe(8);
    expect(pulled).toBe(4);
    conn.setStreamCapacity(0, 1000);
    turn();
    expect(conn.writtenTo(0).data.length).toBe(40);
    expect(conn.writtenTo(0).fin).toBe(true);
  });

  it('should reset a malformed request both ways with HQ_BAD_REQUEST and not call the handler', () => {
    const handler = jest.fn(() => 'x');
    const { conn, turn, events } = setup(handler);
    conn.deliverStream(0, 'GET ../x\r\n');
    turn();
    expect(handler).not.toHaveBeenCalled();
    expect(conn.calls.filter((c) => c.method === 'streamShutdown').map((c) => c.args)).toEqual([
      [0, 'read', HQ_BAD_REQUEST],
      [0, 'write', HQ_BAD_REQUEST],
    ]);
    expect(events).toEqual([{ type: 'badRequest', streamId: 0, error: expect.objectContaining({ code: 'MessageError' }) }]);
  });

  it('should refuse a request line that grows past 8 KiB without a line end', () => {
    const { conn, turn, events } = setup(() => 'x');
    conn.deliverStream(0, `GET /${'a'.repeat(9000)}`);
    turn();
    expect(events[0]).toMatchObject({ type: 'badRequest' });
  });

  it('should reset with HQ_NOT_FOUND for null and HQ_INTERNAL_ERROR for a throw or a rejection', async () => {
    const { conn, turn, events } = setup((req) => {
      if (req.path === '/missing') return null;
      if (req.path === '/throw') throw new Error('boom');
      return Promise.reject(new Error('later boom'));
    });
    conn.deliverStream(0, 'GET /missing\r\n', true);
    conn.deliverStream(4, 'GET /throw\r\n', true);
    conn.deliverStream(8, 'GET /reject\r\n', true);
    turn();
    await flush();
    turn();
    const resets = conn.calls.filter((c) => c.method === 'streamShutdown').map((c) => c.args);
    expect(resets).toEqual([
      [0, 'write', HQ_NOT_FOUND],
      [4, 'write', HQ_INTERNAL_ERROR],
      [8, 'write', HQ_INTERNAL_ERROR],
    ]);
    expect(events.filter((e) => e.type === 'responseError')).toHaveLength(2);
  });

  it('should cancel the body when the client stops the stream while the handler still thinks', async () => {
    let resolve!: (body: Uint8Array) => void;
    const { conn, turn, events, driver } = setup(() => new Promise<Uint8Array>((r) => (resolve = r)));
    conn.deliverStream(0, 'GET /slow\r\n', true);
    turn();
    conn.stopByPeer(0, HQ_REQUEST_CANCELLED);
    turn();
    expect(events).toContainEqual({ type: 'stopped', streamId: 0, errorCode: HQ_REQUEST_CANCELLED });
    expect(driver.openStreams).toBe(0);
    resolve(new Uint8Array(10));
    await flush();
    turn();
    expect(conn.writtenTo(0).data.length).toBe(0);
  });

  it('should drop a request the client resets before its line is complete', () => {
    const handler = jest.fn(() => 'x');
    const { conn, turn, events, driver } = setup(handler);
    conn.deliverStream(0, 'GET /a');
    turn();
    conn.resetByPeer(0, 0x42);
    turn();
    expect(handler).not.toHaveBeenCalled();
    expect(events).toEqual([{ type: 'reset', streamId: 0, errorCode: 0x42 }]);
    expect(driver.openStreams).toBe(0);
  });

  it('should fail on a client connection', () => {
    const conn = new FakeQuicheConnection({ established: true, isServer: false });
    expect(() => new ServerHqDriver(() => 'x').onConnEstablished(conn as unknown as QuicheConnection, new HandshakeInfo(0))).toThrow(
      expect.objectContaining({ code: 'InvalidState' }),
    );
  });
});
