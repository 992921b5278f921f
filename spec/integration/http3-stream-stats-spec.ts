import { lastValueFrom } from 'rxjs';

import type { H3Request } from '../../src/http3/H3Request';
import { connectH3, readAll, startH3Server } from '../helpers/h3Loopback';
import { until } from '../helpers/loopback';

// tokio-quiche's H3AuditStats: per request, bytes each way, FINs, resets and STOP_SENDING codes.
describe('HTTP/3 per-request stream stats over loopback', () => {
  it('counts body bytes and FINs on both sides of a request', async () => {
    const requests: H3Request[] = [];
    const server = await startH3Server(async (req) => {
      requests.push(req);
      const body = await readAll(req.body$);
      return { status: 200, body: Buffer.alloc(body.length * 2, 7) };
    });
    const client = await connectH3(server.port);
    try {
      const response = await lastValueFrom(client.conn.controller.request({ ':method': 'POST', ':path': '/' }, Buffer.alloc(30_000, 1)));
      expect(await readAll(response.body$)).toHaveLength(60_000);
      await until(() => requests[0]!.stats.sentFin, 2_000, 'the server to write its FIN');

      expect(requests[0]!.stats).toMatchObject({
        streamId: response.streamId,
        bytesReceived: 30_000,
        bytesSent: 60_000,
        receivedFin: true,
        sentFin: true,
        sentResetCode: null,
        receivedResetCode: null,
      });
      expect(response.stats).toMatchObject({ bytesSent: 30_000, bytesReceived: 60_000, sentFin: true, receivedFin: true });
    } finally {
      client.close();
      server.close();
    }
  });

  it('records the reset the server sent and the client received', async () => {
    const requests: H3Request[] = [];
    const server = await startH3Server((req) => {
      requests.push(req);
      // A body that fails after its first chunk: the server resets with H3_REQUEST_CANCELLED.
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield Buffer.alloc(1_000, 2);
        // Let the response headers and the first chunk reach the client before the reset.
        await new Promise((resolve) => setTimeout(resolve, 100));
        throw new Error('the backend went away');
      }
      return { status: 200, body: failing() };
    });
    const client = await connectH3(server.port);
    try {
      const response = await lastValueFrom(client.conn.controller.request({ ':path': '/' }));
      await expect(readAll(response.body$)).rejects.toMatchObject({ code: 'StreamReset', applicationCode: 0x10c });
      expect(requests[0]!.stats.sentResetCode).toBe(0x10c);
      expect(response.stats.receivedResetCode).toBe(0x10c);
      expect(response.stats.receivedFin).toBe(false);
    } finally {
      client.close();
      server.close();
    }
  });
});
