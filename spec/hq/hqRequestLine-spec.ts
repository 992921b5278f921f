import { formatHqRequest, MAX_HQ_REQUEST_LINE, parseHqRequest } from '../../src/hq/hqRequestLine';

const line = (s: string): Uint8Array => Buffer.from(s, 'latin1');

describe('formatHqRequest', () => {
  it('should write GET, the path and CRLF', () => {
    expect(Buffer.from(formatHqRequest('/a/b.txt?x=1')).toString()).toBe('GET /a/b.txt?x=1\r\n');
  });

  it.each(['', 'a', '/a b', '/a\r\n', '/é'])('should refuse %j with InvalidArgument', (p) => {
    expect(() => formatHqRequest(p)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('should refuse a line longer than MAX_HQ_REQUEST_LINE', () => {
    expect(() => formatHqRequest(`/${'a'.repeat(MAX_HQ_REQUEST_LINE)}`)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});

describe('parseHqRequest', () => {
  it.each([
    ['GET /', '/'],
    ['GET /index.html\r', '/index.html'],
    ['GET /a/b?c=%2e%2e', '/a/b?c=%2e%2e'],
    ['GET /dir//file', '/dir//file'],
    ['GET /%41', '/%41'],
  ])('should read %j as %j', (text, path) => {
    expect(parseHqRequest(line(text))).toBe(path);
  });

  it.each([
    'POST /',
    'GET',
    'GET ',
    'get /',
    'GET index.html',
    'GET /a b',
    'GET  /a',
    'GET /a\r\r',
    'GET /\x00',
    'GET /../etc/passwd',
    'GET /a/./b',
    'GET /a/..',
    'GET /%2e%2e/x',
    'GET /%2E./x',
    'GET /..%2fx',
    'GET /a%5cb',
    'GET /a%00',
    'GET /%zz',
  ])('should refuse %j with MessageError', (text) => {
    expect(() => parseHqRequest(line(text))).toThrow(expect.objectContaining({ code: 'MessageError' }));
  });
});
