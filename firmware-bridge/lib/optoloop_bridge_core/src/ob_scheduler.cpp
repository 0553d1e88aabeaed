#include "ob_scheduler.h"
#include "ob_hal.h"

namespace {
const uint8_t kEventCapacity = 32;
struct SchedState {
  uint8_t outputs;
  ObChannel channels[OB_MAX_CHANNELS];
  ObDoneEvent events[kEventCapacity];
  volatile uint8_t event_head;
  volatile uint8_t event_tail;
  volatile uint32_t pulses_emitted;
};
SchedState s;

void push_event(uint8_t channel, uint8_t reason, uint16_t pulses, uint64_t time_us) {
  uint8_t next = (uint8_t)((s.event_head + 1) % kEventCapacity);
  if (next == s.event_tail) return;  // full: the host learns the outcome from STATUS
  ObDoneEvent& e = s.events[s.event_head];
  e.channel = channel;
  e.reason = reason;
  e.pulses = pulses;
  e.time_us = time_us;
  s.event_head = next;
}

void rearm(void) {
  bool any = false;
  uint64_t earliest = 0;
  for (uint8_t c = 0; c < s.outputs; c++) {
    const ObChannel& ch = s.channels[c];
    if (!ch.running) continue;
    if (!any || ch.next_edge_us < earliest) earliest = ch.next_edge_us;
    any = true;
  }
  if (any) hal_timer_arm(earliest);
  else hal_timer_disarm();
}
}  // namespace

void ob_sched_init(uint8_t outputs) {
  s.outputs = outputs > OB_MAX_CHANNELS ? OB_MAX_CHANNELS : outputs;
  for (uint8_t c = 0; c < OB_MAX_CHANNELS; c++) {
    ObChannel& ch = s.channels[c];
    ch.programmed = false;
    ch.running = false;
    ch.on = false;
    ch.history.head = 0;
    ch.history.count = 0;
    ob_limits_default(&ch.limits);
  }
  s.event_head = s.event_tail = 0;
  s.pulses_emitted = 0;
  for (uint8_t c = 0; c < s.outputs; c++) {
    hal_gate_write(c, false, hal_now_us());
    hal_level_write(c, 0);
  }
}

uint8_t ob_sched_outputs(void) { return s.outputs; }
ObChannel* ob_sched_channel(uint8_t channel) { return channel < s.outputs ? &s.channels[channel] : 0; }

uint16_t ob_sched_running_mask(void) {
  uint16_t m = 0;
  for (uint8_t c = 0; c < s.outputs; c++) if (s.channels[c].running) m |= (uint16_t)(1u << c);
  return m;
}

uint16_t ob_sched_programmed_mask(void) {
  uint16_t m = 0;
  for (uint8_t c = 0; c < s.outputs; c++) if (s.channels[c].programmed) m |= (uint16_t)(1u << c);
  return m;
}

void ob_sched_start(uint16_t mask, uint64_t now_us) {
  uint32_t irq = hal_critical_enter();
  for (uint8_t c = 0; c < s.outputs; c++) {
    if (!(mask & (1u << c))) continue;
    ObChannel& ch = s.channels[c];
    hal_level_write(c, ch.train.level);
    ch.running = true;
    ch.on = false;
    ch.next_pulse = 0;
    ch.emitted = 0;
    ch.first_onset_us = now_us + ch.train.delay_us;
    ch.next_edge_us = ch.first_onset_us;
  }
  rearm();
  hal_critical_exit(irq);
}

uint16_t ob_sched_abort(uint64_t now_us) {
  uint32_t irq = hal_critical_enter();
  uint16_t stopped = 0;
  for (uint8_t c = 0; c < s.outputs; c++) {
    ObChannel& ch = s.channels[c];
    // Gates go low whatever the bookkeeping says: abort is the emergency path.
    hal_gate_write(c, false, now_us);
    if (!ch.running) continue;
    stopped |= (uint16_t)(1u << c);
    if (ch.on) {
      uint64_t onset = ch.first_onset_us + (uint64_t)(ch.next_pulse - 1) * ch.train.interval_us;
      ob_history_truncate_last(&ch.history, (uint32_t)(now_us - onset));
      ch.emitted++;
      s.pulses_emitted++;
    }
    ch.on = false;
    ch.running = false;
    push_event(c, OB_DONE_ABORTED, ch.emitted, now_us);
  }
  rearm();
  hal_critical_exit(irq);
  return stopped;
}

void ob_sched_on_timer(uint64_t now_us) {
  uint32_t irq = hal_critical_enter();
  for (uint8_t c = 0; c < s.outputs; c++) {
    ObChannel& ch = s.channels[c];
    while (ch.running && ch.next_edge_us <= now_us) {
      const uint64_t t = ch.next_edge_us;
      if (!ch.on) {
        hal_gate_write(c, true, t);
        ob_history_push(&ch.history, t, ch.train.width_us);
        ch.on = true;
        ch.next_pulse++;
        ch.next_edge_us = t + ch.train.width_us;
      } else {
        hal_gate_write(c, false, t);
        ch.on = false;
        ch.emitted++;
        s.pulses_emitted++;
        if (ch.next_pulse < ch.train.count) {
          ch.next_edge_us = ch.first_onset_us + (uint64_t)ch.next_pulse * ch.train.interval_us;
        } else {
          ch.running = false;
          push_event(c, OB_DONE_COMPLETED, ch.emitted, t);
        }
      }
    }
  }
  rearm();
  hal_critical_exit(irq);
}

bool ob_sched_pop_event(ObDoneEvent* out) {
  uint32_t irq = hal_critical_enter();
  bool any = s.event_tail != s.event_head;
  if (any) {
    *out = s.events[s.event_tail];
    s.event_tail = (uint8_t)((s.event_tail + 1) % kEventCapacity);
  }
  hal_critical_exit(irq);
  return any;
}

uint32_t ob_sched_pulses_emitted(void) { return s.pulses_emitted; }
