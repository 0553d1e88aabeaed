// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0; check("123456789") = 0x29B1.
#pragma once
#include <stddef.h>
#include <stdint.h>

uint16_t ob_crc16(const uint8_t* data, size_t length);
uint16_t ob_crc16_update(uint16_t crc, const uint8_t* data, size_t length);
