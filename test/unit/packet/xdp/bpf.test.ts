// What a refused XDP attach tells the operator (attachHint): the kernel's EINVAL means a driver
// that refuses the mode, or an ifindex no device has any more; the name is looked up again to
// tell them apart. if_nametoindex needs no privilege, so the real lookup runs here too.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachHint } from '../../../../src/engine/packet/xdp/bpf.js';

const EINVAL = 22;

describe('attachHint (a refused BPF_LINK_CREATE)', () => {
  it('EINVAL on an interface that is still there blames the mode', () => {
    assert.equal(
      attachHint(EINVAL, 'generic', 'eth0', 2, () => 2),
      'eth0 (ifindex 2) refuses generic XDP: use --xdp off',
    );
    assert.match(
      attachHint(EINVAL, 'native', 'eth0', 2, () => 2),
      /^the driver of eth0 has no native XDP: use --xdp generic/,
    );
  });

  for (const mode of ['generic', 'native'] as const) {
    it(`EINVAL in ${mode} mode on an interface that went away says so, not that it refuses XDP`, () => {
      const m = attachHint(EINVAL, mode, 'veth9', 41, () => 0);
      assert.match(
        m,
        /^veth9 \(ifindex 41\) no longer exists: it went away while XDP was being attached; if it is to be served, bring it back/,
      );
      assert.doesNotMatch(m, /refuses|no native XDP/);
    });
  }

  it('EINVAL on a name now held by another ifindex says it was created again', () => {
    assert.match(
      attachHint(EINVAL, 'generic', 'veth9', 41, () => 57),
      /^veth9 is now ifindex 57, not 41: it was deleted and created again/,
    );
  });

  it('with the real if_nametoindex: lo is there, a made-up name is not', () => {
    assert.equal(attachHint(EINVAL, 'generic', 'lo', 1), 'lo (ifindex 1) refuses generic XDP: use --xdp off');
    assert.match(attachHint(EINVAL, 'generic', 'tsvs-nx-9', 12345), /^tsvs-nx-9 \(ifindex 12345\) no longer exists/);
  });

  it('EOPNOTSUPP is the driver (the kernel found the device), EBUSY another program', () => {
    let looked = false;
    const look = (): number => {
      looked = true;
      return 0;
    };
    assert.match(attachHint(95, 'native', 'eth0', 2, look), /has no native XDP/);
    assert.match(attachHint(16, 'generic', 'eth0', 2, look), /already has an XDP program/);
    assert.equal(looked, false);
  });
});
