// The control protocol's framing: frames split across reads and several frames in one read come
// out whole and in order (a reply in parts arrives as a run of frames on one connection).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, FrameReader, isReplyPart, MAX_FRAME } from '../../../src/control/protocol.js';

describe('FrameReader', () => {
  it('takes frames split at every byte, and several frames from one read, in order', () => {
    const frames = [{ part: 'a'.repeat(300) }, { part: 'é\n' }, { stdout: 'end', stderr: '', code: 0 }];
    const bytes = Buffer.concat(frames.map((f) => encodeFrame(f)));
    for (const cut of [1, 3, 4, 5, 17, 310, bytes.length]) {
      const r = new FrameReader();
      const got: unknown[] = [];
      for (let i = 0; i < bytes.length; i += cut) {
        for (let t = r.push(bytes.subarray(i, i + cut)); t !== null; t = r.next()) got.push(JSON.parse(t));
      }
      assert.deepEqual(got, frames, `reads of ${cut} bytes`);
      assert.equal(r.next(), null);
    }
  });

  it('tells a part from a reply, and refuses a frame over MAX_FRAME', () => {
    assert.ok(isReplyPart({ part: '' }));
    assert.ok(!isReplyPart({ stdout: 'x', stderr: '', code: 0 }));
    assert.ok(!isReplyPart(null));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(MAX_FRAME + 1);
    assert.throws(() => new FrameReader().push(head), /over the .* limit/);
  });
});
