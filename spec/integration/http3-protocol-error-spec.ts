import { lastValueFrom } from 'rxjs';

import { Http3Error } from '../../src/errors/Http3Error';
import { QuicTransportError } from '../../src/errors/QuicTransportError';
import type { QuicheConnection } from '../../src/native/binding';
import { connectWithConfig$ } from '../../src/router/connectWithConfig';
import { ConnectionParams } from '../../src/settings/ConnectionParams';
import { connectH3, fetchText, h3Certificates, startH3Server } from '../helpers/h3Loopback';
import { RawH3Client } from '../helpers/h3RawClient';
import { bindUdp, closeAll, within } from '../helpers/loopback';

/**
 * A client that breaks HTTP/3: it opens the HTTP/3 layer (so its SETTINGS go out), then sends a
 * DATA frame as the first frame of a request stream, where HEADERS must come first.
 */
class DataBeforeHeadersClient extends RawH3Client {
  protected sendOnce(qconn: QuicheConnection): void {
    // DATA (type 0x00), length 3, "abc", on request stream 0.
    qconn.streamSend(0, Uint8Array.from([0x00, 0x03, 0x61, 0x62, 0x63]), true);
  }
}

describe('HTTP/3 protocol errors over loopback', () => {
  it('should close with H3_FRAME_UNEXPECTED and report an Http3Error on the server', async () => {
    const server = await startH3Server(() => ({ status: 200 }));
    const socket = await bindUdp();
    try {
      const params = ConnectionParams.newClient({ alpn: ['h3'] }, undefined, {}, { trust: { ca: h3Certificates().ca } });
      const outcome = await within(
        lastValueFrom(connectWithConfig$(socket, 'localhost', params, new DataBeforeHeadersClient(), { peer: { address: '127.0.0.1', port: server.port } })).then(
          () => null,
          (e: unknown) => e,
        ),
        5_000,
        'the client connection to end',
      );
      // The client sees the server's application close with H3_FRAME_UNEXPECTED (0x105).
      expect(outcome).toBeInstanceOf(QuicTransportError);
      expect(outcome).toMatchObject({ isApplication: true, errorCode: 0x105, fromPeer: true });

      // The server's connection failed with the Http3Error from poll().
      const served = server.connections[0]!;
      const result = await served.served.connection.result;
      expect(result.ok).toBe(false);
      const error = (result as { error: unknown }).error;
      expect(error).toBeInstanceOf(Http3Error);
      expect(error).toMatchObject({ code: 'FrameUnexpected', wireCode: 0x105 });
      expect(served.events).toContainEqual({ type: 'connectionError', error });
      // The listener goes on: a well-behaved client is served.
      const good = await connectH3(server.port);
      try {
        expect((await fetchText(good.conn, { ':path': '/' })).response.status).toBe(200);
      } finally {
        good.close();
      }
    } finally {
      closeAll(socket);
      server.close();
    }
  });
});
