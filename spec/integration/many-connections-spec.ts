import { randomBytes } from 'node:crypto';

import { EchoClientApp, EchoServerApp } from '../helpers/echoApps';
import { type LoopbackClient, type LoopbackServer, loopbackParams, startClient, startServer, within } from '../helpers/loopback';

const CLIENTS = 20;

// tokio-quiche: mod::echo (several connections on one listener, every answer on its own connection).
describe('many connections on one listening socket', () => {
  it(`echoes ${CLIENTS} concurrent clients, each on its own connection`, async () => {
    const { server, client } = loopbackParams();
    let listener: LoopbackServer<EchoServerApp> | undefined;
    const dialers: LoopbackClient<EchoClientApp>[] = [];
    try {
      listener = await startServer(server, () => new EchoServerApp());
      // Distinct sizes and contents, so a reply on the wrong connection cannot match.
      const messages = Array.from({ length: CLIENTS }, (_, i) => randomBytes(1_000 + i * 997));
      for (const message of messages) {
        dialers.push(await startClient(listener.address, client, new EchoClientApp(message, false)));
      }

      const echoes = await within(Promise.all(dialers.map((d) => d.app.echoed)), 4_000, 'every echo');
      echoes.forEach((echo, i) => expect(echo).toEqual(messages[i]));
      // Every connection is still up on both sides (closing them, with the draining period of
      // 3 PTOs that RFC 9000 §10.2 asks for, is what the close specs cover).
      expect(dialers.filter((d) => d.conn.ended())).toEqual([]);
      expect(listener.accepted.filter((a) => a.conn.ended())).toEqual([]);
      expect(listener.accepted).toHaveLength(CLIENTS);
      expect(listener.metrics.acceptedInitialPackets).toBe(CLIENTS);
      expect(new Set(listener.accepted.map((a) => a.iqc.peerAddr.port)).size).toBe(CLIENTS);
      expect(listener.metrics.connectionsInMemory).toBe(CLIENTS);
      expect(listener.listener.ended()).toBe(false);
    } finally {
      for (const d of dialers) d.close();
      listener?.close();
    }
  });
});
