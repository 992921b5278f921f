/**
 * HTTP/3 datagrams (RFC 9297) over loopback: a flow per extended CONNECT request (flow id =
 * stream id / 4), both ways, and tokio-quiche's rule that a server without extended CONNECT makes
 * no flows and drops what arrives.
 */
import { filter, firstValueFrom, ignoreElements, lastValueFrom, NEVER, Subject, take, timeout, toArray } from 'rxjs';

import { napi } from '../../src/native/binding';

import type { H3Request } from '../../src/http3/H3Request';
import type { H3Response } from '../../src/http3/H3Response';
import { connectH3, startH3Server } from '../helpers/h3Loopback';
import { sleep } from '../helpers/loopback';

const CONNECT_UDP = {
  ':method': 'CONNECT',
  ':protocol': 'connect-udp',
  ':scheme': 'https',
  ':path': '/.well-known/masque/udp/192.0.2.6/443/',
  ':authority': 'localhost',
  'capsule-protocol': '?1',
};

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Sends `payload` every 50 ms until `done` resolves (datagrams are unreliable, even on loopback). */
async function sendUntil(send: () => void, done: Promise<unknown>): Promise<void> {
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  for (let i = 0; i < 40 && !finished; i++) {
    send();
    await sleep(50);
  }
}

describe('HTTP/3 datagrams over loopback', () => {
  it('should carry datagrams both ways on an extended CONNECT stream (flow id = stream id / 4)', async () => {
    const requests = new Subject<H3Request>();
    const server = await startH3Server(
      (req) => {
        requests.next(req);
        // Echo each datagram with a prefix; the tunnel stays open (no FIN) until the client goes.
        req.flow?.incoming$.subscribe((d) => req.flow?.send(bytes(`echo:${text(d)}`)));
        return { status: 200, body: NEVER };
      },
      { enableExtendedConnect: true },
    );
    const client = await connectH3(server.port);
    try {
      const seen = firstValueFrom(requests);
      const response: H3Response = await firstValueFrom(client.conn.controller.request(CONNECT_UDP, NEVER).pipe(timeout(5000)));
      const req = await seen;
      expect(response.status).toBe(200);
      expect(req.method).toBe('CONNECT');
      expect(req.header(':protocol')).toBe('connect-udp');
      expect(req.flow?.id).toBe(req.streamId / 4);
      expect(response.flow?.id).toBe(response.streamId / 4);

      const flow = response.flow!;
      const echoed = firstValueFrom(flow.incoming$.pipe(take(1), timeout(4000)));
      await sendUntil(() => flow.send(bytes('ping')), echoed);
      expect(text(await echoed)).toBe('echo:ping');
      expect(flow.droppedIncoming).toBe(0);
      expect(client.conn.controller.unroutedDatagrams).toBe(0);
      expect(server.connections[0]!.served.controller.unroutedDatagrams).toBe(0);
    } finally {
      client.close();
      server.close();
    }
  });

  it('should give each CONNECT stream its own flow', async () => {
    const server = await startH3Server(
      (req) => {
        req.flow?.incoming$.subscribe((d) => req.flow?.send(bytes(`${req.streamId}:${text(d)}`)));
        return { status: 200, body: NEVER };
      },
      { enableExtendedConnect: true },
    );
    const client = await connectH3(server.port);
    try {
      const [a, b] = await Promise.all([
        firstValueFrom(client.conn.controller.request(CONNECT_UDP, NEVER)),
        firstValueFrom(client.conn.controller.request(CONNECT_UDP, NEVER)),
      ]);
      expect(a.flow!.id).not.toBe(b.flow!.id);
      const gotA = firstValueFrom(a.flow!.incoming$.pipe(take(1), timeout(4000)));
      const gotB = firstValueFrom(b.flow!.incoming$.pipe(take(1), timeout(4000)));
      await Promise.all([sendUntil(() => a.flow!.send(bytes('a')), gotA), sendUntil(() => b.flow!.send(bytes('b')), gotB)]);
      expect(text(await gotA)).toBe(`${a.streamId}:a`);
      expect(text(await gotB)).toBe(`${b.streamId}:b`);
    } finally {
      client.close();
      server.close();
    }
  });

  it('should complete both ends of a flow when the CONNECT stream closes', async () => {
    const requests = new Subject<H3Request>();
    const server = await startH3Server(
      (req) => {
        requests.next(req);
        // The tunnel ends when the client ends its side.
        return { status: 200, body: req.body$.pipe(ignoreElements()) };
      },
      { enableExtendedConnect: true },
    );
    const client = await connectH3(server.port);
    try {
      const seen = firstValueFrom(requests);
      const clientBody = new Subject<Uint8Array>();
      const response = await firstValueFrom(client.conn.controller.request(CONNECT_UDP, clientBody).pipe(timeout(5000)));
      const req = await seen;
      const serverEnd = lastValueFrom(req.flow!.incoming$.pipe(toArray(), timeout(3000)));
      const clientEnd = lastValueFrom(response.flow!.incoming$.pipe(toArray(), timeout(3000)));
      void lastValueFrom(response.body$.pipe(toArray())).catch(() => undefined);
      clientBody.complete();
      expect(await serverEnd).toEqual([]);
      expect(await clientEnd).toEqual([]);
      response.flow!.send(bytes('late'));
      expect(response.flow!.droppedOutgoing).toBe(1);
    } finally {
      client.close();
      server.close();
    }
  });

  it('should make no flow and drop datagrams when extended CONNECT is off (tokio-quiche)', async () => {
    const requests: H3Request[] = [];
    const server = await startH3Server((req) => {
      requests.push(req);
      return { status: 200, body: NEVER };
    });
    const client = await connectH3(server.port);
    try {
      const response = await firstValueFrom(client.conn.controller.request(CONNECT_UDP, NEVER).pipe(timeout(5000)));
      expect(requests).toHaveLength(1);
      expect(requests[0]!.flow).toBeNull();
      const flow = response.flow!;
      const serverController = server.connections[0]!.served.controller;
      for (let i = 0; i < 10 && serverController.unroutedDatagrams < 3; i++) {
        flow.send(bytes('dropped'));
        await sleep(50);
      }
      expect(serverController.unroutedDatagrams).toBeGreaterThanOrEqual(3);
      const answered = await firstValueFrom(flow.incoming$.pipe(take(1), toArray(), timeout(300))).catch(() => 'none');
      expect(answered).toBe('none');
    } finally {
      client.close();
      server.close();
    }
  });

  it('should open a flow for a datagram no request has, on both sides (tokio-quiche autonomous flows)', async () => {
    const server = await startH3Server(() => ({ status: 200 }), { enableExtendedConnect: true });
    const client = await connectH3(server.port);
    try {
      // Any request, so the server's connection (and its controller) exists.
      await lastValueFrom(client.conn.controller.request({ ':path': '/' }));
      const serverController = server.connections[0]!.served.controller;
      const serverFlow = firstValueFrom(serverController.event$.pipe(filter((e) => e.type === 'newFlow'), timeout(5000)));
      const clientFlow = firstValueFrom(client.conn.controller.event$.pipe(filter((e) => e.type === 'newFlow'), timeout(5000)));

      // The client sends a raw HTTP/3 datagram for flow 1000: quarter stream id 1000, no request.
      const raw = Buffer.concat([napi.encodeVarint(1000), Buffer.from('ping')]);
      const send = (): void =>
        client.conn.controller.quicCommand({ type: 'custom', run: (q) => void q.dgramSend(raw) });
      const opened = serverFlow.then((e) => (e.type === 'newFlow' ? e : null));
      await sendUntil(send, opened);
      const event = (await opened)!;
      expect(event.flowId).toBe(1000);
      const received = await firstValueFrom(event.flow.incoming$.pipe(timeout(2000)));
      expect(text(received)).toBe('ping');

      // The server answers on that flow; the client, which accepts such flows always, opens its own.
      const answered = clientFlow.then((e) => (e.type === 'newFlow' ? e : null));
      await sendUntil(() => event.flow.send(bytes('pong')), answered);
      const back = (await answered)!;
      expect(back.flowId).toBe(1000);
      expect(text(await firstValueFrom(back.flow.incoming$.pipe(timeout(2000))))).toBe('pong');
      expect(serverController.unroutedDatagrams).toBe(0);
    } finally {
      client.close();
      server.close();
    }
  });
});
