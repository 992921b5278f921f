import { firstValueFrom, lastValueFrom, Subject } from 'rxjs';

import { Http3Error } from '../../src/errors/Http3Error';
import type { H3Request } from '../../src/http3/H3Request';
import { connectH3, fetchText, readAll, startH3Server } from '../helpers/h3Loopback';
import { until } from '../helpers/loopback';

describe('HTTP/3 GOAWAY over loopback', () => {
  it('should finish requests in flight after the server sends GOAWAY, and refuse new ones', async () => {
    const requests: H3Request[] = [];
    const release$ = new Subject<void>();
    const server = await startH3Server((req) => {
      requests.push(req);
      // The response waits until the spec releases it.
      return firstValueFrom(release$).then(() => ({ status: 200, body: `done ${req.path}` }));
    });
    const client = await connectH3(server.port);
    try {
      const inFlight = lastValueFrom(client.conn.controller.request({ ':path': '/slow' }));
      await until(() => requests.length === 1, 3_000, 'the request at the server');
      server.connections[0]!.served.controller.sendGoaway();
      await until(() => client.events.some((e) => e.type === 'goaway'), 3_000, 'GOAWAY at the client');
      // GOAWAY names the stream after the one in flight (stream 0).
      expect(client.events).toContainEqual({ type: 'goaway', id: 4 });

      // A new request fails at once: retry it on a new connection.
      const refused = await lastValueFrom(client.conn.controller.request({ ':path': '/new' })).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(Http3Error);
      expect(refused).toMatchObject({ code: 'RequestRejected' });

      // The request in flight completes.
      release$.next();
      const response = await inFlight;
      expect((await readAll(response.body$)).toString()).toBe('done /slow');
    } finally {
      client.close();
      server.close();
    }
  });

  it('should keep the connection working after the client sends GOAWAY (tokio-quiche server_receiving_goaway)', async () => {
    const server = await startH3Server((req) => ({ status: 200, body: req.path }));
    const client = await connectH3(server.port);
    try {
      expect((await fetchText(client.conn, { ':path': '/before' })).text).toBe('/before');
      client.conn.controller.sendGoaway();
      await until(() => server.connections[0]!.events.some((e) => e.type === 'goaway'), 3_000, 'GOAWAY at the server');
      expect(server.connections[0]!.events).toContainEqual({ type: 'goaway', id: 0 });
      expect((await fetchText(client.conn, { ':path': '/after' })).text).toBe('/after');
    } finally {
      client.close();
      server.close();
    }
  });
});
