import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import type { Subscription } from 'rxjs';

import { HandshakeError } from '../../src/errors/HandshakeError';
import { QuicTransportError } from '../../src/errors/QuicTransportError';
import { DefaultMetrics } from '../../src/metrics/DefaultMetrics';
import { listen$ } from '../../src/router/listen';
import { EchoClientApp, EchoServerApp } from '../helpers/echoApps';
import { bindUdp, closeAll, type LoopbackClient, loopbackParams, startClient, watch, within } from '../helpers/loopback';

/** Transport CONNECTION_REFUSED (RFC 9000 §20.1). */
const CONNECTION_REFUSED = 0x2;

describe('rejecting an InitialQuicConnection over loopback', () => {
  it('refuses that client with CONNECTION_REFUSED and leaves other connections alone', async () => {
    const { server, client } = loopbackParams();
    let serverSocket: Socket | undefined;
    let listening: Subscription | undefined;
    const dialers: LoopbackClient<EchoClientApp>[] = [];
    const metrics = new DefaultMetrics();
    try {
      serverSocket = await bindUdp();
      // The first connection is refused; the others are served.
      let seen = 0;
      const served: EchoServerApp[] = [];
      listening = listen$(serverSocket, server, { metrics }).subscribe((iqc) => {
        if (seen++ === 0) return iqc.reject();
        const app = new EchoServerApp();
        served.push(app);
        watch(iqc.run$(app));
      });
      const address = serverSocket.address();

      const refused = await startClient(address, client, new EchoClientApp(Buffer.from('anyone there?')));
      dialers.push(refused);
      const outcome = await within(refused.conn.outcome, 3_000, 'the refused handshake to fail');
      expect(outcome.ok).toBe(false);
      const error = (outcome as { error: unknown }).error;
      expect(error).toBeInstanceOf(HandshakeError);
      expect((error as HandshakeError).code).toBe('HandshakeConnectionClosed');
      const cause = (error as HandshakeError).cause;
      expect(cause).toBeInstanceOf(QuicTransportError);
      expect(cause).toMatchObject({ fromPeer: true, isApplication: false, errorCode: CONNECTION_REFUSED });
      expect(refused.app.calls.onConnEstablished).toBe(0);
      expect(refused.metrics.failedHandshakes.disconnect).toBe(1);

      const message = randomBytes(5_000);
      const welcome = await startClient(address, client, new EchoClientApp(message));
      dialers.push(welcome);
      expect(await within(welcome.app.echoed, 2_000, 'the echo on the next connection')).toEqual(message);
      expect(await within(welcome.conn.outcome, 3_000, 'the served connection to end')).toEqual({ ok: true });
      expect(served).toHaveLength(1);
      expect(metrics.acceptedInitialPackets).toBe(2);
    } finally {
      for (const d of dialers) d.close();
      listening?.unsubscribe();
      if (serverSocket) closeAll(serverSocket);
    }
  });
});
