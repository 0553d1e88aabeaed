// Unit checks of the firmware core on the host: CRC and COBS against published vectors, and the
// limit checker against cases worked by hand. Prints "N passed, N failed"; exit status 1 on failure.
#include <stdio.h>
#include <string.h>

#include "ob_cobs.h"
#include "ob_crc16.h"
#include "ob_limits.h"

static int passed = 0, failed = 0;
#define CHECK(cond, what)                                   \
  do {                                                      \
    if (cond) passed++;                                     \
    else { failed++; fprintf(stderr, "FAIL: %s\n", what); } \
  } while (0)

static bool cobs_case(const uint8_t* in, size_t n, const uint8_t* want, size_t want_n) {
  uint8_t out[600], back[600];
  size_t m = ob_cobs_encode(in, n, out);
  if (m != want_n || memcmp(out, want, m) != 0) return false;
  long d = ob_cobs_decode(out, m, back, sizeof(back));
  return d == (long)n && memcmp(back, in, n) == 0;
}

static ObHistory history;  // large: keep it off the stack

int main() {
  CHECK(ob_crc16((const uint8_t*)"123456789", 9) == 0x29B1, "crc16 check value 0x29B1");
  CHECK(ob_crc16((const uint8_t*)"A", 1) == 0xB915, "crc16(\"A\") = 0xB915");
  CHECK(ob_crc16(0, 0) == 0xFFFF, "crc16 of nothing = 0xFFFF");

  { const uint8_t i[] = {0x00}, w[] = {0x01, 0x01}; CHECK(cobs_case(i, 1, w, 2), "cobs 00"); }
  { const uint8_t i[] = {0x00, 0x00}, w[] = {0x01, 0x01, 0x01}; CHECK(cobs_case(i, 2, w, 3), "cobs 00 00"); }
  { const uint8_t i[] = {0x00, 0x11, 0x00}, w[] = {0x01, 0x02, 0x11, 0x01}; CHECK(cobs_case(i, 3, w, 4), "cobs 00 11 00"); }
  { const uint8_t i[] = {0x11, 0x22, 0x00, 0x33}, w[] = {0x03, 0x11, 0x22, 0x02, 0x33}; CHECK(cobs_case(i, 4, w, 5), "cobs 11 22 00 33"); }
  { const uint8_t i[] = {0x11, 0x22, 0x33, 0x44}, w[] = {0x05, 0x11, 0x22, 0x33, 0x44}; CHECK(cobs_case(i, 4, w, 5), "cobs 11 22 33 44"); }
  { const uint8_t i[] = {0x11, 0x00, 0x00, 0x00}, w[] = {0x02, 0x11, 0x01, 0x01, 0x01}; CHECK(cobs_case(i, 4, w, 5), "cobs 11 00 00 00"); }
  {
    uint8_t i[255], w[257];
    for (int k = 0; k < 254; k++) i[k] = (uint8_t)(k + 1);
    w[0] = 0xFF; memcpy(w + 1, i, 254);
    CHECK(cobs_case(i, 254, w, 255), "cobs 01..FE");
    for (int k = 0; k < 255; k++) i[k] = (uint8_t)k;
    w[0] = 0x01; w[1] = 0xFF; for (int k = 1; k < 255; k++) w[k + 1] = (uint8_t)k;
    CHECK(cobs_case(i, 255, w, 256), "cobs 00..FE");
    for (int k = 0; k < 255; k++) i[k] = (uint8_t)(k + 1);
    w[0] = 0xFF; for (int k = 0; k < 254; k++) w[k + 1] = (uint8_t)(k + 1); w[255] = 0x02; w[256] = 0xFF;
    CHECK(cobs_case(i, 255, w, 257), "cobs 01..FF");
  }
  { const uint8_t bad[] = {0x05, 0x11, 0x22}; uint8_t out[8]; CHECK(ob_cobs_decode(bad, 3, out, 8) < 0, "cobs refuses a code past the end"); }

  ObLimits l;
  ob_limits_default(&l);
  uint32_t ceiling = 0;
  CHECK(ob_limits_validate(&l, &ceiling) == OB_PARAM_NONE, "defaults are valid");
  l.max_width_us = OB_HARD_MAX_WIDTH_US + 1;
  CHECK(ob_limits_validate(&l, &ceiling) == 0 && ceiling == OB_HARD_MAX_WIDTH_US, "width above the ceiling refused");

  // 50 ms of light per 1 s window; 5 pulses per 10 s.
  ObLimits d = {20000, 1000000, 50000, 10000000, 5};
  ObTrain t = {65535, 0, 10000, 50000, 5};  // 5 x 10 ms = exactly 50 ms
  ObLimitVerdict v = ob_limits_check(&d, 0, &t, 0);
  CHECK(v.ok, "50 ms in a 1 s window at a 5 % limit is allowed (exact)");
  t.width_us = 10001;
  v = ob_limits_check(&d, 0, &t, 0);
  CHECK(!v.ok && v.which == OB_LIMIT_DUTY && v.limit == 50000, "50.005 ms is refused");
  t.width_us = 1000; t.count = 6;
  v = ob_limits_check(&d, 0, &t, 0);
  CHECK(!v.ok && v.which == OB_LIMIT_RATE && v.value == 6, "6 pulses in 10 s refused");
  // History: 4 pulses of 10 ms ending 100 ms before the new train; one more 10 ms pulse fits, 11 ms does not.
  memset(&history, 0, sizeof(history));
  for (int k = 0; k < 4; k++) ob_history_push(&history, 1000000 + (uint64_t)k * 50000, 10000);
  ObTrain one = {65535, 0, 10000, 0, 1};
  CHECK(ob_limits_check(&d, &history, &one, 1300000).ok, "history + one pulse at the limit allowed");
  one.width_us = 11000;
  v = ob_limits_check(&d, &history, &one, 1300000);
  CHECK(!v.ok && v.which == OB_LIMIT_DUTY && v.value == 51000, "history + 11 ms refused with 51 ms");
  // A second later the old pulses have left the duty window (but not the rate window).
  CHECK(ob_limits_check(&d, &history, &one, 2300000).ok, "the duty window slides");
  ObTrain two = {65535, 0, 1000, 5000, 2};
  v = ob_limits_check(&d, &history, &two, 2300000);
  CHECK(!v.ok && v.which == OB_LIMIT_RATE, "the rate window still holds the old onsets");
  // 0.8 s after the old pulses ended, a 15 ms pulse still shares a 1 s window with them: 55 ms.
  ObTrain late = {65535, 0, 15000, 0, 1};
  v = ob_limits_check(&d, &history, &late, 1950000);
  CHECK(!v.ok && v.which == OB_LIMIT_DUTY, "old light still inside the window counts");

  printf("core-selftest: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
