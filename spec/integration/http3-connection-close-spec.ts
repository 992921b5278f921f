import { firstValueFrom, lastValueFrom } from 'rxjs';

import { Http3Error } from '../../src/errors/Http3Error';
import { QuicTransportError } from '../../src/errors/QuicTransportError';
import { connectH3, fetchText, startH3Server } from '../helpers/h3Loopback';

describe('HTTP/3 connection close over loopback', () => {
  it('should close with H3_NO_ERROR at the request after maxRequestsPerConnection, leaving it unanswered', async () => {
    const server = await startH3Server((req) => ({ status: 200, body: req.path }), { maxRequestsPerConnection: 10 });
    const client = await connectH3(server.port);
    try {
      for (let i = 0; i < 10; i++) {
        const { response, text } = await fetchText(client.conn, { ':path': `/${i}` });
        expect(response.status).toBe(200);
        expect(text).toBe(`/${i}`);
      }
      // The 11th: no response; the connection closes under it.
      const eleventh = lastValueFrom(client.conn.controller.request({ ':path': '/10' })).then(
        () => 'answered',
        (e: unknown) => e,
      );
      const outcome = await eleventh;
      expect(outcome).toMatchObject({ code: 'ConnectionClosed' });
      // The peer's close was a graceful application close with H3_NO_ERROR: connect$ completes.
      expect(await client.ended).toEqual({ ok: true });
      expect(client.events).toContainEqual({ type: 'connectionClosed', local: null, peer: { isApp: true, errorCode: 0x100, reason: '' } });
      const server0 = server.connections[0]!;
      expect(server0.events).toContainEqual({ type: 'connectionShutdown', reason: 'maxRequestsPerConnection' });
      expect(server0.events.filter((e) => e.type === 'headers')).toHaveLength(10);
      // What the client received is visible on the server's side too: the close it sent.
      await expect(server0.served.connection.result).resolves.toEqual({ ok: true });
    } finally {
      client.close();
      server.close();
    }
  });

  it('should close with H3_EXCESSIVE_LOAD when a header section exceeds maxHeaderListSize', async () => {
    const server = await startH3Server(() => ({ status: 200 }), { maxHeaderListSize: 5000 });
    const client = await connectH3(server.port);
    try {
      // 4000 bytes of header value fit.
      const ok = await firstValueFrom(client.conn.controller.request({ ':path': '/', 'x-big': 'a'.repeat(4000) }));
      expect(ok.status).toBe(200);
      // 5000 do not: the server's quiche closes the connection with H3_EXCESSIVE_LOAD (0x107).
      const failed = await firstValueFrom(client.conn.controller.request({ ':path': '/', 'x-big': 'a'.repeat(5000) })).then(
        () => null,
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(QuicTransportError);
      expect(failed).toMatchObject({ isApplication: true, errorCode: 0x107, fromPeer: true });
      const ended = await client.ended;
      expect(ended.ok).toBe(false);

      // The server saw an Http3Error from poll(): on its connection, its events and its handle.
      const served = server.connections[0]!;
      const result = await served.served.connection.result;
      expect(result.ok).toBe(false);
      const error = (result as { error: unknown }).error;
      expect(error).toBeInstanceOf(Http3Error);
      expect(error).toMatchObject({ code: 'ExcessiveLoad', wireCode: 0x107 });
      expect(served.events.slice(-2)).toEqual([
        { type: 'connectionClosed', local: { isApp: true, errorCode: 0x107, reason: 'Error parsing headers.' }, peer: null },
        { type: 'connectionError', error },
      ]);
      expect(client.events).toContainEqual({ type: 'connectionClosed', local: null, peer: expect.objectContaining({ isApp: true, errorCode: 0x107 }) });
    } finally {
      client.close();
      server.close();
    }
  });
});
