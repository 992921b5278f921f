import { lastValueFrom, toArray } from 'rxjs';

import { concat, connectH3, type H3TestClient, readAll, startH3Server } from '../helpers/h3Loopback';

describe('HTTP/3 echo over many connections', () => {
  it('should answer every request on its own connection and stream (tokio-quiche echo, 5 connections)', async () => {
    // The server echoes the request body after a line naming the stream and path.
    const server = await startH3Server((req) => ({
      status: 200,
      body: (async function* () {
        yield Buffer.from(`${req.streamId},${req.method} ${req.path}|`);
        yield* req.body;
      })(),
    }));
    const clients: H3TestClient[] = [];
    try {
      const counts = [20, 40, 60, 80, 100];
      for (let i = 0; i < counts.length; i++) clients.push(await connectH3(server.port));
      await Promise.all(
        clients.map(async (client, c) => {
          // One stream per request, each waiting for the previous response (as tokio-quiche's test).
          for (let n = 0; n < counts[c]!; n++) {
            const path = `/c${c}/r${n}`;
            const response = await lastValueFrom(client.conn.controller.request({ ':method': 'POST', ':path': path }, `body ${c}.${n}`));
            const text = (await readAll(response.body$)).toString();
            expect(response.status).toBe(200);
            expect(text).toBe(`${response.streamId},POST ${path}|body ${c}.${n}`);
            expect(response.streamId).toBe(n * 4);
          }
        }),
      );
      expect(server.connections).toHaveLength(5);
      // Each server connection saw exactly its client's requests.
      const served = server.connections.map((s) => s.events.filter((e) => e.type === 'headers').length).sort((a, b) => a - b);
      expect(served).toEqual(counts);
    } finally {
      for (const c of clients) c.close();
      server.close();
    }
  });

  it('should carry many requests in flight at once on one connection', async () => {
    const server = await startH3Server((req) => ({ status: 200, body: req.body$ }));
    const client = await connectH3(server.port);
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const response = await lastValueFrom(client.conn.controller.request({ ':method': 'PUT', ':path': `/${i}` }, Buffer.alloc(10_000, i)));
          return concat(await lastValueFrom(response.body$.pipe(toArray())));
        }),
      );
      results.forEach((body, i) => expect(body.equals(Buffer.alloc(10_000, i))).toBe(true));
    } finally {
      client.close();
      server.close();
    }
  });
});
