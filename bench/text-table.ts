// Rows of a bench printed as a right-aligned text table, columns in the first row's key order.
export function textTable(rows: Record<string, string | number>[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cols = Object.keys(rows[0]!);
  const w = cols.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (v: string[]) => v.map((s, i) => s.padStart(w[i]!)).join('  ');
  return `${[line(cols), ...rows.map((r) => line(cols.map((k) => String(r[k]))))].join('\n')}\n`;
}
