import type { H3Request } from '../../src/http3/H3Request';
import { napi, type QuicheConnection } from '../../src/native/binding';
import { connectWithConfig$ } from '../../src/router/connectWithConfig';
import { ConnectionParams } from '../../src/settings/ConnectionParams';
import { h3Certificates, startH3Server } from '../helpers/h3Loopback';
import { RawH3Client } from '../helpers/h3RawClient';
import { bindUdp, closeAll, until } from '../helpers/loopback';

/** A raw HTTP/3 client: one request without :path, then a well-formed one, on one connection. */
class RawRequests extends RawH3Client {
  readonly resets = new Map<number, number>();
  readonly statuses = new Map<number, string>();
  protected override onEvent(e: napi.H3Event): void {
    if (e.type === 'reset') this.resets.set(e.streamId, e.errorCode ?? -1);
    if (e.type === 'headers') this.statuses.set(e.streamId, e.headers?.find((x) => x.name === ':status')?.value ?? '');
  }
  protected sendOnce(qconn: QuicheConnection, h3: napi.H3Connection): void {
    const base = [
      { name: ':method', value: 'GET' },
      { name: ':scheme', value: 'https' },
      { name: ':authority', value: 'localhost' },
    ];
    h3.sendRequest(qconn, base, true); // stream 0: no :path
    h3.sendRequest(qconn, [...base, { name: ':path', value: '/ok' }], true); // stream 4
  }
}

describe('HTTP/3 malformed requests over loopback', () => {
  it('ends a request missing :path with H3_MESSAGE_ERROR, unseen by the handler, and serves the next', async () => {
    const handled: H3Request[] = [];
    const server = await startH3Server((req) => {
      handled.push(req);
      return { status: 200, body: 'ok' };
    });
    const socket = await bindUdp();
    const app = new RawRequests();
    const params = ConnectionParams.newClient({ alpn: ['h3'] }, undefined, {}, { trust: { ca: h3Certificates().ca } });
    const sub = connectWithConfig$(socket, 'localhost', params, app, { peer: { address: '127.0.0.1', port: server.port } }).subscribe({
      error: () => undefined,
    });
    try {
      await until(() => app.resets.has(0) && app.statuses.has(4), 5_000, 'the reset of stream 0 and the response on stream 4');
      expect(app.resets.get(0)).toBe(0x10e);
      expect(app.statuses.get(4)).toBe('200');
      expect(handled.map((r) => r.path)).toEqual(['/ok']);
      const events = server.connections[0]!.events;
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'responseError', streamId: 0, error: expect.objectContaining({ code: 'MessageError', wireCode: 0x10e }) }),
      );
    } finally {
      sub.unsubscribe();
      closeAll(socket);
      server.close();
    }
  });
});
