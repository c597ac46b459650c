// `-R` names the input lines that failed (number, text, status, message) beside ipvsadm's
// unchanged output, so that the director's log can say which line of a rules file was wrong.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { staticResolver } from '../../../src/adm/resolve.js';
import { runAdm } from '../../../src/adm/run.js';
import { Ipvs } from '../../../src/core/ipvs.js';

const resolver = staticResolver({ hosts: {}, services: '', interfaces: {} });
const restore = (stdin: string, ipvs = new Ipvs()) => runAdm(['-R'], 'ipvsadm', { ipvs, now: 0, resolver, stdin });

describe('tsvsadm -R failures', () => {
  it('a clean input reports none', async () => {
    const r = await restore('-A -t 10.0.0.1:80 -s rr\n\n-a -t 10.0.0.1:80 -r 10.0.1.1 -m\n');
    assert.deepEqual([r.code, r.stderr, r.restoreFailures], [0, '', undefined]);
  });

  it('kernel errors: each line by number and text, blank lines counted, and the restore goes on', async () => {
    const ipvs = new Ipvs();
    const r = await restore('ipvsadm -A -t 10.0.0.1:80 -s rr\n\n-A -t 10.0.0.1:80 -s rr\r\n-D -t 10.0.0.9:80\n-A -t 10.0.0.2:80', ipvs);
    assert.equal(r.stderr, 'Service already exists\nNo such service\n');
    assert.equal(r.code, 0);
    assert.deepEqual(r.restoreFailures, [
      { line: 3, text: '-A -t 10.0.0.1:80 -s rr', code: 255, message: 'Service already exists' },
      { line: 4, text: '-D -t 10.0.0.9:80', code: 255, message: 'No such service' },
    ]);
    assert.equal(ipvs.rules.serviceCount, 2);
  });

  it('a usage error ends the restore and is the last failure named', async () => {
    const r = await restore('-A -t 10.0.0.1:80\n  -A -t 80  \n-A -t 10.0.0.2:80\n');
    assert.equal(r.code, 2);
    assert.deepEqual(r.restoreFailures, [
      { line: 2, text: '  -A -t 80  ', code: 2, message: 'illegal virtual server address[:port] specified' },
    ]);
  });
});
