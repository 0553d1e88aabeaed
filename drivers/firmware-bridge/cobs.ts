/**
 * Consistent Overhead Byte Stuffing with 0x00 as the frame delimiter (PROTOCOL.md §3). Both
 * functions write into caller-owned buffers: nothing is allocated per frame.
 */

/** Worst-case encoded length of `length` bytes, without the delimiter. */
export function cobsMaxEncodedLength(length: number): number {
  return length + Math.floor(length / 254) + 1;
}

/**
 * Encodes `input[start … end)` into `out` at `outOffset`; returns the index one past the last
 * encoded byte. Writes no delimiter.
 */
export function cobsEncode(input: Uint8Array, start: number, end: number, out: Uint8Array, outOffset: number): number {
  let codeAt = outOffset;
  let w = outOffset + 1;
  let code = 1;
  let open = true;
  for (let i = start; i < end; i++) {
    const byte = input[i];
    if (byte === 0) {
      out[codeAt] = code;
      codeAt = w++;
      code = 1;
      continue;
    }
    out[w++] = byte;
    if (++code === 0xff) {
      out[codeAt] = code;
      // A full block at the very end takes no empty block after it (as the published vectors).
      if (i + 1 < end) {
        codeAt = w++;
        code = 1;
      } else {
        open = false;
      }
    }
  }
  if (open) out[codeAt] = code;
  return w;
}

/**
 * Decodes `input[start … end)` (no delimiter) into `out` from index 0; `out` may be `input` when
 * start is 0 (decoding never overtakes reading). Returns the decoded length, or -1 when the block
 * is malformed (a 0x00 inside, a code running past the end) or longer than `out`.
 */
export function cobsDecode(input: Uint8Array, start: number, end: number, out: Uint8Array): number {
  let r = start;
  let w = 0;
  const capacity = out.length;
  while (r < end) {
    const code = input[r++];
    if (code === 0) return -1;
    for (let k = 1; k < code; k++) {
      if (r >= end || w >= capacity) return -1;
      const byte = input[r++];
      if (byte === 0) return -1;
      out[w++] = byte;
    }
    if (code !== 0xff && r < end) {
      if (w >= capacity) return -1;
      out[w++] = 0;
    }
  }
  return w;
}
