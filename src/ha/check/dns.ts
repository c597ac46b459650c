// DNS_CHECK: a UDP query for `name` of `type`; up when an answer with QR set, our id and
// RCODE 0 (NOERROR) arrives within connect_timeout (§B.4).
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { CheckerConf } from '../lvs/types.js';
import type { ProbeResult } from './probe.js';

const TYPE_CODES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 };

export function dnsQuery(id: number, name: string, type: string): Buffer {
  const labels = name.split('.').filter(Boolean);
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x0100, 2); // RD: as keepalived sends it
  head.writeUInt16BE(1, 4); // one question
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(TYPE_CODES[type] ?? 6, 0);
  tail.writeUInt16BE(1, 2); // class IN
  return Buffer.concat([head, qname, tail]);
}

export function dnsProbe(c: CheckerConf): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = createSocket(isIP(c.connectIp) === 6 ? 'udp6' : 'udp4');
    const id = randomInt(0, 0x10000);
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.close();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: `no DNS answer within ${c.connectTimeoutMs} ms` }), c.connectTimeoutMs);
    s.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, detail: e.code ?? e.message }));
    s.on('message', (b: Buffer) => {
      if (b.length < 12 || b.readUInt16BE(0) !== id || ((b[2] as number) & 0x80) === 0) return; // not our answer
      const rcode = (b[3] as number) & 0x0f;
      finish(rcode === 0 ? { ok: true, detail: 'NOERROR' } : { ok: false, detail: `DNS RCODE ${rcode}` });
    });
    const send = (): void =>
      s.send(dnsQuery(id, c.dns?.name ?? '.', c.dns?.type ?? 'SOA'), c.connectPort, c.connectIp, (e) => {
        if (e) finish({ ok: false, detail: (e as NodeJS.ErrnoException).code ?? e.message });
      });
    if (c.bindto || c.bindPort) s.bind({ address: c.bindto ?? undefined, port: c.bindPort ?? 0 }, send);
    else send();
  });
}
