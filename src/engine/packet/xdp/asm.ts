// A tiny eBPF assembler: enough of the instruction set (Documentation/bpf/standardization/
// instruction-set.rst) to build the XDP program in TypeScript, so that no C toolchain is needed at
// run time. Each instruction is 8 bytes: opcode, dst (low nibble) and src (high nibble) registers,
// a signed 16-bit offset, a signed 32-bit immediate, little-endian. LD_IMM64 takes two slots; with
// src = BPF_PSEUDO_MAP_FD its immediate is a map's file descriptor, which the kernel resolves.
// Jumps name labels; forward and backward targets are resolved by assemble().

// Instruction classes.
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_ALU64 = 0x07;
// Sizes and modes of loads and stores.
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;
export const BPF_IMM = 0x00;
export const BPF_MEM = 0x60;
/** Atomic read-modify-write stores (imm names the operation: BPF_ADD). */
export const BPF_ATOMIC = 0xc0;
/** Byte-order conversion (class BPF_ALU); BPF_TO_BE swaps on a little-endian host. */
export const BPF_END = 0xd0;
export const BPF_TO_BE = 0x08;
// Operand source.
export const BPF_K = 0x00;
export const BPF_X = 0x08;
// ALU operations.
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
// Jump operations.
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
/** LD_IMM64's src register when the immediate is a map fd. */
export const BPF_PSEUDO_MAP_FD = 1;

export type Size = 1 | 2 | 4 | 8;
export type AluOp = 'add' | 'sub' | 'mul' | 'or' | 'and' | 'lsh' | 'rsh' | 'xor' | 'mov';
export type JmpOp = 'eq' | 'gt' | 'ge' | 'set' | 'ne' | 'lt' | 'le';

const SIZE: Record<Size, number> = { 1: BPF_B, 2: BPF_H, 4: BPF_W, 8: BPF_DW };
const ALU: Record<AluOp, number> = {
  add: BPF_ADD,
  sub: BPF_SUB,
  mul: BPF_MUL,
  or: BPF_OR,
  and: BPF_AND,
  lsh: BPF_LSH,
  rsh: BPF_RSH,
  xor: BPF_XOR,
  mov: BPF_MOV,
};
const JMP: Record<JmpOp, number> = { eq: BPF_JEQ, gt: BPF_JGT, ge: BPF_JGE, set: BPF_JSET, ne: BPF_JNE, lt: BPF_JLT, le: BPF_JLE };

interface Insn {
  op: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** A jump whose offset is this label's position. */
  target?: string;
}

function reg(r: number): number {
  if (!Number.isInteger(r) || r < 0 || r > 10) throw new Error(`eBPF register r${r} does not exist (r0 to r10)`);
  return r;
}

function s16(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -32768 || v > 32767) throw new Error(`eBPF ${what} ${v} does not fit 16 signed bits`);
  return v;
}

function s32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new Error(`eBPF ${what} ${v} does not fit 32 bits`);
  return v | 0;
}

/** Builds a program instruction by instruction; assemble() returns its bytes. */
export class Asm {
  private readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();

  /** Instructions so far (LD_IMM64 counts two). */
  get length(): number {
    return this.insns.length;
  }

  private emit(op: number, dst: number, src: number, off: number, imm: number, target?: string): this {
    const i: Insn = { op, dst: reg(dst), src: reg(src), off: s16(off, 'offset'), imm: s32(imm, 'immediate') };
    if (target !== undefined) i.target = target;
    this.insns.push(i);
    return this;
  }

  /** Marks the next instruction as `name`. */
  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`eBPF label ${name} defined twice`);
    this.labels.set(name, this.insns.length);
    return this;
  }

  /** dst op= imm, 64-bit. */
  alu64Imm(op: AluOp, dst: number, imm: number): this {
    return this.emit(BPF_ALU64 | ALU[op] | BPF_K, dst, 0, 0, imm);
  }

  /** dst op= src, 64-bit. */
  alu64Reg(op: AluOp, dst: number, src: number): this {
    return this.emit(BPF_ALU64 | ALU[op] | BPF_X, dst, src, 0, 0);
  }

  /** dst op= imm, 32-bit (the upper half is zeroed). */
  alu32Imm(op: AluOp, dst: number, imm: number): this {
    return this.emit(BPF_ALU | ALU[op] | BPF_K, dst, 0, 0, imm);
  }

  /** dst op= src, 32-bit. */
  alu32Reg(op: AluOp, dst: number, src: number): this {
    return this.emit(BPF_ALU | ALU[op] | BPF_X, dst, src, 0, 0);
  }

  movImm(dst: number, imm: number): this {
    return this.alu64Imm('mov', dst, imm);
  }

  movReg(dst: number, src: number): this {
    return this.alu64Reg('mov', dst, src);
  }

  /** dst = *(size *)(src + off). */
  ldx(size: Size, dst: number, src: number, off: number): this {
    return this.emit(BPF_LDX | SIZE[size] | BPF_MEM, dst, src, off, 0);
  }

  /** *(size *)(dst + off) = src. */
  stx(size: Size, dst: number, off: number, src: number): this {
    return this.emit(BPF_STX | SIZE[size] | BPF_MEM, dst, src, off, 0);
  }

  /** *(size *)(dst + off) = imm. */
  st(size: Size, dst: number, off: number, imm: number): this {
    return this.emit(BPF_ST | SIZE[size] | BPF_MEM, dst, 0, off, imm);
  }

  /** *(size *)(dst + off) += src, atomically (4 or 8 bytes): counters shared by every CPU. */
  atomicAdd(size: 4 | 8, dst: number, off: number, src: number): this {
    return this.emit(BPF_STX | SIZE[size] | BPF_ATOMIC, dst, src, off, BPF_ADD);
  }

  /** dst = the low 16 bits of dst, bytes swapped (htobe16 on a little-endian host; the rest zeroed). */
  be16(dst: number): this {
    return this.emit(BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, 16);
  }

  /** dst = a 64-bit immediate (two slots); `imm` must be a safe integer. */
  ldImm64(dst: number, imm: number): this {
    if (!Number.isSafeInteger(imm)) throw new Error(`eBPF immediate ${imm} is not a safe integer`);
    const lo = imm % 0x100000000;
    const hi = Math.floor(imm / 0x100000000);
    this.emit(BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, lo >>> 0);
    return this.emit(0, 0, 0, 0, hi >>> 0);
  }

  /** dst = the map whose file descriptor is `fd` (the kernel turns it into the map's address). */
  ldMap(dst: number, fd: number): this {
    this.emit(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
    return this.emit(0, 0, 0, 0, 0);
  }

  /** if (dst op imm) goto label. */
  jmpImm(op: JmpOp, dst: number, imm: number, label: string): this {
    return this.emit(BPF_JMP | JMP[op] | BPF_K, dst, 0, 0, imm, label);
  }

  /** if (dst op src) goto label. */
  jmpReg(op: JmpOp, dst: number, src: number, label: string): this {
    return this.emit(BPF_JMP | JMP[op] | BPF_X, dst, src, 0, 0, label);
  }

  /** goto label. */
  ja(label: string): this {
    return this.emit(BPF_JMP | BPF_JA, 0, 0, 0, 0, label);
  }

  /** Calls helper number `id` (include/uapi/linux/bpf.h, __BPF_FUNC_MAPPER). */
  call(id: number): this {
    return this.emit(BPF_JMP | BPF_CALL, 0, 0, 0, id);
  }

  exit(): this {
    return this.emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  }

  /** The program's bytes, jumps resolved; throws on a label that was never defined. */
  assemble(): Uint8Array {
    const out = new Uint8Array(this.insns.length * 8);
    const dv = new DataView(out.buffer);
    this.insns.forEach((i, k) => {
      let off = i.off;
      if (i.target !== undefined) {
        const at = this.labels.get(i.target);
        if (at === undefined) throw new Error(`eBPF label ${i.target} is never defined`);
        off = s16(at - k - 1, `jump to ${i.target}`);
      }
      out[k * 8] = i.op;
      out[k * 8 + 1] = (i.src << 4) | i.dst;
      dv.setInt16(k * 8 + 2, off, true);
      dv.setInt32(k * 8 + 4, i.imm, true);
    });
    return out;
  }
}
