// Listing order: glibc's qsort (a top-down merge sort: split at n/2, left half first, ties
// take the left element) with libipvs's comparators, whose 32-bit differences wrap around.
// The comparator is not transitive for addresses 2^31 apart, so only this exact algorithm
// gives ipvsadm's order. Spec: docs/spec/ipvsadm.md §10.

import { AF_INET6 } from '../core/constants.js';
import type { Dest } from '../core/dest.js';
import type { Addr } from '../core/inet.js';
import type { Service } from '../core/service.js';

export type Compare<T> = (a: T, b: T) => number;

/** glibc msort_with_tmp: stable merge sort, returning a new array. */
export function glibcMergeSort<T>(items: readonly T[], cmp: Compare<T>): T[] {
  const a = items.slice();
  const tmp = new Array<T>(a.length);
  msort(a, 0, a.length, tmp, cmp);
  return a;
}

function msort<T>(a: T[], lo: number, n: number, tmp: T[], cmp: Compare<T>): void {
  if (n <= 1) return;
  const n1 = n >>> 1;
  const n2 = n - n1;
  msort(a, lo, n1, tmp, cmp);
  msort(a, lo + n1, n2, tmp, cmp);
  let i = lo;
  let j = lo + n1;
  const iEnd = lo + n1;
  const jEnd = lo + n;
  let k = 0;
  while (i < iEnd && j < jEnd) {
    if (cmp(a[i]!, a[j]!) <= 0) tmp[k++] = a[i++]!;
    else tmp[k++] = a[j++]!;
  }
  while (i < iEnd) tmp[k++] = a[i++]!;
  // What is left of the right half is already in place.
  for (let m = 0; m < k; m++) a[lo + m] = tmp[m]!;
}

/** (int)(a - b) for two u32 values. */
function wrap(a: number, b: number): number {
  return (a - b) | 0;
}

/** The address words compared as the first operand's family dictates. */
function cmpAddr(a: Addr, b: Addr): number {
  if (a.af !== AF_INET6) return wrap(a.w0, b.w0);
  for (let i = 0; i < 4; i++) {
    const r = wrap(a.word(i), b.word(i));
    if (r !== 0) return r;
  }
  return 0;
}

/** ipvs_cmp_services: fwmark, family, protocol, address, port. */
export function cmpServices(a: Service, b: Service): number {
  return wrap(a.fwmark, b.fwmark) || a.af - b.af || a.protocol - b.protocol || cmpAddr(a.addr, b.addr) || a.port - b.port;
}

/** ipvs_cmp_dests: address, then port. */
export function cmpDests(a: Dest, b: Dest): number {
  return cmpAddr(a.addr, b.addr) || a.port - b.port;
}
