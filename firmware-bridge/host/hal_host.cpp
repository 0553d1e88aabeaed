// The host implementation of ob_hal.h: the device clock is CLOCK_MONOTONIC, the control link is a
// pseudo-terminal, output edges are logged (with the time the core scheduled them and the time the
// host got round to them), and the streaming front end is a deterministic test pattern.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "emulator.h"
#include "ob_hal.h"

EmulatorConfig g_emu;

namespace {
uint64_t g_origin_ns;
bool g_armed;
uint64_t g_deadline;
bool g_streaming;
uint32_t g_stream_rate;
uint8_t g_stream_channels;
uint64_t g_stream_start_us;
uint64_t g_frames_produced;
uint32_t g_stream_packets;

uint64_t monotonic_ns(void) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t next_random(void) {
  // xorshift64*: reproducible garbage for a given --seed.
  g_emu.rng ^= g_emu.rng >> 12;
  g_emu.rng ^= g_emu.rng << 25;
  g_emu.rng ^= g_emu.rng >> 27;
  return g_emu.rng * 2685821657736338717ull;
}

bool write_all(int fd, const uint8_t* data, size_t length) {
  size_t done = 0;
  int stalls = 0;
  while (done < length) {
    ssize_t n = write(fd, data + done, length - done);
    if (n > 0) { done += (size_t)n; continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      // Nobody is reading: wait a little, as a USB device's send timeout would, then give up.
      pollfd p = {fd, POLLOUT, 0};
      if (poll(&p, 1, 50) <= 0 && ++stalls > 3) return false;
      continue;
    }
    return false;
  }
  return true;
}

uint32_t frames_written;
}  // namespace

void host_clock_init(void) { g_origin_ns = monotonic_ns(); }
bool host_timer_armed(void) { return g_armed; }
uint64_t host_timer_deadline(void) { return g_deadline; }
void host_timer_fired(void) { g_armed = false; }

uint64_t hal_now_us(void) { return (monotonic_ns() - g_origin_ns) / 1000ull + g_emu.clock_start_us; }
void hal_timer_arm(uint64_t deadline_us) { g_armed = true; g_deadline = deadline_us; }
void hal_timer_disarm(void) { g_armed = false; }

void hal_gate_write(uint8_t channel, bool on, uint64_t scheduled_us) {
  if (!g_emu.event_log) return;
  fprintf(g_emu.event_log, "gate %u %d %llu %llu\n", channel, on ? 1 : 0, (unsigned long long)scheduled_us,
          (unsigned long long)hal_now_us());
  fflush(g_emu.event_log);
}

void hal_level_write(uint8_t channel, uint16_t level) {
  if (!g_emu.event_log) return;
  fprintf(g_emu.event_log, "level %u %u %llu\n", channel, level, (unsigned long long)hal_now_us());
  fflush(g_emu.event_log);
}

size_t hal_serial_read(uint8_t* buffer, size_t capacity) {
  ssize_t n = read(g_emu.serial_fd, buffer, capacity);
  return n > 0 ? (size_t)n : 0;
}

bool hal_serial_write(const uint8_t* data, size_t length) {
  frames_written++;
  if (g_emu.garbage_every && frames_written % g_emu.garbage_every == 0) {
    // Line noise between frames, closed by a delimiter (PROTOCOL.md 3.4) so it costs only itself.
    uint8_t junk[12];
    size_t n = 1 + next_random() % 10;
    for (size_t i = 0; i < n; i++) junk[i] = (uint8_t)next_random();
    junk[n++] = 0x00;
    write_all(g_emu.serial_fd, junk, n);
  }
  if (!g_emu.byte_delay_us) return write_all(g_emu.serial_fd, data, length);
  for (size_t i = 0; i < length; i++) {
    if (!write_all(g_emu.serial_fd, data + i, 1)) return false;
    timespec ts = {0, (long)g_emu.byte_delay_us * 1000L};
    nanosleep(&ts, 0);
  }
  return true;
}

bool hal_stream_begin(uint32_t rate_hz, uint8_t channels) {
  if (g_emu.stream_fd < 0) return false;
  g_streaming = true;
  g_stream_rate = rate_hz;
  g_stream_channels = channels;
  g_stream_start_us = hal_now_us();
  g_frames_produced = 0;
  g_stream_packets = 0;
  return true;
}

void hal_stream_end(void) { g_streaming = false; }

// The emulator's test pattern (PROTOCOL.md 9.3): reproducible from the frame index alone, so a
// host can check every sample it receives.
static int16_t pattern(uint64_t frame, uint8_t channel) {
  uint32_t v = (uint32_t)frame * 0x9E3779B1u + (uint32_t)(channel + 1u) * 0x85EBCA77u;
  return (int16_t)(uint16_t)(v >> 16);
}

size_t hal_stream_read(int16_t* frames, size_t max_frames) {
  if (!g_streaming) return 0;
  uint64_t due = (hal_now_us() - g_stream_start_us) * g_stream_rate / 1000000ull;
  size_t n = 0;
  while (n < max_frames && g_frames_produced < due) {
    for (uint8_t c = 0; c < g_stream_channels; c++) frames[n * g_stream_channels + c] = pattern(g_frames_produced, c);
    g_frames_produced++;
    n++;
  }
  return n;
}

bool hal_stream_write(const uint8_t* packet, size_t length) {
  g_stream_packets++;
  if (g_emu.stream_drop_every && g_stream_packets % g_emu.stream_drop_every == 0) return false;
  return write_all(g_emu.stream_fd, packet, length);
}

uint32_t hal_critical_enter(void) { return 0; }  // single-threaded: the timer runs from the main loop
void hal_critical_exit(uint32_t) {}
uint32_t hal_device_id(void) { return g_emu.device_id; }
uint32_t hal_boot_nonce(void) { return g_emu.boot_nonce; }
const char* hal_board_name(void) { return "optoloop-emulator"; }
uint8_t hal_output_count(void) { return g_emu.outputs; }
uint8_t hal_stream_channel_count(void) { return g_emu.stream_fd < 0 ? 0 : g_emu.stream_channels; }
uint32_t hal_stream_max_rate_hz(void) { return g_emu.stream_fd < 0 ? 0 : g_emu.stream_max_rate_hz; }
bool hal_has_level_outputs(void) { return true; }

// A pty has no DTR line the emulator can see; SIGUSR1 stands for "the host dropped DTR and raised
// it again" (a host program restarting), seen once by the next poll.
volatile sig_atomic_t g_link_drop = 0;
bool hal_link_up(void) {
  if (g_link_drop) {
    g_link_drop = 0;
    return false;
  }
  return true;
}
