// fast-check as this suite uses it. Since fast-check 3 an arbitrary's `maxLength` no longer sets
// its size: arrays, byte strings and strings stay within 10 elements however large the maximum
// written (measured: fc.uint8Array({ maxLength: 1400 }) gave at most 10 bytes). Every property
// here names the sizes it means, so the maximum written is made the size again.
import fc from 'fast-check';

fc.configureGlobal({ defaultSizeToMaxWhenMaxSpecified: true });

export default fc;
