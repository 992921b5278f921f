/**
 * HTTP priorities (RFC 9218) over loopback: the client's `priority` header, PRIORITY_UPDATE
 * reaching `H3Request.priority`, and a response's urgency deciding what quiche sends first.
 */
import { filter, firstValueFrom, lastValueFrom, NEVER, Subject, timeout } from 'rxjs';

import type { H3Request } from '../../src/http3/H3Request';
import { connectH3, readAll, startH3Server } from '../helpers/h3Loopback';

describe('HTTP/3 priorities over loopback', () => {
  it('should send the request priority option as the priority header', async () => {
    const server = await startH3Server((req) => ({ status: 200, body: req.header('priority') ?? 'none' }));
    const client = await connectH3(server.port);
    try {
      const response = await lastValueFrom(client.conn.controller.request({ ':path': '/' }, undefined, { priority: { urgency: 1, incremental: true } }));
      expect((await readAll(response.body$)).toString()).toBe('u=1, i');
    } finally {
      client.close();
      server.close();
    }
  });

  it('should deliver a PRIORITY_UPDATE for an open request as request.priority and an event', async () => {
    const requests = new Subject<H3Request>();
    const server = await startH3Server((req) => {
      requests.next(req);
      return { status: 200, body: NEVER };
    });
    const client = await connectH3(server.port);
    try {
      const seen = firstValueFrom(requests);
      const response = await lastValueFrom(client.conn.controller.request({ ':method': 'POST', ':path': '/' }, NEVER));
      const req = await seen;
      expect(req.priority).toBeUndefined();
      const events = server.connections[0]!.served.controller.event$;
      const update = firstValueFrom(events.pipe(filter((e) => e.type === 'priorityUpdate'), timeout(3000)));
      client.conn.controller.updatePriority(response.streamId, { urgency: 6, incremental: false });
      expect(await update).toEqual({ type: 'priorityUpdate', streamId: req.streamId, value: 'u=6' });
      expect(req.priority).toBe('u=6');
    } finally {
      client.close();
      server.close();
    }
  });

  it('should send the more urgent of two large responses first', async () => {
    const big = new Uint8Array(400_000);
    // Both responses start in the same turn, once both requests have arrived: otherwise the first
    // one could be on its way before the server knows of the second.
    let arrived = 0;
    let bothArrived!: () => void;
    const both = new Promise<void>((resolve) => (bothArrived = resolve));
    const server = await startH3Server(async (req) => {
      if (++arrived === 2) bothArrived();
      await both;
      return {
        status: 200,
        body: big,
        priority: req.path === '/urgent' ? { urgency: 0, incremental: false } : { urgency: 7, incremental: false },
      };
    });
    const client = await connectH3(server.port);
    try {
      const finished: string[] = [];
      const fetch = async (path: string): Promise<void> => {
        const response = await lastValueFrom(client.conn.controller.request({ ':path': path }));
        await readAll(response.body$);
        finished.push(path);
      };
      // Asked for first, but least urgent.
      await Promise.all([fetch('/background'), fetch('/urgent')]);
      expect(finished).toEqual(['/urgent', '/background']);
    } finally {
      client.close();
      server.close();
    }
  });
});
