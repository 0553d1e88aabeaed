// Sample streaming: frames from the board's acquisition front end, cut into CRC-checked packets
// for the bulk IN endpoint (PROTOCOL.md section 9).
#pragma once
#include <stdint.h>
#include "ob_protocol.h"

struct ObStreamCounters {
  uint32_t packets_sent;
  uint32_t packets_dropped;
  uint64_t frames_sent;
};

bool ob_stream_active(void);
// Largest frames-per-packet for `channels` channels.
uint16_t ob_stream_max_frames(uint8_t channels);
bool ob_stream_start(uint32_t rate_hz, uint16_t frames_per_packet, uint8_t channels, uint64_t start_us);
void ob_stream_stop(void);
void ob_stream_poll(void);
const ObStreamCounters* ob_stream_counters(void);
