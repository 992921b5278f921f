import { validateRequestHeaders } from '../../src/http3/validateRequestHeaders';

const h = (...pairs: Array<[string, string]>) => pairs.map(([name, value]) => ({ name, value }));
const GET: Array<[string, string]> = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':authority', 'localhost'],
  [':path', '/'],
];

/** @test {validateRequestHeaders} */
describe('validateRequestHeaders (RFC 9114 §4.1.2, §4.2, §4.3.1)', () => {
  it.each([
    ['a plain GET', h(...GET)],
    ['a GET with regular fields and te: trailers', h(...GET, ['accept', '*/*'], ['te', 'trailers'])],
    ['a CONNECT with only :method and :authority', h([':method', 'CONNECT'], [':authority', 'example.com:443'])],
    ['an extended CONNECT (RFC 9220)', h([':method', 'CONNECT'], [':protocol', 'connect-udp'], [':scheme', 'https'], [':authority', 'proxy'], [':path', '/masque'])],
  ])('accepts %s', (_what, headers) => {
    expect(validateRequestHeaders(headers)).toBeNull();
  });

  it.each([
    ['no :method', h([':scheme', 'https'], [':authority', 'a'], [':path', '/']), /no :method/],
    ['no :path', h([':method', 'GET'], [':scheme', 'https'], [':authority', 'a']), /no :path/],
    ['an empty :path', h([':method', 'GET'], [':scheme', 'https'], [':authority', 'a'], [':path', '']), /no :path/],
    ['no :scheme', h([':method', 'GET'], [':authority', 'a'], [':path', '/']), /no :scheme/],
    ['no authority at all', h([':method', 'GET'], [':scheme', 'https'], [':path', '/']), /neither :authority nor host/],
    ['a response pseudo-header', h(...GET, [':status', '200']), /not a request pseudo-header/],
    ['a pseudo-header after a regular field', h([':method', 'GET'], ['accept', '*/*'], [':scheme', 'https'], [':authority', 'a'], [':path', '/']), /follows a regular field/],
    ['a duplicate pseudo-header', h(...GET, [':path', '/again']), /appears twice/],
    ['an uppercase field name', h(...GET, ['Accept', '*/*']), /uppercase/],
    ['a connection-specific field', h(...GET, ['connection', 'keep-alive']), /connection-specific/],
    ['transfer-encoding', h(...GET, ['transfer-encoding', 'chunked']), /connection-specific/],
    ['te other than trailers', h(...GET, ['te', 'gzip']), /te must be/],
    ['a CONNECT with :path', h([':method', 'CONNECT'], [':authority', 'a:443'], [':path', '/']), /carries :scheme or :path/],
    ['a CONNECT without :authority', h([':method', 'CONNECT']), /no :authority/],
    [':protocol on a GET', h(...GET, [':protocol', 'websocket']), /only for CONNECT/],
  ])('refuses %s', (_what, headers, why) => {
    expect(validateRequestHeaders(headers)).toMatch(why);
  });
});
