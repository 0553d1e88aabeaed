#include "ob_limits.h"

void ob_limits_default(ObLimits* limits) {
  limits->max_width_us = OB_DEFAULT_MAX_WIDTH_US;
  limits->duty_window_us = OB_DEFAULT_DUTY_WINDOW_US;
  limits->max_duty_ppm = OB_DEFAULT_MAX_DUTY_PPM;
  limits->rate_window_us = OB_DEFAULT_RATE_WINDOW_US;
  limits->max_pulses_per_window = OB_DEFAULT_MAX_PULSES;
}

uint8_t ob_limits_validate(const ObLimits* l, uint32_t* ceiling) {
  if (l->max_width_us < 1 || l->max_width_us > OB_HARD_MAX_WIDTH_US) { *ceiling = OB_HARD_MAX_WIDTH_US; return 0; }
  if (l->duty_window_us < OB_MIN_WINDOW_US || l->duty_window_us > OB_HARD_MAX_WINDOW_US) { *ceiling = OB_HARD_MAX_WINDOW_US; return 1; }
  if (l->max_duty_ppm < 1 || l->max_duty_ppm > OB_HARD_MAX_DUTY_PPM) { *ceiling = OB_HARD_MAX_DUTY_PPM; return 2; }
  // The rate window must cover the duty window: the history ring then always holds every pulse
  // either check needs (at most max_pulses_per_window + 1 of them).
  if (l->rate_window_us < l->duty_window_us || l->rate_window_us > OB_HARD_MAX_WINDOW_US) { *ceiling = OB_HARD_MAX_WINDOW_US; return 3; }
  if (l->max_pulses_per_window < 1 || l->max_pulses_per_window > OB_HARD_MAX_PULSES_PER_WINDOW) { *ceiling = OB_HARD_MAX_PULSES_PER_WINDOW; return 4; }
  return OB_PARAM_NONE;
}

void ob_history_push(ObHistory* h, uint64_t onset_us, uint32_t width_us) {
  h->onset_us[h->head] = onset_us;
  h->width_us[h->head] = width_us;
  h->head = (uint16_t)((h->head + 1) % OB_HISTORY_CAPACITY);
  if (h->count < OB_HISTORY_CAPACITY) h->count++;
}

void ob_history_truncate_last(ObHistory* h, uint32_t emitted_us) {
  if (h->count == 0) return;
  uint16_t last = (uint16_t)((h->head + OB_HISTORY_CAPACITY - 1) % OB_HISTORY_CAPACITY);
  if (emitted_us < h->width_us[last]) h->width_us[last] = emitted_us;
}

namespace {

// The merged sequence "history pulses that can still matter, then the planned train", indexed
// 0 … size-1 in onset order without building it.
struct Merged {
  const ObHistory* h;
  const ObTrain* t;
  uint16_t first;    /* ring index of the oldest history pulse used */
  uint32_t h_count;  /* history pulses used */
  uint64_t t0;       /* first planned onset */
  uint32_t size() const { return h_count + t->count; }
  uint64_t onset(uint32_t i) const {
    if (i < h_count) return h->onset_us[(first + i) % OB_HISTORY_CAPACITY];
    return t0 + (uint64_t)(i - h_count) * t->interval_us;
  }
  uint32_t width(uint32_t i) const {
    if (i < h_count) return h->width_us[(first + i) % OB_HISTORY_CAPACITY];
    return t->width_us;
  }
  uint64_t end(uint32_t i) const { return onset(i) + width(i); }
};

}  // namespace

ObLimitVerdict ob_limits_check(const ObLimits* l, const ObHistory* h, const ObTrain* t, uint64_t start_us) {
  ObLimitVerdict v = {true, 0, 0, 0};
  if (t->width_us > l->max_width_us) {
    v.ok = false; v.which = OB_LIMIT_WIDTH; v.value = t->width_us; v.limit = l->max_width_us;
    return v;
  }
  Merged m;
  m.h = h;
  m.t = t;
  m.t0 = start_us + t->delay_us;
  // History pulses that end before the earliest window touching the train cannot matter.
  uint64_t horizon = l->rate_window_us > l->duty_window_us ? l->rate_window_us : l->duty_window_us;
  uint64_t oldest_relevant = m.t0 > horizon ? m.t0 - horizon : 0;
  uint32_t used = 0;
  while (h && used < h->count) {
    uint16_t idx = (uint16_t)((h->head + OB_HISTORY_CAPACITY - 1 - used) % OB_HISTORY_CAPACITY);
    if (h->onset_us[idx] + h->width_us[idx] <= oldest_relevant) break;
    used++;
  }
  m.h_count = used;
  m.first = h ? (uint16_t)((h->head + OB_HISTORY_CAPACITY - used) % OB_HISTORY_CAPACITY) : 0;
  const uint32_t n = m.size();

  // Rate: pulses with onset in (onset_i - W, onset_i], for every planned pulse i.
  const uint64_t wr = l->rate_window_us;
  uint32_t j = 0;
  for (uint32_t i = m.h_count; i < n; i++) {
    uint64_t oi = m.onset(i);
    while (j < i && m.onset(j) + wr <= oi) j++;
    uint32_t count = i - j + 1;
    if (count > l->max_pulses_per_window) {
      v.ok = false; v.which = OB_LIMIT_RATE; v.value = count; v.limit = l->max_pulses_per_window;
      return v;
    }
  }

  // Duty: the on-time in a window of length W is piecewise linear in the window's position, so its
  // maximum is reached with the window's end on a pulse's end or its start on a pulse's onset.
  // Only windows that overlap the planned train are checked: past light was checked when emitted.
  const uint64_t wd = l->duty_window_us;
  const uint64_t max_on_scaled = (uint64_t)l->max_duty_ppm * wd;  /* compare on_us * 1e6 against this */
  // Family 1: windows [end_i - W, end_i] for planned i.
  j = 0;
  uint64_t sum = 0;  /* widths of pulses j … i */
  for (uint32_t i = 0; i < n; i++) {
    sum += m.width(i);
    uint64_t b = m.end(i);
    uint64_t a = b > wd ? b - wd : 0;
    while (j < i && m.end(j) <= a) { sum -= m.width(j); j++; }
    if (i < m.h_count) continue;
    uint64_t oj = m.onset(j);
    uint64_t on = sum - (a > oj ? a - oj : 0);
    if (on * 1000000ull > max_on_scaled) {
      v.ok = false; v.which = OB_LIMIT_DUTY; v.value = (uint32_t)on; v.limit = (uint32_t)(max_on_scaled / 1000000ull);
      return v;
    }
  }
  // Family 2: windows [onset_k, onset_k + W] that reach the train.
  uint32_t r = 0;
  sum = 0;  /* widths of pulses k … r-1 */
  for (uint32_t k = 0; k < n; k++) {
    uint64_t a = m.onset(k);
    uint64_t b = a + wd;
    if (r < k) { r = k; sum = 0; }
    while (r < n && m.onset(r) < b) { sum += m.width(r); r++; }
    if (b <= m.t0) { sum -= m.width(k); continue; }
    uint64_t last_end = m.end(r - 1);
    uint64_t on = sum - (last_end > b ? last_end - b : 0);
    if (on * 1000000ull > max_on_scaled) {
      v.ok = false; v.which = OB_LIMIT_DUTY; v.value = (uint32_t)on; v.limit = (uint32_t)(max_on_scaled / 1000000ull);
      return v;
    }
    sum -= m.width(k);
  }
  return v;
}
