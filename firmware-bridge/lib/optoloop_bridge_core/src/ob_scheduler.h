// The pulse scheduler: hardware-timed trains on several channels from one one-shot timer. Every
// edge is applied at its scheduled device time (the timer is re-armed for the earliest pending
// edge across channels), and only trains that passed ob_limits_check are ever started.
#pragma once
#include <stdint.h>
#include "ob_limits.h"

struct ObChannel {
  bool programmed;
  ObTrain train;
  bool running;
  bool on;
  uint16_t next_pulse;     /* index of the next onset */
  uint16_t emitted;        /* pulses completed or cut by abort */
  uint64_t first_onset_us;
  uint64_t next_edge_us;
  ObLimits limits;
  ObHistory history;
};

struct ObDoneEvent {
  uint8_t channel;
  uint8_t reason;     /* OB_DONE_* */
  uint16_t pulses;
  uint64_t time_us;   /* end of the last pulse, or the abort time */
};

void ob_sched_init(uint8_t outputs);
uint8_t ob_sched_outputs(void);
ObChannel* ob_sched_channel(uint8_t channel);
uint16_t ob_sched_running_mask(void);
uint16_t ob_sched_programmed_mask(void);
// Starts the programmed trains of `mask` at `now_us` (caller has checked limits and state).
void ob_sched_start(uint16_t mask, uint64_t now_us);
// Turns every output off now; returns the mask of channels that were running.
uint16_t ob_sched_abort(uint64_t now_us);
// Timer interrupt: applies every edge due at or before now, re-arms the timer.
void ob_sched_on_timer(uint64_t now_us);
bool ob_sched_pop_event(ObDoneEvent* out);
uint32_t ob_sched_pulses_emitted(void);
