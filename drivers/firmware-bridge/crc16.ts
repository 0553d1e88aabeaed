/**
 * CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, not reflected, xorout 0): the checksum of every
 * firmware-bridge frame and streaming packet (firmware-bridge/PROTOCOL.md §2). check("123456789")
 * = 0x29B1.
 */
const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

export const CRC16_INIT = 0xffff;

/** Continues a CRC over `data[start … end)`. */
export function crc16Update(crc: number, data: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ data[i]) & 0xff];
  return crc;
}

export function crc16(data: Uint8Array, start = 0, end = data.length): number {
  return crc16Update(CRC16_INIT, data, start, end);
}
