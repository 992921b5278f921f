import { sleep } from '../helpers/loopback';
import { connectH3, fetchText, startH3Server } from '../helpers/h3Loopback';

describe('HTTP/3 post-accept timeout over loopback', () => {
  it('should close an idle connection with H3_NO_ERROR after postAcceptTimeout (tokio-quiche test_post_accept_timeout)', async () => {
    const server = await startH3Server(() => ({ status: 200 }), { postAcceptTimeout: 300 });
    const started = Date.now();
    const client = await connectH3(server.port);
    try {
      // No request: the server closes, and the client's connection ends cleanly.
      expect(await client.ended).toEqual({ ok: true });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(3_000);
      expect(client.events).toContainEqual({ type: 'connectionClosed', local: null, peer: { isApp: true, errorCode: 0x100, reason: '' } });
      const served = server.connections[0]!;
      expect(served.events).toContainEqual({ type: 'connectionShutdown', reason: 'postAcceptTimeout' });
      expect(served.events.filter((e) => e.type === 'headers')).toHaveLength(0);
    } finally {
      client.close();
      server.close();
    }
  });

  it('should not close once a request came in time (tokio-quiche test_post_accept_timeout_is_reset)', async () => {
    const server = await startH3Server(() => ({ status: 200, body: 'ok' }), { postAcceptTimeout: 300 });
    const client = await connectH3(server.port);
    try {
      await sleep(150);
      expect((await fetchText(client.conn, { ':path': '/1' })).response.status).toBe(200);
      await sleep(400);
      expect((await fetchText(client.conn, { ':path': '/2' })).response.status).toBe(200);
      const served = server.connections[0]!;
      expect(served.events.filter((e) => e.type === 'connectionShutdown')).toEqual([]);
      expect(served.events.filter((e) => e.type === 'headers')).toHaveLength(2);
    } finally {
      client.close();
      server.close();
    }
  });
});
