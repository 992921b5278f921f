import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';

import { DIAGNOSTICS_CHANNELS } from '../../src/metrics/diagnostics';
import { EchoClientApp, EchoServerApp } from '../helpers/echoApps';
import { type LoopbackClient, type LoopbackServer, loopbackParams, startClient, startServer, within } from '../helpers/loopback';

describe('diagnostics channels', () => {
  it('publishes each connection being established and closed, on both sides', async () => {
    const established: Array<Record<string, unknown>> = [];
    const closed: Array<Record<string, unknown>> = [];
    const onEstablished = (m: unknown): void => void established.push(m as Record<string, unknown>);
    const onClosed = (m: unknown): void => void closed.push(m as Record<string, unknown>);
    subscribe(DIAGNOSTICS_CHANNELS.connectionEstablished, onEstablished);
    subscribe(DIAGNOSTICS_CHANNELS.connectionClosed, onClosed);
    const { server, client } = loopbackParams();
    let listener: LoopbackServer<EchoServerApp> | undefined;
    let dialer: LoopbackClient<EchoClientApp> | undefined;
    try {
      listener = await startServer(server, () => new EchoServerApp());
      dialer = await startClient(listener.address, client, new EchoClientApp(randomBytes(100)));
      await within(dialer.app.echoed, 2_000, 'the echo');
      const accepted = await listener.connection(0);
      await within(Promise.all([dialer.conn.outcome, accepted.conn.outcome]), 3_000, 'both sides to close');

      expect(established.map((m) => m['isServer']).sort()).toEqual([false, true]);
      for (const m of established) {
        expect(m['scid']).toMatch(/^[0-9a-f]{40}$/);
        expect(m['handshakeMs']).toBeGreaterThanOrEqual(0);
        expect((m['peer'] as { address: string }).address).toBe('127.0.0.1');
      }
      expect(closed.map((m) => m['isServer']).sort()).toEqual([false, true]);
      expect(closed.every((m) => (m['result'] as { ok: boolean }).ok)).toBe(true);
      // Each side's closed message names the connection its established message did.
      expect(new Set(closed.map((m) => m['scid']))).toEqual(new Set(established.map((m) => m['scid'])));
    } finally {
      unsubscribe(DIAGNOSTICS_CHANNELS.connectionEstablished, onEstablished);
      unsubscribe(DIAGNOSTICS_CHANNELS.connectionClosed, onClosed);
      dialer?.close();
      listener?.close();
    }
  });
});
