// Host emulator settings shared between the host HAL and main().
#pragma once
#include <stdint.h>
#include <signal.h>
#include <stdio.h>

struct EmulatorConfig {
  int serial_fd;          /* pty master */
  FILE* event_log;        /* output events, one line each; null = none */
  int stream_fd;          /* where stream packets go; -1 = no streaming */
  uint8_t outputs;
  uint8_t stream_channels;
  uint32_t stream_max_rate_hz;
  uint32_t device_id;
  uint32_t boot_nonce;
  uint64_t clock_start_us;
  uint32_t garbage_every;  /* inject garbage before every n-th frame sent; 0 = never */
  uint32_t byte_delay_us;  /* write frames one byte at a time, this far apart; 0 = whole frames */
  uint32_t stream_drop_every; /* report every n-th stream packet as not sent; 0 = never */
  uint64_t rng;
};

extern EmulatorConfig g_emu;
// Set by SIGUSR1: the next hal_link_up() reports the link down once.
extern volatile sig_atomic_t g_link_drop;

// Timer state read by the main loop.
bool host_timer_armed(void);
uint64_t host_timer_deadline(void);
void host_timer_fired(void);
void host_clock_init(void);
