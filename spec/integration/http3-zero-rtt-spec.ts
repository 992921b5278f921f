import { lastValueFrom } from 'rxjs';

import type { QuicheConnection } from '../../src/native/binding';
import type { H3Request } from '../../src/http3/H3Request';
import { connectH3, readAll, startH3Server } from '../helpers/h3Loopback';

// tokio-quiche: zero_rtt::handle_0_rtt_request — a resumed client's request arrives in 0-RTT early
// data, flagged on the request, then a normal request follows on the same connection.
describe('HTTP/3 0-RTT requests over loopback', () => {
  it('serves a resumed client its early request in early data, then a normal one', async () => {
    const seen: Array<{ path: string; early: boolean }> = [];
    const server = await startH3Server(
      (req: H3Request) => {
        seen.push({ path: req.path, early: req.isInEarlyData });
        return { status: 200, body: `hello ${req.path}` };
      },
      {},
      // 0-RTT through a Retry is a known quiche limitation (see zero-rtt-spec.ts): no Retry here.
      { enableEarlyData: true, disableClientIpValidation: true },
    );
    const settings = { enableEarlyData: true };
    const first = await connectH3(server.port, { settings });
    let session: Uint8Array | null = null;
    try {
      const response = await lastValueFrom(first.conn.controller.request({ ':path': '/first' }));
      expect((await readAll(response.body$)).toString()).toBe('hello /first');
      // The ticket comes with the server's NewSessionTicket, after the handshake.
      for (let i = 0; i < 50 && session === null; i++) {
        await new Promise<void>((resolve) =>
          first.conn.controller.quicCommand({
            type: 'custom',
            run: (q: QuicheConnection) => {
              session = q.session();
              resolve();
            },
          }),
        );
        if (session === null) await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      first.close();
    }
    expect(session).not.toBeNull();

    const second = await connectH3(server.port, { settings, session: session! });
    try {
      const early = lastValueFrom(second.conn.controller.request({ ':path': '/early' }));
      expect((await readAll((await early).body$)).toString()).toBe('hello /early');
      const late = await lastValueFrom(second.conn.controller.request({ ':path': '/late' }));
      expect((await readAll(late.body$)).toString()).toBe('hello /late');
      expect(seen).toEqual([
        { path: '/first', early: false },
        { path: '/early', early: true },
        { path: '/late', early: false },
      ]);
    } finally {
      second.close();
      server.close();
    }
  });
});
