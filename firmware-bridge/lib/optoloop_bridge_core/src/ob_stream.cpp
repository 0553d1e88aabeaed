#include "ob_stream.h"
#include "ob_crc16.h"
#include "ob_hal.h"
#include "ob_wire.h"

namespace {
struct StreamState {
  bool active;
  uint32_t rate_hz;
  uint16_t frames_per_packet;
  uint8_t channels;
  uint64_t start_us;
  uint32_t packet_seq;
  uint64_t frame_index;  /* index of the first frame of the packet being filled */
  uint16_t frames_in_packet;
  ObStreamCounters counters;
  uint8_t packet[OB_STREAM_PACKET_MAX];
  int16_t scratch[OB_STREAM_MAX_CHANNELS * 64];
};
StreamState s;
}  // namespace

bool ob_stream_active(void) { return s.active; }

uint16_t ob_stream_max_frames(uint8_t channels) {
  if (channels == 0) return 0;
  return (uint16_t)((OB_STREAM_PACKET_MAX - OB_STREAM_HEADER - 2) / (2u * channels));
}

bool ob_stream_start(uint32_t rate_hz, uint16_t frames_per_packet, uint8_t channels, uint64_t start_us) {
  if (!hal_stream_begin(rate_hz, channels)) return false;
  s.active = true;
  s.rate_hz = rate_hz;
  s.frames_per_packet = frames_per_packet;
  s.channels = channels;
  s.start_us = start_us;
  s.packet_seq = 0;
  s.frame_index = 0;
  s.frames_in_packet = 0;
  s.counters.packets_sent = 0;
  s.counters.packets_dropped = 0;
  s.counters.frames_sent = 0;
  return true;
}

void ob_stream_stop(void) {
  if (!s.active) return;
  hal_stream_end();
  s.active = false;
}

const ObStreamCounters* ob_stream_counters(void) { return &s.counters; }

static void finish_packet(void) {
  uint8_t* p = s.packet;
  const size_t samples_bytes = (size_t)s.frames_in_packet * s.channels * 2u;
  p[0] = OB_STREAM_MAGIC0;
  p[1] = OB_STREAM_MAGIC1;
  p[2] = OB_STREAM_VERSION;
  p[3] = s.channels;
  ob_put_u16(p + 4, s.frames_in_packet);
  ob_put_u16(p + 6, OB_STREAM_HEADER);
  ob_put_u32(p + 8, s.packet_seq);
  ob_put_u64(p + 12, s.frame_index);
  ob_put_u64(p + 20, s.start_us + (s.frame_index * 1000000ull) / s.rate_hz);
  const size_t body = OB_STREAM_HEADER + samples_bytes;
  ob_put_u16(p + body, ob_crc16(p, body));
  if (hal_stream_write(p, body + 2)) {
    s.counters.packets_sent++;
    s.counters.frames_sent += s.frames_in_packet;
  } else {
    s.counters.packets_dropped++;
  }
  s.packet_seq++;
  s.frame_index += s.frames_in_packet;
  s.frames_in_packet = 0;
}

void ob_stream_poll(void) {
  if (!s.active) return;
  const size_t scratch_frames = sizeof(s.scratch) / sizeof(s.scratch[0]) / s.channels;
  for (;;) {
    size_t want = (size_t)(s.frames_per_packet - s.frames_in_packet);
    if (want > scratch_frames) want = scratch_frames;
    size_t got = hal_stream_read(s.scratch, want);
    if (got == 0) return;
    uint8_t* out = s.packet + OB_STREAM_HEADER + (size_t)s.frames_in_packet * s.channels * 2u;
    for (size_t i = 0; i < got * s.channels; i++) ob_put_u16(out + 2 * i, (uint16_t)s.scratch[i]);
    s.frames_in_packet = (uint16_t)(s.frames_in_packet + got);
    if (s.frames_in_packet == s.frames_per_packet) finish_packet();
  }
}
