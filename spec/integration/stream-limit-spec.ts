import { randomBytes } from 'node:crypto';

import { EchoServerApp, StreamClientApp } from '../helpers/echoApps';
import { type LoopbackClient, type LoopbackServer, loopbackParams, startClient, startServer, within } from '../helpers/loopback';

// tokio-quiche: stream_limit::test_bidi_stream_limit_reached.
describe('bidirectional stream limit over loopback', () => {
  it('blocks the third stream with StreamLimit until MAX_STREAMS, then completes all three', async () => {
    const { server, client } = loopbackParams({ initialMaxStreamsBidi: 2 }, { enableSendStreamsBlocked: true });
    let listener: LoopbackServer<EchoServerApp> | undefined;
    let dialer: LoopbackClient<StreamClientApp> | undefined;
    try {
      listener = await startServer(server, () => new EchoServerApp());
      dialer = await startClient(listener.address, client, new StreamClientApp());
      const qconn = await within(dialer.app.established, 2_000, 'the handshake');
      expect(qconn.peerStreamsLeftBidi()).toBe(2);

      // All three in one turn: the third does not fit under the server's limit.
      const messages = [randomBytes(3_000), randomBytes(3_000), randomBytes(3_000)];
      const echoes = Promise.all(messages.map((m) => dialer!.app.request(m)));
      expect(await within(echoes, 2_000, 'three echoes')).toEqual(messages);
      expect(dialer.app.streamLimitHits).toBeGreaterThanOrEqual(1);

      const accepted = await listener.connection(0);
      // quiche hands out readable streams in no fixed order: which ones arrived is what counts.
      expect([...accepted.app.received.keys()].sort((a, b) => a - b)).toEqual([0, 4, 8]);
      dialer.app.command({ type: 'connectionClose', behaviour: { sendApplicationClose: true, errorCode: 0 } });
      expect(await within(accepted.conn.outcome, 3_000, 'the server side to end')).toEqual({ ok: true });

      // The client told the server it was blocked (STREAMS_BLOCKED), as the server's stats show.
      const handle = await accepted.conn.first;
      expect(handle.stats()).not.toBeNull();
      expect(handle.stats()!.stats.streamsBlockedBidiRecvCount).toBe(1);
    } finally {
      dialer?.close();
      listener?.close();
    }
  });
});
