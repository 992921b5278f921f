import { lastValueFrom } from 'rxjs';

import { connectH3, startH3Server } from '../helpers/h3Loopback';
import { sleep, until } from '../helpers/loopback';

const CHUNK = 16 * 1024;
const TOTAL = 8 * 1024 * 1024;
// The server's stream window: what the client may send ahead of the server's reads.
const WINDOW = 256 * 1024;
// What the driver buffers per stream ahead of a reader: 16 chunks of 16 KiB.
const DRIVER_BUFFER = 16 * CHUNK;

describe('HTTP/3 backpressure over loopback', () => {
  it('should keep a slow request-body reader from buffering the upload: the client is held back by flow control', async () => {
    let consumed = 0;
    let reading = true;
    const server = await startH3Server(
      async (req) => {
        // A slow reader: one chunk every 10 ms, until told to stop.
        for await (const chunk of req.body) {
          consumed += chunk.length;
          if (!reading) break;
          await sleep(10);
        }
        return { status: 200 };
      },
      {},
      { initialMaxStreamDataBidiRemote: WINDOW, maxStreamWindow: WINDOW, initialMaxData: 4 * WINDOW, maxConnectionWindow: 4 * WINDOW },
    );
    const client = await connectH3(server.port);
    let pulled = 0;
    // The upload is pulled chunk by chunk: `pulled` is what the client handed to quiche (plus one).
    function* upload(): Generator<Uint8Array> {
      while (pulled < TOTAL) {
        pulled += CHUNK;
        yield Buffer.alloc(CHUNK, 1);
      }
    }
    try {
      const response = lastValueFrom(client.conn.controller.request({ ':method': 'POST', ':path': '/slow' }, upload()));
      await until(() => consumed > 0, 3_000, 'the first chunk at the server');
      await sleep(500);
      // Well short of the whole upload, and the bytes in the air or in buffers stay bounded by the
      // stream window, the driver's buffer and one chunk in hand: nothing grows with the upload.
      expect(pulled).toBeLessThan(TOTAL);
      expect(pulled - consumed).toBeLessThanOrEqual(WINDOW + DRIVER_BUFFER + 2 * CHUNK);
      reading = false;
      await response.catch(() => undefined);
    } finally {
      client.close();
      server.close();
    }
  });

  it('should pull a response body producer only as fast as a slow client reads', async () => {
    let pulled = 0;
    const server = await startH3Server(
      () => ({
        status: 200,
        body: (function* () {
          while (pulled < TOTAL) {
            pulled += CHUNK;
            yield Buffer.alloc(CHUNK, 2);
          }
        })(),
      }),
      {},
    );
    const client = await connectH3(server.port, {
      settings: { initialMaxStreamDataBidiLocal: WINDOW, maxStreamWindow: WINDOW, initialMaxData: 4 * WINDOW, maxConnectionWindow: 4 * WINDOW },
    });
    try {
      const response = await lastValueFrom(client.conn.controller.request({ ':path': '/big' }));
      let consumed = 0;
      const it = response.body[Symbol.asyncIterator]();
      const deadline = Date.now() + 500;
      while (Date.now() < deadline) {
        const r = await it.next();
        if (r.done) break;
        consumed += r.value.length;
        await sleep(10);
      }
      expect(pulled).toBeLessThan(TOTAL);
      expect(pulled - consumed).toBeLessThanOrEqual(WINDOW + DRIVER_BUFFER + 2 * CHUNK);
      await it.return?.();
    } finally {
      client.close();
      server.close();
    }
  });
});
