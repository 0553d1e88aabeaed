#include "ob_cobs.h"

size_t ob_cobs_encode(const uint8_t* in, size_t length, uint8_t* out) {
  size_t code_at = 0;
  size_t w = 1;
  uint8_t code = 1;
  bool open_block = true;
  for (size_t i = 0; i < length; i++) {
    if (in[i] == 0) {
      out[code_at] = code;
      code_at = w++;
      code = 1;
      continue;
    }
    out[w++] = in[i];
    if (++code == 0xFF) {
      out[code_at] = code;
      // A full block at the very end needs no empty block after it (the published vectors agree).
      if (i + 1 < length) {
        code_at = w++;
        code = 1;
      } else {
        open_block = false;
      }
    }
  }
  if (open_block) out[code_at] = code;
  return w;
}

long ob_cobs_decode(const uint8_t* in, size_t length, uint8_t* out, size_t capacity) {
  size_t r = 0;
  size_t w = 0;
  while (r < length) {
    uint8_t code = in[r++];
    if (code == 0) return -1;
    for (uint8_t k = 1; k < code; k++) {
      if (r >= length || in[r] == 0 || w >= capacity) return -1;
      out[w++] = in[r++];
    }
    // A block shorter than 0xFF stands for data followed by a zero, except at the very end.
    if (code != 0xFF && r < length) {
      if (w >= capacity) return -1;
      out[w++] = 0;
    }
  }
  return (long)w;
}
