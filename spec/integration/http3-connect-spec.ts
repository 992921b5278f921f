import { HandshakeError } from '../../src/errors/HandshakeError';
import { connectH3, fetchText, startH3Server } from '../helpers/h3Loopback';

describe('connect$ over loopback', () => {
  it('should verify the server certificate by default: an unknown CA fails the handshake', async () => {
    const server = await startH3Server(() => ({ status: 200 }));
    try {
      // No `trust`: Node's root certificates, which do not know the test CA.
      const failed = await connectH3(server.port, { trust: undefined }).then(
        (c) => {
          c.close();
          return null;
        },
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(HandshakeError);
      expect(failed).toMatchObject({ code: 'HandshakeConnectionClosed' });
    } finally {
      server.close();
    }
  });

  it('should skip verification only when asked with insecureSkipVerify', async () => {
    const server = await startH3Server((req) => ({ status: 200, body: req.authority }));
    const client = await connectH3(server.port, { trust: undefined, insecureSkipVerify: true });
    try {
      const { response, text } = await fetchText(client.conn, { ':path': '/' });
      expect(response.status).toBe(200);
      // `:authority` defaults to the host and the port connected to.
      expect(text).toBe(`localhost:${server.port}`);
    } finally {
      client.close();
      server.close();
    }
  });
});
