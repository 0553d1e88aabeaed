// Limit enforcement: a pulse train is accepted only if, together with the light the channel already
// emitted, no pulse is wider than the maximum, no sliding window holds more on-time than the
// duty-cycle maximum, and no sliding window holds more pulses than the rate maximum.
#pragma once
#include <stdint.h>
#include "ob_protocol.h"

struct ObLimits {
  uint32_t max_width_us;
  uint32_t duty_window_us;
  uint32_t max_duty_ppm;
  uint32_t rate_window_us;
  uint32_t max_pulses_per_window;
};

struct ObTrain {
  uint16_t level;
  uint32_t delay_us;
  uint32_t width_us;
  uint32_t interval_us;
  uint16_t count;
};

// Pulses the channel emitted, oldest first, in a ring: onset and on-time (the on-time of an
// aborted pulse is what was actually emitted).
struct ObHistory {
  uint64_t onset_us[OB_HISTORY_CAPACITY];
  uint32_t width_us[OB_HISTORY_CAPACITY];
  uint16_t head;  /* next slot to write */
  uint16_t count;
};

struct ObLimitVerdict {
  bool ok;
  uint8_t which;   /* OB_LIMIT_* when !ok */
  uint32_t value;  /* the offending width (µs), on-time in the window (µs) or pulse count */
  uint32_t limit;  /* the maximum it broke, same unit */
};

void ob_limits_default(ObLimits* limits);

// Checks SET_LIMITS values against the hard ceilings. Returns OB_PARAM_NONE when valid, else the
// index of the first bad field (0 max_width … 4 max_pulses) and its ceiling in *ceiling.
uint8_t ob_limits_validate(const ObLimits* limits, uint32_t* ceiling);

// Would starting `train` at `start_us` (the trigger time; first onset at start_us + delay) keep
// the channel within `limits`, given its `history` (null: the train alone)? Exact over the
// sliding windows.
ObLimitVerdict ob_limits_check(const ObLimits* limits, const ObHistory* history, const ObTrain* train, uint64_t start_us);

void ob_history_push(ObHistory* history, uint64_t onset_us, uint32_t width_us);
// Shortens the newest pulse to what was emitted (abort mid-pulse).
void ob_history_truncate_last(ObHistory* history, uint32_t emitted_us);
