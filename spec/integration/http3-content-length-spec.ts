import { lastValueFrom } from 'rxjs';

import { connectH3, readAll, startH3Server } from '../helpers/h3Loopback';

// RFC 9114 §4.1.2: a request whose body does not match its content-length is malformed; the server
// ends that request with H3_MESSAGE_ERROR (0x10e), and the connection's other requests go on.
describe('HTTP/3 request bodies held to their content-length', () => {
  it.each([
    ['body longer', '5', 'ten bytes!'],
    ['body shorter', '20', 'ten bytes!'],
    ['not a number', 'twelve', 'ten bytes!'],
  ])('ends a request whose content-length is off (%s) with H3_MESSAGE_ERROR', async (_what, length, body) => {
    const handlerErrors: unknown[] = [];
    const server = await startH3Server(async (req) => {
      try {
        const got = await readAll(req.body$);
        return { status: 200, body: `got ${got.length}` };
      } catch (e) {
        handlerErrors.push(e);
        throw e;
      }
    });
    const client = await connectH3(server.port);
    try {
      const bad = lastValueFrom(
        client.conn.controller.request({ ':method': 'POST', ':path': '/bad', 'content-length': length }, body),
      );
      await expect(bad).rejects.toMatchObject({ code: 'StreamReset', applicationCode: 0x10e });
      expect(handlerErrors).toEqual([expect.objectContaining({ code: 'MessageError', wireCode: 0x10e })]);

      // The connection and its next request are unaffected; a matching content-length is fine.
      const good = await lastValueFrom(
        client.conn.controller.request({ ':method': 'POST', ':path': '/good', 'content-length': '10' }, 'ten bytes!'),
      );
      expect((await readAll(good.body$)).toString()).toBe('got 10');
    } finally {
      client.close();
      server.close();
    }
  });
});
