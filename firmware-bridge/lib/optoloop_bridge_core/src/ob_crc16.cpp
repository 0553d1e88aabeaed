#include "ob_crc16.h"

// Nibble table: 16 entries keep the table small on any MCU while halving the per-bit loop.
static const uint16_t kNibble[16] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50A5, 0x60C6, 0x70E7,
    0x8108, 0x9129, 0xA14A, 0xB16B, 0xC18C, 0xD1AD, 0xE1CE, 0xF1EF,
};

uint16_t ob_crc16_update(uint16_t crc, const uint8_t* data, size_t length) {
  for (size_t i = 0; i < length; i++) {
    crc = (uint16_t)((crc << 4) ^ kNibble[((crc >> 12) ^ (data[i] >> 4)) & 0x0F]);
    crc = (uint16_t)((crc << 4) ^ kNibble[((crc >> 12) ^ (data[i] & 0x0F)) & 0x0F]);
  }
  return crc;
}

uint16_t ob_crc16(const uint8_t* data, size_t length) { return ob_crc16_update(0xFFFF, data, length); }
