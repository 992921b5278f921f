import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { napi } from '../../src/native/binding';
import { ClientConfigCache } from '../../src/settings/ClientConfigCache';
import { ConnectionParams } from '../../src/settings/ConnectionParams';

describe('ClientConfigCache', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rxq-configs-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shares one configuration between equal parameters, even as different objects', () => {
    const cache = new ClientConfigCache();
    const a = cache.get(ConnectionParams.newClient({ maxIdleTimeout: 5000 }));
    const b = cache.get(ConnectionParams.newClient({ maxIdleTimeout: 5000 }));
    expect(a).toBeInstanceOf(napi.Config);
    expect(b).toBe(a);
    // The default trust (Node's ~140 roots, the costly case) is shared too.
    const verifying = cache.get(ConnectionParams.newClient({}));
    expect(cache.get(ConnectionParams.newClient({}))).toBe(verifying);
    expect(cache.size).toBe(2);
  });

  it('builds another for other settings, other trust, or a hook that answers differently', () => {
    const cache = new ClientConfigCache();
    const base = cache.get(ConnectionParams.newClient({}));
    expect(cache.get(ConnectionParams.newClient({ maxIdleTimeout: 1234 }))).not.toBe(base);
    expect(cache.get(ConnectionParams.newClient({ verifyPeer: false }))).not.toBe(base);
    const ca = napi.generateCertificate({ isCa: true, commonName: 'cache CA', subjectAltNames: [] });
    expect(cache.get(ConnectionParams.newClient({}, undefined, {}, { trust: { ca: ca.cert } }))).not.toBe(base);
    let alpn = 'x-one';
    const hooked = ConnectionParams.newClient({}, undefined, {
      connectionHook: { customizeConfigOptions: (o) => ({ ...o, alpn: [alpn] }) },
    });
    const one = cache.get(hooked);
    expect(cache.get(hooked)).toBe(one);
    alpn = 'x-two';
    expect(cache.get(hooked)).not.toBe(one);
    expect(cache.size).toBe(6);
  });

  it('reads a CA file again once it changed on disk', () => {
    const cache = new ClientConfigCache();
    const file = join(dir, 'ca.pem');
    const first = napi.generateCertificate({ isCa: true, commonName: 'first CA', subjectAltNames: [] });
    writeFileSync(file, first.cert);
    const params = ConnectionParams.newClient({}, undefined, {}, { trust: { caFile: file } });
    const a = cache.get(params);
    expect(cache.get(params)).toBe(a);
    const second = napi.generateCertificate({ isCa: true, commonName: 'second CA, a longer name', subjectAltNames: [] });
    writeFileSync(file, second.cert);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(cache.get(params)).not.toBe(a);
  });

  it('caches no failure: a missing CA file fails with CertificateFile at every call', () => {
    const cache = new ClientConfigCache();
    const params = ConnectionParams.newClient({}, undefined, {}, { trust: { caFile: join(dir, 'absent.pem') } });
    for (let i = 0; i < 2; i++) expect(() => cache.get(params)).toThrow(expect.objectContaining({ code: 'CertificateFile' }));
    expect(cache.size).toBe(0);
  });

  it('drops the least recently used configuration when full', () => {
    const cache = new ClientConfigCache(2);
    const p1 = ConnectionParams.newClient({ maxIdleTimeout: 1001 });
    const p2 = ConnectionParams.newClient({ maxIdleTimeout: 1002 });
    const p3 = ConnectionParams.newClient({ maxIdleTimeout: 1003 });
    const c1 = cache.get(p1);
    const c2 = cache.get(p2);
    expect(cache.get(p1)).toBe(c1); // p1 is now the most recent; p2 goes next
    cache.get(p3);
    expect(cache.size).toBe(2);
    expect(cache.get(p1)).toBe(c1);
    expect(cache.get(p2)).not.toBe(c2);
  });
});
