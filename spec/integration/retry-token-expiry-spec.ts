import { napi } from '../../src/native/binding';
import { EchoServerApp } from '../helpers/echoApps';
import { type LoopbackServer, loopbackParams, sleep, startServer, until } from '../helpers/loopback';
import { RawClient } from '../helpers/rawClient';

describe('Retry token expiry over loopback', () => {
  it.each<[string, number, boolean]>([
    ['accepts an Initial whose Retry token is still valid', 60_000, true],
    ['drops an Initial whose Retry token has expired, silently', 1, false],
  ])('%s', async (_name, addressTokenLifetime, accepted) => {
    const { server, client } = loopbackParams({ addressTokenLifetime });
    let listener: LoopbackServer<EchoServerApp> | undefined;
    let raw: RawClient | undefined;
    try {
      listener = await startServer(server, () => new EchoServerApp());
      raw = await RawClient.open(listener.address, client);

      // The first flight gets a Retry (one per datagram; quiche takes the first).
      const firstFlight = raw.flush();
      await raw.receive(firstFlight, 2_000);
      expect(raw.received.every((d) => napi.parseHeader(d, 20).type === 'retry')).toBe(true);
      const retries = raw.received.length;
      raw.feed();

      // The Initial again, with the token, well after a 1 ms token has expired.
      await sleep(20);
      const secondFlight = raw.flush();
      expect(secondFlight).toBeGreaterThanOrEqual(1);

      if (accepted) {
        await until(() => listener!.accepted.length === 1, 2_000, 'the connection');
        await raw.receive(retries + 1, 2_000);
        expect(listener.metrics.rejectedPackets.tokenValidationFail).toBe(0);
      } else {
        await until(
          () => listener!.metrics.rejectedPackets.tokenValidationFail === secondFlight,
          2_000,
          'every Initial of the second flight to be dropped',
        );
        // Nothing answers it: no connection, no new Retry, no close.
        await sleep(50);
        expect(raw.received).toHaveLength(retries);
        expect(listener.accepted).toHaveLength(0);
        expect(listener.metrics.acceptedInitialPackets).toBe(0);
      }
      expect(listener.metrics.retriesSent).toBe(retries);
    } finally {
      raw?.close();
      listener?.close();
    }
  });
});
