// What the checkers put on the wire and how they judge replies (docs/spec/ha.md §B.4): keepalived's
// HTTP request byte for byte, status sets and MD5 digests (plain and chunked bodies), the
// DNS query, and the retry rule's detection bound.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { detectionBoundMs } from '../../../src/ha/check/checker.js';
import { dnsQuery } from '../../../src/ha/check/dns.js';
import { httpRequest, judgeReply } from '../../../src/ha/check/http.js';
import { parseConfText } from '../../../src/ha/conf/parse.js';
import { lvsFromConf } from '../../../src/ha/lvs/config.js';
import type { CheckerConf, HttpUrl } from '../../../src/ha/lvs/types.js';

function checkerOf(body: string, rs = '10.0.1.1 8080'): CheckerConf {
  const r = lvsFromConf(
    parseConfText(
      `virtual_server ${rs.includes(':') ? '2001:db8::100' : '10.0.0.1'} 80 {\n protocol TCP\n lb_algo rr\n real_server ${rs} {\n${body}\n }\n}\n`,
      '/k',
    ).nodes,
  );
  assert.deepEqual(r.errors, []);
  return r.config.virtualServers[0]!.realServers[0]!.checkers[0]!;
}

describe('checker probes', () => {
  it("HTTP_GET sends keepalived's request; virtualhost and http_protocol change it", () => {
    const c = checkerOf('HTTP_GET {\n url {\n path /h?x=1\n }\n}');
    assert.equal(httpRequest(c, c.http!.urls[0]!), 'GET /h?x=1 HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.1.1:8080\r\n\r\n');
    const v = checkerOf(
      'SSL_GET {\n url {\n path /\n virtualhost u.example\n }\n http_protocol 1.1\n connect_ip 2001:db8::5\n connect_port 8443\n}',
      '2001:db8::1 443',
    );
    assert.equal(
      httpRequest(v, v.http!.urls[0]!),
      'GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: u.example\r\n\r\n',
    );
    const h = checkerOf('HTTP_GET {\n url {\n path /\n }\n connect_ip 2001:db8::5\n}', '2001:db8::1 443');
    assert.match(httpRequest(h, h.http!.urls[0]!), /Host: \[2001:db8::5\]:443\r\n/);
  });

  it('status sets and digests judge the reply', () => {
    const body = 'hello';
    const md5 = createHash('md5').update(body).digest('hex');
    const u = (status: [number, number][], digest: string | null = null): HttpUrl => ({ path: '/', status, digest, virtualhost: null });
    const reply = (code: number, b = body, extra = '') =>
      Buffer.from(`HTTP/1.1 ${code} X\r\n${extra}Content-Length: ${b.length}\r\n\r\n${b}`);
    assert.equal(judgeReply(reply(204), u([[200, 299]])).ok, true);
    assert.equal(judgeReply(reply(301), u([[200, 299]])).detail, 'HTTP 301 for /');
    assert.equal(
      judgeReply(
        reply(301),
        u([
          [200, 200],
          [301, 302],
        ]),
      ).ok,
      true,
    );
    assert.equal(judgeReply(reply(200), u([[200, 200]], md5)).ok, true);
    assert.match(judgeReply(reply(200, 'other'), u([[200, 200]], md5)).detail, /^digest /);
    const chunked = Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n`);
    assert.equal(judgeReply(chunked, u([[200, 200]], md5)).ok, true);
    assert.equal(judgeReply(Buffer.from('garbage'), u([[200, 299]])).ok, false);
  });

  it('status_code lists and ranges parse; defaults per checker kind', () => {
    const c = checkerOf('HTTP_GET {\n url {\n path /\n status_code 200 301-302\n }\n}');
    assert.deepEqual(c.http!.urls[0]!.status, [
      [200, 200],
      [301, 302],
    ]);
    assert.deepEqual([c.retry, c.delayBeforeRetryMs, c.connectTimeoutMs, c.delayLoopMs], [1, 3000, 5000, 60_000]);
    const d = checkerOf('DNS_CHECK {\n}');
    assert.deepEqual([d.retry, d.delayBeforeRetryMs, d.dns], [3, 60_000, { name: '.', type: 'SOA' }]);
    const t = checkerOf('TCP_CHECK {\n connect_timeout 2\n retry 2\n delay_before_retry 0.5\n}');
    assert.equal(detectionBoundMs(t), 60_000 + 2 * 500 + 3 * 2000);
  });

  it('DNS_CHECK query: one question, RD set, name as labels', () => {
    const q = dnsQuery(0x1234, 'www.example.com', 'A');
    assert.equal(q.toString('hex'), '123401000001000000000000' + '03777777076578616d706c6503636f6d00' + '00010001');
    assert.equal(dnsQuery(1, '.', 'SOA').subarray(12).toString('hex'), '0000060001');
  });
});
