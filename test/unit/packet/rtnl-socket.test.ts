// The rtnetlink socket against this process's own namespace (no root needed): the start-up
// dump brings the loopback link and its addresses; a second full dump asked while the first
// runs discards the stale replies by sequence number and still ends synced with the same view.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rtnl } from '../../../src/engine/packet/rtnl.js';
import { POLLIN } from '../../../src/sys/constants.js';
import { libc, libcOrNull } from '../../../src/sys/libc.js';

const skip = process.platform !== 'linux' || libcOrNull() === null ? 'needs Linux and koffi' : false;

describe('rtnetlink socket', { skip }, () => {
  it('dumps links and addresses of this namespace, and survives a dump restarted mid-way', () => {
    const nl = Rtnl.open();
    try {
      nl.dumpAllSync();
      const first = nl.state.netInfo();
      const lo = first.links.find((l) => l.name === 'lo');
      assert.ok(lo, `lo is among ${first.links.map((l) => l.name).join(', ')}`);
      assert.equal(lo.ether, false);
      assert.equal(nl.dumps, 4, 'one dump per kind, one at a time');
      nl.dumpAll();
      nl.dumpAll(); // the first of these is in flight: its replies become stale
      const pfd = new Uint8Array(8);
      new DataView(pfd.buffer).setInt32(0, nl.fd, true);
      pfd[4] = POLLIN;
      for (let i = 0; i < 100 && !nl.synced; i++) {
        libc().poll(pfd, 1, 50);
        nl.pump();
      }
      assert.equal(nl.synced, true);
      assert.equal(nl.error, null);
      const again = nl.state.netInfo();
      assert.deepEqual(again.links, first.links);
      assert.deepEqual(again.addrs, first.addrs);
    } finally {
      nl.close();
    }
  });
});
