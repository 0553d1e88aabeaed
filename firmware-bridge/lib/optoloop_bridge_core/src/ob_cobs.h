// Consistent Overhead Byte Stuffing (Cheshire & Baker 1999), 0x00 as the frame delimiter.
#pragma once
#include <stddef.h>
#include <stdint.h>

// Worst-case encoded size of n bytes (without the delimiter).
#define OB_COBS_MAX_ENCODED(n) ((n) + ((n) / 254) + 1)

// Encodes `length` bytes into `out` (capacity >= OB_COBS_MAX_ENCODED(length)); returns the encoded
// length. Does not write the 0x00 delimiter.
size_t ob_cobs_encode(const uint8_t* in, size_t length, uint8_t* out);

// Decodes `length` encoded bytes (no delimiter) into `out` (capacity `capacity`); `out` may equal
// `in`. Returns the decoded length, or -1 for a malformed block (a 0x00 inside, a code byte pointing
// past the end, or more output than `capacity`).
long ob_cobs_decode(const uint8_t* in, size_t length, uint8_t* out, size_t capacity);
