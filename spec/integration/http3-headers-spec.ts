import { concat as concat$, delay, lastValueFrom, of } from 'rxjs';

import { connectH3, readAll, startH3Server } from '../helpers/h3Loopback';

describe('HTTP/3 additional headers over loopback', () => {
  it('should deliver a 103 sent first, then the 200, in order (tokio-quiche test_additional_headers)', async () => {
    // The handler sends HEADERS 103, yields, then HEADERS 200 with an empty body and the FIN.
    const server = await startH3Server(() =>
      concat$(
        of({ status: 103, headers: { link: '</style.css>; rel=preload' } }),
        of({ status: 200, headers: { 'x-final': 'yes' }, body: '' }).pipe(delay(20)),
      ),
    );
    const client = await connectH3(server.port);
    try {
      const response = await lastValueFrom(client.conn.controller.request({ ':path': '/early-hints' }));
      expect(response.informational).toEqual([
        [
          { name: ':status', value: '103' },
          { name: 'link', value: '</style.css>; rel=preload' },
        ],
      ]);
      expect(response.status).toBe(200);
      expect(response.header('x-final')).toBe('yes');
      expect((await readAll(response.body$)).length).toBe(0);
      // On the wire: two header sections on stream 0, the 103 first.
      const sections = client.events.filter((e) => e.type === 'headers');
      expect(sections.map((e) => e.type === 'headers' && e.headers[0]!.value)).toEqual(['103', '200']);
    } finally {
      client.close();
      server.close();
    }
  });

  it('should send the informational responses listed in the response first', async () => {
    const server = await startH3Server(() => ({
      status: 200,
      informational: [{ status: 100 }, { status: 103, headers: { link: '</a.js>' } }],
      body: 'ok',
    }));
    const client = await connectH3(server.port);
    try {
      const response = await lastValueFrom(client.conn.controller.request({ ':path': '/' }));
      expect(response.informational.map((h) => h[0]!.value)).toEqual(['100', '103']);
      expect((await readAll(response.body$)).toString()).toBe('ok');
    } finally {
      client.close();
      server.close();
    }
  });
});
