import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { firstValueFrom } from 'rxjs';

import type { InitialQuicConnection } from '../../src/connection/InitialQuicConnection';
import { listen$ } from '../../src/router/listen';
import { EchoServerApp, StreamClientApp } from '../helpers/echoApps';
import {
  bindUdp,
  closeAll,
  type LoopbackClient,
  loopbackParams,
  sleep,
  startClient,
  type Watched,
  watch,
  within,
} from '../helpers/loopback';

// tokio-quiche: mod::test_ioworker_state_machine_pause.
describe('handshake() then resume() over loopback', () => {
  it('runs only the handshake, holds packets while paused, and processes them on resume()', async () => {
    const { server, client } = loopbackParams();
    let serverSocket: Socket | undefined;
    let dialer: LoopbackClient<StreamClientApp> | undefined;
    let listening: Watched<InitialQuicConnection> | undefined;
    try {
      serverSocket = await bindUdp();
      listening = watch(listen$(serverSocket, server));
      dialer = await startClient(serverSocket.address(), client, new StreamClientApp());
      const iqc = await within(listening.first, 2_000, 'the Initial');

      const app = new EchoServerApp();
      const paused = await within(iqc.handshake(app), 2_000, 'the handshake');
      // The handshake completed: the application knows, but does not run yet.
      expect(app.calls.onConnEstablished).toBe(1);
      expect(paused.connection.scid).toEqual(iqc.scid);

      // The client is established too, and sends a request the paused server holds.
      await within(dialer.app.established, 1_000, 'the client handshake');
      const message = randomBytes(2_000);
      const echo = dialer.app.request(message);
      await sleep(150);
      expect(app.calls.processReads).toBe(0);
      expect(app.calls.processWrites).toBe(0);
      expect(app.received.size).toBe(0);

      paused.resume();
      // resume() fed quiche the packets that waited and ran the application on them at once.
      expect(app.calls.processReads).toBeGreaterThanOrEqual(1);
      expect(Buffer.concat(app.received.get(0) ?? [])).toEqual(message);
      expect(await within(echo, 1_000, 'the echo')).toEqual(message);

      dialer.conn.subscription.unsubscribe();
      await expect(within(paused.connection.result, 3_000, 'the server side to end')).resolves.toEqual({ ok: true });
      expect(app.closeResult).toEqual({ ok: true });
      await expect(firstValueFrom(iqc.run$(app))).rejects.toMatchObject({ code: 'InvalidState' });
    } finally {
      listening?.subscription.unsubscribe();
      dialer?.close();
      if (serverSocket) closeAll(serverSocket);
    }
  });
});
