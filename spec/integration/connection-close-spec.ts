import { randomBytes } from 'node:crypto';

import type { ConnectionShutdownBehaviour } from '../../src/connection/ConnectionShutdownBehaviour';
import { QuicTransportError } from '../../src/errors/QuicTransportError';
import { EchoClientApp, EchoServerApp, type TestApp } from '../helpers/echoApps';
import {
  type LoopbackClient,
  type LoopbackServer,
  loopbackParams,
  type Outcome,
  startClient,
  startServer,
  within,
} from '../helpers/loopback';

/** Transport PROTOCOL_VIOLATION (RFC 9000 §20.1). */
const PROTOCOL_VIOLATION = 0xa;

type Side = 'client' | 'server';

/** The peer's error for a close with `behaviour`. */
function closeFromPeer(behaviour: ConnectionShutdownBehaviour): object {
  return {
    fromPeer: true,
    isApplication: behaviour.sendApplicationClose,
    errorCode: behaviour.errorCode,
    reason: behaviour.reason,
    code: behaviour.sendApplicationClose ? 'ApplicationError' : 'ConnectionClosed',
  };
}

describe('explicit connection close over loopback', () => {
  let listener: LoopbackServer<EchoServerApp> | undefined;
  let dialer: LoopbackClient<EchoClientApp> | undefined;

  /** Connects, echoes once, and returns both ends of the established connection. */
  async function connected(): Promise<{
    client: { app: TestApp; outcome: Promise<Outcome> };
    server: { app: TestApp; outcome: Promise<Outcome> };
  }> {
    const { server, client } = loopbackParams();
    listener = await startServer(server, () => new EchoServerApp());
    const message = randomBytes(500);
    dialer = await startClient(listener.address, client, new EchoClientApp(message, false));
    expect(await within(dialer.app.echoed, 2_000, 'the echo')).toEqual(message);
    const accepted = await listener.connection(0);
    return {
      client: { app: dialer.app, outcome: dialer.conn.outcome },
      server: { app: accepted.app, outcome: accepted.conn.outcome },
    };
  }

  afterEach(() => {
    dialer?.close();
    listener?.close();
    dialer = undefined;
    listener = undefined;
  });

  describe.each<[Side, Side]>([
    ['client', 'server'],
    ['server', 'client'],
  ])('closed by the %s', (closer, peer) => {
    it.each<[string, ConnectionShutdownBehaviour]>([
      ['an application code', { sendApplicationClose: true, errorCode: 42, reason: 'bye now' }],
      ['a transport code', { sendApplicationClose: false, errorCode: PROTOCOL_VIOLATION, reason: 'bad frame' }],
    ])("errors the peer's Observable with a QuicTransportError for %s", async (_name, behaviour) => {
      const ends = await connected();
      ends[closer].app.command({ type: 'connectionClose', behaviour });

      const [closerOutcome, peerOutcome] = await within(
        Promise.all([ends[closer].outcome, ends[peer].outcome]),
        3_000,
        'both sides to end',
      );
      // Closing is what the closer asked for: its side completes.
      expect(closerOutcome).toEqual({ ok: true });
      expect(peerOutcome.ok).toBe(false);
      const error = (peerOutcome as { error: unknown }).error;
      expect(error).toBeInstanceOf(QuicTransportError);
      expect(error).toMatchObject(closeFromPeer(behaviour));
      // The peer's application saw the same error in onConnClose.
      expect(ends[peer].app.closeResult).toEqual({ ok: false, error });
      expect(ends[closer].app.closeResult).toEqual({ ok: true });
    });

    it.each<[string, ConnectionShutdownBehaviour]>([
      ['an application NO_ERROR', { sendApplicationClose: true, errorCode: 0, reason: '' }],
      ['a transport NO_ERROR', { sendApplicationClose: false, errorCode: 0, reason: '' }],
    ])('completes both sides for %s', async (_name, behaviour) => {
      const ends = await connected();
      ends[closer].app.command({ type: 'connectionClose', behaviour });

      const outcomes = await within(Promise.all([ends.client.outcome, ends.server.outcome]), 3_000, 'both sides to end');
      expect(outcomes).toEqual([{ ok: true }, { ok: true }]);
      expect(ends[peer].app.closeResult).toEqual({ ok: true });
      // The peer did receive the frame: the close was not an idle timeout.
      const seen = ends[peer].app.qconn!.peerError();
      expect(seen).toEqual({ isApp: behaviour.sendApplicationClose, errorCode: 0, reason: '' });
    });
  });
});
