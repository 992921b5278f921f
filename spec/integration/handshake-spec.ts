import { firstValueFrom, lastValueFrom, take, tap } from 'rxjs';
import { randomBytes } from 'node:crypto';

import { DefaultMetrics } from '../../src/metrics/DefaultMetrics';
import { applicationOverQuic } from '../../src/application/operators/applicationOverQuic';
import { connectWithConfig$ } from '../../src/router/connectWithConfig';
import { listen$ } from '../../src/router/listen';
import { EchoClientApp, EchoServerApp } from '../helpers/echoApps';
import { bindUdp, closeAll, loopbackParams } from '../helpers/loopback';

describe('handshake over loopback', () => {
  it.each([
    ['with Retry', false],
    ['without Retry', true],
  ])('completes %s and echoes a stream', async (_name, disableClientIpValidation) => {
    const serverSocket = await bindUdp();
    const clientSocket = await bindUdp();
    const { server, client } = loopbackParams({ disableClientIpValidation });
    const serverMetrics = new DefaultMetrics();
    const serverApps: EchoServerApp[] = [];
    const listener = listen$(serverSocket, server, { metrics: serverMetrics })
      .pipe(applicationOverQuic(() => {
        const app = new EchoServerApp();
        serverApps.push(app);
        return app;
      }))
      .subscribe();
    try {
      const message = randomBytes(100_000);
      const app = new EchoClientApp(message);
      const peer = serverSocket.address();
      const conn$ = connectWithConfig$(clientSocket, 'localhost', client, app, { peer });
      const done = lastValueFrom(conn$.pipe(tap(() => undefined)), { defaultValue: null });
      expect(await app.echoed).toEqual(message);
      await done;
      expect(app.closeResult).toEqual({ ok: true });
      // One Retry per datagram of the client's first flight (its Initial may span two).
      if (disableClientIpValidation) expect(serverMetrics.retriesSent).toBe(0);
      else expect(serverMetrics.retriesSent).toBeGreaterThanOrEqual(1);
      expect(serverMetrics.acceptedInitialPackets).toBe(1);
      expect(serverApps).toHaveLength(1);
      expect(serverApps[0]!.handshakeInfo!.elapsed).toBeGreaterThanOrEqual(0);
    } finally {
      listener.unsubscribe();
      closeAll(serverSocket, clientSocket);
    }
  });

  it('emits the connection handle once established', async () => {
    const serverSocket = await bindUdp();
    const clientSocket = await bindUdp();
    const { server, client } = loopbackParams();
    const listener = listen$(serverSocket, server).pipe(applicationOverQuic(() => new EchoServerApp())).subscribe();
    try {
      const handle = await firstValueFrom(
        connectWithConfig$(clientSocket, 'localhost', client, new EchoClientApp(Buffer.from('x'), false), {
          peer: serverSocket.address(),
        }).pipe(take(1)),
      );
      expect(handle.peerAddr.port).toBe(serverSocket.address().port);
      expect(handle.scid).toHaveLength(20);
      // take(1) unsubscribed: the connection closed with a CONNECTION_CLOSE and settled ok.
      await expect(handle.result).resolves.toEqual({ ok: true });
    } finally {
      listener.unsubscribe();
      closeAll(serverSocket, clientSocket);
    }
  });
});
