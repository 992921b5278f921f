import { lastValueFrom, map, timer } from 'rxjs';

import { connectH3, readAll, startH3Server } from '../helpers/h3Loopback';
import { within } from '../helpers/loopback';

describe('HTTP/3 stream limit over loopback', () => {
  it('should hold requests beyond the server stream limit until MAX_STREAMS, then answer all (tokio-quiche test_bidi_stream_limit_reached)', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const server = await startH3Server(
      (req) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // Each response waits a little, so the client has more requests than streams.
        return timer(30).pipe(
          map(() => {
            inFlight--;
            return { status: 200, body: req.path };
          }),
        );
      },
      {},
      { initialMaxStreamsBidi: 2 },
    );
    const client = await connectH3(server.port, { settings: { enableSendStreamsBlocked: true } });
    try {
      const paths = ['/1', '/2', '/3', '/4', '/5'];
      const bodies = await within(
        Promise.all(
          paths.map(async (path) => {
            const response = await lastValueFrom(client.conn.controller.request({ ':path': path }));
            expect(response.status).toBe(200);
            return (await readAll(response.body$)).toString();
          }),
        ),
        5_000,
        'every response',
      );
      expect(bodies).toEqual(paths);
      // Never more than the limit at the server at once.
      expect(maxInFlight).toBeLessThanOrEqual(2);
      // Close the connection, keeping the socket open until the CONNECTION_CLOSE is out.
      client.subscription.unsubscribe();
      // The client told the server it was blocked (STREAMS_BLOCKED), which the server counted.
      const served = server.connections[0]!.served.connection;
      await within(served.result, 3_000, 'the server connection to close');
      expect(served.stats()!.stats.streamsBlockedBidiRecvCount).toBeGreaterThanOrEqual(1);
      // Unsubscribing from connect$ closed with H3_NO_ERROR, not the QUIC worker's bare 0.
      expect(server.connections[0]!.events).toContainEqual({ type: 'connectionClosed', local: null, peer: { isApp: true, errorCode: 0x100, reason: '' } });
    } finally {
      client.close();
      server.close();
    }
  });
});
