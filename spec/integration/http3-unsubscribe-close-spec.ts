/**
 * Unsubscribing from an HTTP/3 connection closes it with H3_NO_ERROR (0x100), through the
 * driver's `shutdownBehaviour` (no `closeNow()` before unsubscribing). The sockets stay open
 * until the end: closing one right after unsubscribing loses the CONNECTION_CLOSE (the worker
 * flushes it after the unsubscribe returns), and the peer then only sees its idle timeout.
 */
import { filter, firstValueFrom, lastValueFrom, timeout } from 'rxjs';

import { connectH3, readAll, startH3Server } from '../helpers/h3Loopback';

const NO_ERROR_CLOSE = { isApp: true, errorCode: 0x100, reason: '' };

describe('HTTP/3 close on unsubscribe over loopback', () => {
  it('should send H3_NO_ERROR when the client unsubscribes', async () => {
    const server = await startH3Server(() => ({ status: 200, body: 'ok' }));
    const client = await connectH3(server.port);
    try {
      const response = await lastValueFrom(client.conn.controller.request({ ':path': '/' }));
      await readAll(response.body$);
      const served = server.connections[0]!.served;
      const closed = firstValueFrom(served.controller.event$.pipe(filter((e) => e.type === 'connectionClosed'), timeout(3000)));
      // Unsubscribe only: the socket must stay open while the worker flushes the CONNECTION_CLOSE.
      client.subscription.unsubscribe();
      expect(await closed).toEqual({ type: 'connectionClosed', local: null, peer: NO_ERROR_CLOSE });
    } finally {
      client.close();
      server.close();
    }
  });

  it('should send H3_NO_ERROR when the server unsubscribes', async () => {
    const server = await startH3Server(() => ({ status: 200, body: 'ok' }));
    const client = await connectH3(server.port);
    try {
      const response = await lastValueFrom(client.conn.controller.request({ ':path': '/' }));
      await readAll(response.body$);
      const closed = firstValueFrom(client.conn.controller.event$.pipe(filter((e) => e.type === 'connectionClosed'), timeout(3000)));
      server.stop();
      expect(await closed).toEqual({ type: 'connectionClosed', local: null, peer: NO_ERROR_CLOSE });
    } finally {
      client.close();
      server.close();
    }
  });
});
