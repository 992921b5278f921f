import { createHash } from 'node:crypto';
import { lastValueFrom } from 'rxjs';

import type { H3Header } from '../../src/http3/H3Headers';
import { connectH3, readAll, startH3Server } from '../helpers/h3Loopback';

describe('HTTP/3 trailers over loopback', () => {
  it('should send response trailers after the body (tokio-quiche server_send_trailers)', async () => {
    const body = Buffer.from('trailers follow');
    const server = await startH3Server(() => ({
      status: 200,
      body,
      trailers: { 'x-checksum': createHash('sha256').update(body).digest('hex') },
    }));
    const client = await connectH3(server.port);
    try {
      const response = await lastValueFrom(client.conn.controller.request({ ':path': '/' }));
      const trailers = lastValueFrom(response.trailers$, { defaultValue: null });
      expect((await readAll(response.body$)).toString()).toBe('trailers follow');
      expect(await trailers).toEqual([{ name: 'x-checksum', value: createHash('sha256').update(body).digest('hex') }]);
    } finally {
      client.close();
      server.close();
    }
  });

  it('should deliver request trailers to the server (tokio-quiche drops them)', async () => {
    const seen: Array<readonly H3Header[] | null> = [];
    const server = await startH3Server(async (req) => {
      const trailers = lastValueFrom(req.trailers$, { defaultValue: null });
      const text = (await readAll(req.body$)).toString();
      seen.push(await trailers);
      return { status: 200, body: `got ${text}` };
    });
    const client = await connectH3(server.port);
    try {
      const response = await lastValueFrom(
        client.conn.controller.request({ ':method': 'POST', ':path': '/' }, 'payload', { trailers: { 'x-sig': 'abc' } }),
      );
      expect((await readAll(response.body$)).toString()).toBe('got payload');
      // Trailers alone, without a body, end the request too.
      const response2 = await lastValueFrom(client.conn.controller.request({ ':method': 'POST', ':path': '/' }, undefined, { trailers: { 'x-only': '1' } }));
      expect((await readAll(response2.body$)).toString()).toBe('got ');
      expect(seen).toEqual([[{ name: 'x-sig', value: 'abc' }], [{ name: 'x-only', value: '1' }]]);
      // A response without trailers: trailers$ completes empty.
      expect(await lastValueFrom(response.trailers$, { defaultValue: null })).toBeNull();
    } finally {
      client.close();
      server.close();
    }
  });
});
