// The protocol engine: frames in, replies and events out (PROTOCOL.md). A board calls
// bridge_init() once, bridge_poll() from its main loop and bridge_on_timer() from the timer
// interrupt that hal_timer_arm() set up.
#pragma once
#include <stdint.h>

struct ObCounters {
  uint32_t frames_ok;
  uint32_t crc_errors;
  uint32_t frame_errors;
  uint32_t duplicates;
  uint32_t refusals;
  uint32_t link_drops;
};

void bridge_init(void);
void bridge_poll(void);
void bridge_on_timer(void);
const ObCounters* bridge_counters(void);
