import { createHash, randomBytes } from 'node:crypto';
import { lastValueFrom } from 'rxjs';

import { connectH3, startH3Server } from '../helpers/h3Loopback';

const TEN_MB = 10 * 1024 * 1024;

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('HTTP/3 large bodies over loopback', () => {
  it('should carry 10 MB each way intact (SHA-256 checked on both sides)', async () => {
    const download = randomBytes(TEN_MB);
    const server = await startH3Server(async (req) => {
      // Hash the upload as it streams in, then answer with the download and its hash as a trailer.
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of req.body) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      return {
        status: 200,
        headers: { 'x-upload-sha256': hash.digest('hex'), 'x-upload-bytes': bytes },
        body: download,
        trailers: { 'x-download-sha256': sha256(download) },
      };
    });
    const client = await connectH3(server.port);
    try {
      const upload = randomBytes(TEN_MB);
      const response = await lastValueFrom(client.conn.controller.request({ ':method': 'POST', ':path': '/transfer' }, upload));
      expect(response.header('x-upload-bytes')).toBe(String(TEN_MB));
      expect(response.header('x-upload-sha256')).toBe(sha256(upload));

      const trailers = lastValueFrom(response.trailers$);
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of response.body) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      expect(bytes).toBe(TEN_MB);
      expect(hash.digest('hex')).toBe(sha256(download));
      expect(await trailers).toEqual([{ name: 'x-download-sha256', value: sha256(download) }]);
    } finally {
      client.close();
      server.close();
    }
  });

  it('should echo 10 MB through an Observable body, paced end to end', async () => {
    const server = await startH3Server((req) => ({ status: 200, body: req.body$ }));
    const client = await connectH3(server.port);
    try {
      const upload = randomBytes(TEN_MB);
      const response = await lastValueFrom(client.conn.controller.request({ ':method': 'PUT', ':path': '/echo' }, upload));
      const hash = createHash('sha256');
      let bytes = 0;
      await new Promise<void>((resolve, reject) =>
        response.body$.subscribe({
          next: (chunk) => {
            hash.update(chunk);
            bytes += chunk.length;
          },
          error: reject,
          complete: resolve,
        }),
      );
      expect(bytes).toBe(TEN_MB);
      expect(hash.digest('hex')).toBe(sha256(upload));
    } finally {
      client.close();
      server.close();
    }
  });
});
