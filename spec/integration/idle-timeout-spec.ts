import { randomBytes } from 'node:crypto';

import { EchoClientApp, EchoServerApp } from '../helpers/echoApps';
import { type LoopbackClient, type LoopbackServer, loopbackParams, startClient, startServer, within } from '../helpers/loopback';

// tokio-quiche: connection_close::test_no_connection_close_frame_on_idle_timeout.
describe('idle timeout over loopback', () => {
  it('ends both sides cleanly, and silently: neither peer sees a CONNECTION_CLOSE', async () => {
    const { server, client } = loopbackParams({ maxIdleTimeout: 300 }, { maxIdleTimeout: 300 });
    let listener: LoopbackServer<EchoServerApp> | undefined;
    let dialer: LoopbackClient<EchoClientApp> | undefined;
    try {
      listener = await startServer(server, () => new EchoServerApp());
      const message = randomBytes(1_000);
      // The client echoes once and then idles: it never closes.
      dialer = await startClient(listener.address, client, new EchoClientApp(message, false));
      expect(await within(dialer.app.echoed, 2_000, 'the echo')).toEqual(message);
      const idleFrom = Date.now();
      const accepted = await listener.connection(0);

      const [clientOutcome, serverOutcome] = await within(
        Promise.all([dialer.conn.outcome, accepted.conn.outcome]),
        3_000,
        'both sides to time out',
      );
      // Both Observables complete: an idle timeout is a clean end.
      expect(clientOutcome).toEqual({ ok: true });
      expect(serverOutcome).toEqual({ ok: true });
      expect(Date.now() - idleFrom).toBeGreaterThanOrEqual(250);
      expect(dialer.app.closeResult).toEqual({ ok: true });
      expect(accepted.app.closeResult).toEqual({ ok: true });

      for (const qconn of [dialer.app.qconn!, accepted.app.qconn!]) {
        expect(qconn.isTimedOut()).toBe(true);
        // No CONNECTION_CLOSE was sent or received.
        expect(qconn.peerError()).toBeNull();
        expect(qconn.localError()).toBeNull();
      }
      expect(listener.metrics.connectionsInMemory).toBe(0);
    } finally {
      dialer?.close();
      listener?.close();
    }
  });
});
