// How HTTP_GET and SSL_GET judge a reply read to end of file (judgeReply, src/ha/check/http.ts;
// docs/spec/ha.md §B.4), on both the epoll driver's and Node's sockets: the status line, the
// status set, and the MD5 of the body (plain, chunked, truncated), as a table of cases.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { judgeReply } from '../../../src/ha/check/http.js';
import type { HttpUrl } from '../../../src/ha/lvs/types.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const url = (status: [number, number][], digest: string | null = null, path = '/h'): HttpUrl => ({
  path,
  status,
  digest,
  virtualhost: null,
});

interface Case {
  what: string;
  reply: string;
  url: HttpUrl;
  ok: boolean;
  detail: string | RegExp;
}

const OK = url([[200, 299]]);
const CASES: Case[] = [
  { what: 'HTTP/1.0 200 with a body', reply: 'HTTP/1.0 200 OK\r\n\r\nhello', url: OK, ok: true, detail: 'HTTP 200' },
  { what: 'reason phrase missing', reply: 'HTTP/1.1 204 \r\n\r\n', url: OK, ok: true, detail: 'HTTP 204' },
  { what: 'head never ends (server closed early)', reply: 'HTTP/1.1 200 OK\r\nX: y', url: OK, ok: true, detail: 'HTTP 200' },
  { what: 'status outside the set', reply: 'HTTP/1.1 503 Busy\r\n\r\n', url: OK, ok: false, detail: 'HTTP 503 for /h' },
  {
    what: 'status in a second range',
    reply: 'HTTP/1.1 302 Found\r\n\r\n',
    url: url([
      [200, 200],
      [301, 302],
    ]),
    ok: true,
    detail: 'HTTP 302',
  },
  { what: 'empty reply', reply: '', url: OK, ok: false, detail: 'no HTTP status line in the reply' },
  { what: 'not HTTP', reply: 'SSH-2.0-OpenSSH_9.2\r\n', url: OK, ok: false, detail: 'no HTTP status line in the reply' },
  { what: 'four-digit status', reply: 'HTTP/1.1 2000 X\r\n\r\n', url: OK, ok: false, detail: 'no HTTP status line in the reply' },
  { what: 'status line not first', reply: '\r\nHTTP/1.1 200 OK\r\n\r\n', url: OK, ok: false, detail: 'no HTTP status line in the reply' },
  {
    what: 'digest of a plain body',
    reply: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
    url: url([[200, 200]], md5('hello')),
    ok: true,
    detail: 'HTTP 200',
  },
  {
    what: 'digest of another body',
    reply: 'HTTP/1.1 200 OK\r\n\r\nhellO',
    url: url([[200, 200]], md5('hello')),
    ok: false,
    detail: `digest ${md5('hellO')} for /h, want ${md5('hello')}`,
  },
  {
    what: 'digest of an empty body (head only)',
    reply: 'HTTP/1.0 200 OK\r\n\r\n',
    url: url([[200, 200]], md5('')),
    ok: true,
    detail: 'HTTP 200',
  },
  {
    what: 'digest checked only after the status',
    reply: 'HTTP/1.0 404 No\r\n\r\nhello',
    url: url([[200, 200]], md5('hello')),
    ok: false,
    detail: 'HTTP 404 for /h',
  },
  {
    what: 'chunked body, chunk extension, header in any case',
    reply: 'HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n3;x=1\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n',
    url: url([[200, 200]], md5('hello')),
    ok: true,
    detail: 'HTTP 200',
  },
  {
    what: 'truncated chunked body: hashed as sent, so it fails',
    reply: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n',
    url: url([[200, 200]], md5('hel')),
    ok: false,
    detail: /^digest /,
  },
  {
    what: 'binary body bytes hashed as bytes',
    reply: 'HTTP/1.1 200 OK\r\n\r\n\u00ff\u0000\u0080',
    url: url(
      [[200, 200]],
      createHash('md5')
        .update(Buffer.from([0xff, 0, 0x80]))
        .digest('hex'),
    ),
    ok: true,
    detail: 'HTTP 200',
  },
];

describe('HTTP_GET reply judgement', () => {
  for (const c of CASES) {
    it(c.what, () => {
      const r = judgeReply(Buffer.from(c.reply, 'latin1'), c.url);
      assert.equal(r.ok, c.ok, r.detail);
      if (typeof c.detail === 'string') assert.equal(r.detail, c.detail);
      else assert.match(r.detail, c.detail);
    });
  }
});
