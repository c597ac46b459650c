// The eBPF assembler against encodings known from the kernel's own disassembly (bpftool
// prog dump xlated opcodes / llvm-objdump of the same instructions).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Asm } from '../../../../src/engine/packet/xdp/asm.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('eBPF assembler', () => {
  const cases: { what: string; build: (a: Asm) => Asm; bytes: string }[] = [
    { what: 'r0 = 2', build: (a) => a.movImm(0, 2), bytes: 'b700000002000000' },
    { what: 'exit', build: (a) => a.exit(), bytes: '9500000000000000' },
    { what: 'r6 = r1', build: (a) => a.movReg(6, 1), bytes: 'bf16000000000000' },
    { what: 'r2 = *(u32 *)(r1 + 0)', build: (a) => a.ldx(4, 2, 1, 0), bytes: '6112000000000000' },
    { what: 'r3 = *(u16 *)(r7 + 12)', build: (a) => a.ldx(2, 3, 7, 12), bytes: '69730c0000000000' },
    { what: 'r4 = *(u8 *)(r7 + 23)', build: (a) => a.ldx(1, 4, 7, 23), bytes: '7174170000000000' },
    { what: '*(u16 *)(r10 - 22) = r5', build: (a) => a.stx(2, 10, -22, 5), bytes: '6b5aeaff00000000' },
    { what: '*(u64 *)(r10 - 8) = 0', build: (a) => a.st(8, 10, -8, 0), bytes: '7a0af8ff00000000' },
    { what: '*(u8 *)(r10 - 24) = 1', build: (a) => a.st(1, 10, -24, 1), bytes: '720ae8ff01000000' },
    { what: 'r2 += -24', build: (a) => a.alu64Imm('add', 2, -24), bytes: '07020000e8ffffff' },
    { what: 'w3 &= 0xff3f', build: (a) => a.alu32Imm('and', 3, 0xff3f), bytes: '540300003fff0000' },
    { what: 'r1 -= r7', build: (a) => a.alu64Reg('sub', 1, 7), bytes: '1f71000000000000' },
    { what: 'call bpf_map_lookup_elem', build: (a) => a.call(1), bytes: '8500000001000000' },
    { what: 'call bpf_redirect_map', build: (a) => a.call(51), bytes: '8500000033000000' },
    { what: 'r1 = map fd 5', build: (a) => a.ldMap(1, 5), bytes: '18110000050000000000000000000000' },
    { what: 'r1 = 0x100000002', build: (a) => a.ldImm64(1, 0x100000002), bytes: '18010000020000000000000001000000' },
    { what: 'r1 = 0xffffffff (unsigned immediate)', build: (a) => a.movImm(1, 0xffffffff), bytes: 'b7010000ffffffff' },
  ];
  for (const c of cases) {
    it(c.what, () => assert.equal(hex(c.build(new Asm()).assemble()), c.bytes));
  }

  it('resolves forward and backward jumps to labels', () => {
    const a = new Asm();
    a.label('top').jmpImm('eq', 1, 6, 'out').jmpReg('gt', 1, 8, 'top').ja('out').movImm(0, 1).label('out').exit();
    const b = a.assemble();
    // if r1 == 6 goto +3 (over the jgt, the ja and the mov)
    assert.equal(hex(b.subarray(0, 8)), '1501030006000000');
    // if r1 > r8 goto -2 (back to 'top')
    assert.equal(hex(b.subarray(8, 16)), '2d81feff00000000');
    // goto +1
    assert.equal(hex(b.subarray(16, 24)), '0500010000000000');
  });

  it('a jump counts LD_IMM64 as two slots', () => {
    const a = new Asm();
    a.ja('end').ldMap(1, 3).label('end').exit();
    assert.equal(hex(a.assemble().subarray(0, 8)), '0500020000000000');
  });

  it('refuses what the kernel would', () => {
    assert.throws(() => new Asm().movImm(11, 0), /register r11/);
    assert.throws(() => new Asm().ldx(4, 0, 1, 40000), /16 signed bits/);
    assert.throws(() => new Asm().ja('nowhere').assemble(), /never defined/);
    assert.throws(() => new Asm().label('x').label('x'), /twice/);
  });
});
