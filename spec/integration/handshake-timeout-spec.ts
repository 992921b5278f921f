import { HandshakeError } from '../../src/errors/HandshakeError';
import { napi } from '../../src/native/binding';
import { EchoServerApp } from '../helpers/echoApps';
import { type LoopbackServer, loopbackParams, type Outcome, startServer, until, within } from '../helpers/loopback';
import { RawClient } from '../helpers/rawClient';

/** Transport APPLICATION_ERROR (RFC 9000 §20.1): what a server sends when its handshake times out. */
const APPLICATION_ERROR = 0xc;

// tokio-quiche: timeouts::test_handshake_timeout_with_one_client_flight.
describe('handshake timeout over loopback', () => {
  it('closes a handshake the client stalls with transport APPLICATION_ERROR and fails it with HandshakeTimeout', async () => {
    const { server, client } = loopbackParams({ handshakeTimeout: 500 });
    let listener: LoopbackServer<EchoServerApp> | undefined;
    let raw: RawClient | undefined;
    try {
      listener = await startServer(server, () => new EchoServerApp());
      raw = await RawClient.open(listener.address, client);

      // First flight: the Initial, answered with a Retry.
      expect(raw.flush()).toBeGreaterThanOrEqual(1);
      await raw.receive(1, 2_000);
      expect(napi.parseHeader(raw.received[0]!, 20).type).toBe('retry');
      raw.feed();
      // The Initial again, with the Retry's token: the server accepts it, and then hears nothing more.
      expect(raw.flush()).toBeGreaterThanOrEqual(1);
      const started = Date.now();

      const accepted = await listener.connection(0);
      const outcome: Outcome = await within(accepted.conn.outcome, 3_000, 'the server connection to end');
      const elapsed = Date.now() - started;

      expect(outcome.ok).toBe(false);
      const error = (outcome as { error: unknown }).error;
      expect(error).toBeInstanceOf(HandshakeError);
      expect((error as HandshakeError).code).toBe('HandshakeTimeout');
      // Not earlier than the timeout (allowing for timer granularity), and not much later.
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(1_500);
      expect(listener.metrics.failedHandshakes.timeout).toBe(1);
      expect(listener.metrics.connectionsInMemory).toBe(0);
      // The application never started.
      expect(accepted.app.calls.onConnEstablished).toBe(0);

      // The client still reads what arrives (it only stopped sending): the server's flight, then
      // its CONNECTION_CLOSE.
      await until(
        () => {
          raw!.feed();
          return raw!.conn.peerError() !== null;
        },
        1_000,
        "the server's CONNECTION_CLOSE at the client",
      );
      expect(raw.conn.peerError()).toEqual({ isApp: false, errorCode: APPLICATION_ERROR, reason: '' });
      expect(listener.listener.ended()).toBe(false);
    } finally {
      raw?.close();
      listener?.close();
    }
  });
});
