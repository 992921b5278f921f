import { randomBytes } from 'node:crypto';
import { type ObservableInput, throwError } from 'rxjs';

import type { HandshakeInfo } from '../../src/connection/HandshakeInfo';
import { QuicError } from '../../src/errors/QuicError';
import { QuicTransportError } from '../../src/errors/QuicTransportError';
import type { QuicheConnection } from '../../src/native/binding';
import { EchoServerApp, StreamClientApp } from '../helpers/echoApps';
import {
  type LoopbackClient,
  type LoopbackServer,
  loopbackParams,
  type Outcome,
  startClient,
  startServer,
  within,
} from '../helpers/loopback';

/** Transport INTERNAL_ERROR (RFC 9000 §20.1). */
const INTERNAL_ERROR = 0x1;

type Callback = 'onConnEstablished' | 'processReads' | 'processWrites' | 'waitForData';

/** An echo server whose `callback` fails, when `armed`: on the first `boom` it reads, or at once for onConnEstablished. */
class BoomApp extends EchoServerApp {
  readonly failure = new Error('boom');
  private boomed = false;

  constructor(
    private readonly callback: Callback,
    private readonly armed: boolean,
  ) {
    super();
  }

  override onConnEstablished(qconn: QuicheConnection, info: HandshakeInfo): void {
    super.onConnEstablished(qconn, info);
    if (this.armed && this.callback === 'onConnEstablished') throw this.failure;
  }

  override waitForData(qconn: QuicheConnection): ObservableInput<unknown> {
    if (this.boomed && this.callback === 'waitForData') return throwError(() => this.failure);
    return super.waitForData(qconn);
  }

  protected override reads(qconn: QuicheConnection): void {
    super.reads(qconn);
    this.boomed = this.armed && [...this.received.values()].some((chunks) => Buffer.concat(chunks).includes('boom'));
    if (this.boomed && this.callback === 'processReads') throw this.failure;
  }

  protected override writes(qconn: QuicheConnection): void {
    if (this.boomed && this.callback === 'processWrites') throw this.failure;
    super.writes(qconn);
  }
}

describe('an application callback that throws, over loopback', () => {
  it.each<[Callback]>([['onConnEstablished'], ['processReads'], ['processWrites'], ['waitForData']])(
    'closes only its own connection when %s fails',
    async (callback) => {
      const { server, client } = loopbackParams();
      let listener: LoopbackServer<BoomApp> | undefined;
      const dialers: LoopbackClient<StreamClientApp>[] = [];
      try {
        // The first connection's application fails; the second's never does.
        let n = 0;
        listener = await startServer(server, () => new BoomApp(callback, n++ === 0));
        const doomed = await startClient(listener.address, client, new StreamClientApp());
        dialers.push(doomed);
        const victim = await listener.connection(0);
        if (callback !== 'onConnEstablished') {
          await within(doomed.app.established, 2_000, 'the first handshake');
          void doomed.app.request(Buffer.from('boom'));
        }
        const bystander = await startClient(listener.address, client, new StreamClientApp());
        dialers.push(bystander);

        // The failing connection ends with the callback's error, wrapped, and onConnClose saw it.
        const outcome: Outcome = await within(victim.conn.outcome, 2_000, 'the failing connection to end');
        expect(outcome.ok).toBe(false);
        const error = (outcome as { error: unknown }).error as QuicError;
        expect(error).toBeInstanceOf(QuicError);
        expect(error.code).toBe('ApplicationError');
        expect(error.cause).toBe(victim.app.failure);
        expect(victim.app.closeResult).toEqual({ ok: false, error });
        expect(victim.app.calls.onConnClose).toBe(1);

        // The peer was told: a transport CONNECTION_CLOSE with INTERNAL_ERROR.
        const peerOutcome = await within(doomed.conn.outcome, 3_000, 'the peer to see the close');
        expect(peerOutcome.ok).toBe(false);
        const peerError = (peerOutcome as { error: unknown }).error;
        expect(peerError).toBeInstanceOf(QuicTransportError);
        expect(peerError).toMatchObject({ fromPeer: true, isApplication: false, errorCode: INTERNAL_ERROR });

        // The other connection on the same listener goes on.
        const message = randomBytes(10_000);
        expect(await within(bystander.app.request(message), 2_000, 'the other echo')).toEqual(message);
        expect((await listener.connection(1)).conn.ended()).toBe(false);
        expect(listener.listener.ended()).toBe(false);
      } finally {
        for (const d of dialers) d.close();
        listener?.close();
      }
    },
  );
});
