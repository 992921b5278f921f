import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import type { Subscription } from 'rxjs';

import type { InitialQuicConnection } from '../../src/connection/InitialQuicConnection';
import type { QuicConnection } from '../../src/connection/QuicConnection';
import { DefaultMetrics } from '../../src/metrics/DefaultMetrics';
import { listen$ } from '../../src/router/listen';
import { EchoClientApp, EchoServerApp } from '../helpers/echoApps';
import {
  bindUdp,
  closeAll,
  type LoopbackClient,
  loopbackParams,
  sleep,
  startClient,
  until,
  type Watched,
  watch,
  within,
} from '../helpers/loopback';

// tokio-quiche: the accept channel's capacity (`listen_backlog`) and AcceptQueueOverflow.
describe('listen backlog over loopback', () => {
  it('refuses new clients while an accepted connection waits to be started, and takes them after', async () => {
    // A short initial RTT makes the clients retransmit their Initials within a few hundred ms.
    const { server, client } = loopbackParams({ listenBacklog: 1 }, { initialRtt: 30 });
    let serverSocket: Socket | undefined;
    let listening: Subscription | undefined;
    const dialers: LoopbackClient<EchoClientApp>[] = [];
    const running: Watched<QuicConnection>[] = [];
    const metrics = new DefaultMetrics();
    try {
      serverSocket = await bindUdp();
      const accepted: InitialQuicConnection[] = [];
      // Accepted connections are held, not started, until the spec says so.
      listening = listen$(serverSocket, server, { metrics }).subscribe((iqc) => accepted.push(iqc));
      const address = serverSocket.address();

      const firstMessage = randomBytes(800);
      const first = await startClient(address, client, new EchoClientApp(firstMessage));
      dialers.push(first);
      await until(() => accepted.length === 1, 2_000, 'the first connection');

      const secondMessage = randomBytes(900);
      const second = await startClient(address, client, new EchoClientApp(secondMessage));
      dialers.push(second);
      // The backlog is full: the second client's Initials (after its Retry) are dropped and counted.
      await until(() => metrics.rejectedPackets.acceptQueueOverflow >= 1, 2_000, 'the second client to be refused');
      await sleep(100);
      expect(accepted).toHaveLength(1);
      expect(second.app.calls.onConnEstablished).toBe(0);

      // Starting the first frees the slot; the second client's next Initial is accepted.
      running.push(watch(accepted[0]!.run$(new EchoServerApp())));
      expect(await within(first.app.echoed, 2_000, 'the first echo')).toEqual(firstMessage);
      await until(() => accepted.length === 2, 2_000, 'the second connection');
      running.push(watch(accepted[1]!.run$(new EchoServerApp())));
      expect(await within(second.app.echoed, 2_000, 'the second echo')).toEqual(secondMessage);
      expect(metrics.acceptedInitialPackets).toBe(2);
    } finally {
      for (const r of running) r.subscription.unsubscribe();
      for (const d of dialers) d.close();
      listening?.unsubscribe();
      if (serverSocket) closeAll(serverSocket);
    }
  });
});
