import { headerValue } from '../../src/http3/H3Headers';
import { connectH3, fetchText, startH3Server } from '../helpers/h3Loopback';

describe('HTTP/3 end to end over loopback', () => {
  it('should answer one request with the stream id and path (tokio-quiche e2e)', async () => {
    const server = await startH3Server((req) => ({
      status: 200,
      headers: { 'content-type': 'text/plain' },
      body: `${req.streamId},${req.method} ${req.path}|`,
    }));
    const client = await connectH3(server.port).catch((e) => {
      server.close();
      throw e;
    });
    try {
      const { response, text } = await fetchText(client.conn, { ':path': '/hello' });
      expect(response.status).toBe(200);
      expect(headerValue(response.headers, 'content-type')).toBe('text/plain');
      expect(text).toBe(`${response.streamId},GET /hello|`);
      expect(response.streamId).toBe(0);
      expect(client.events.some((e) => e.type === 'settings')).toBe(true);
    } finally {
      client.close();
      server.close();
    }
  });
});
