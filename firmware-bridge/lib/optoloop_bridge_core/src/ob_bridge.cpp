#include "ob_bridge.h"
#include "ob_cobs.h"
#include "ob_crc16.h"
#include "ob_hal.h"
#include "ob_protocol.h"
#include "ob_scheduler.h"
#include "ob_stream.h"
#include "ob_wire.h"

namespace {

struct BridgeState {
  uint8_t rx_enc[OB_FRAME_ENCODED_MAX];
  uint16_t rx_len;
  bool rx_overflow;
  uint8_t frame[OB_FRAME_MAX];
  uint8_t tx_raw[OB_FRAME_MAX];
  uint8_t tx_enc[OB_FRAME_ENCODED_MAX + 1];
  // The last request and the reply it got, so that a retransmission is answered, not re-executed.
  bool have_last;
  uint16_t last_seq;
  uint16_t last_crc;
  uint8_t last_reply[OB_FRAME_ENCODED_MAX + 1];
  uint16_t last_reply_len;
  bool hello_done;
  bool link_was_up;
  uint16_t event_seq;
  ObCounters counters;
};
BridgeState b;

// Encodes tx_raw[0 … payload_end) + CRC, sends it, and returns the encoded length.
uint16_t send_raw(uint16_t payload_end) {
  ob_put_u16(b.tx_raw + payload_end, ob_crc16(b.tx_raw, payload_end));
  size_t n = ob_cobs_encode(b.tx_raw, payload_end + OB_FRAME_CRC, b.tx_enc);
  b.tx_enc[n++] = 0x00;
  hal_serial_write(b.tx_enc, n);
  return (uint16_t)n;
}

uint8_t* begin(uint8_t op, uint16_t seq) {
  b.tx_raw[0] = op;
  ob_put_u16(b.tx_raw + 1, seq);
  return b.tx_raw + OB_FRAME_HEADER;
}

// Replies are cached for duplicate detection; events and frame-level errors are not.
void reply(uint16_t payload_len, bool cache, uint16_t request_crc) {
  uint16_t n = send_raw((uint16_t)(OB_FRAME_HEADER + payload_len));
  if (!cache) return;
  for (uint16_t i = 0; i < n; i++) b.last_reply[i] = b.tx_enc[i];
  b.last_reply_len = n;
  b.last_seq = ob_get_u16(b.tx_raw + 1);
  b.last_crc = request_crc;
  b.have_last = true;
}

struct Error {
  uint8_t code;
  uint8_t param;
  uint8_t channel;
  uint32_t value;
  uint32_t limit;
};

Error err(uint8_t code, uint8_t param = OB_PARAM_NONE, uint32_t value = 0, uint32_t limit = 0, uint8_t channel = OB_CHANNEL_NONE) {
  Error e = {code, param, channel, value, limit};
  return e;
}

void send_error(uint16_t seq, uint8_t ref_op, bool seq_verified, const Error& e, bool cache, uint16_t request_crc) {
  uint8_t* p = begin(OB_OP_ERROR, seq);
  p[0] = e.code;
  p[1] = ref_op;
  p[2] = seq_verified ? 0 : OB_ERRF_SEQ_UNVERIFIED;
  p[3] = e.param;
  p[4] = e.channel;
  p[5] = p[6] = p[7] = 0;
  ob_put_u32(p + 8, e.value);
  ob_put_u32(p + 12, e.limit);
  reply(16, cache, request_crc);
}

uint16_t put_limits(uint8_t* p, uint8_t channel, const ObLimits& l) {
  p[0] = channel;
  ob_put_u32(p + 1, l.max_width_us);
  ob_put_u32(p + 5, l.duty_window_us);
  ob_put_u32(p + 9, l.max_duty_ppm);
  ob_put_u32(p + 13, l.rate_window_us);
  ob_put_u32(p + 17, l.max_pulses_per_window);
  return 21;
}

uint16_t expected_length(uint8_t op) {
  switch (op) {
    case OB_OP_HELLO: return OB_LEN_HELLO;
    case OB_OP_PROGRAM: return OB_LEN_PROGRAM;
    case OB_OP_TRIGGER: return OB_LEN_TRIGGER;
    case OB_OP_ABORT: return OB_LEN_ABORT;
    case OB_OP_STATUS: return OB_LEN_STATUS;
    case OB_OP_SET_LIMITS: return OB_LEN_SET_LIMITS;
    case OB_OP_GET_LIMITS: return OB_LEN_GET_LIMITS;
    case OB_OP_STREAM_START: return OB_LEN_STREAM_START;
    case OB_OP_STREAM_STOP: return OB_LEN_STREAM_STOP;
    case OB_OP_GET_CLOCK: return OB_LEN_GET_CLOCK;
    default: return 0xFFFF;
  }
}

uint16_t outputs_mask(void) { return (uint16_t)((1u << ob_sched_outputs()) - 1u); }

// Each handler writes its reply payload at `out` and returns its length, or fills *e.
bool do_hello(const uint8_t* p, uint8_t* out, uint16_t* len, Error* e) {
  if (p[0] != OB_PROTO_MAJOR) {
    b.hello_done = false;
    *e = err(OB_ERR_UNSUPPORTED_VERSION, 0, p[0], OB_PROTO_MAJOR);
    return false;
  }
  b.hello_done = true;
  uint16_t caps = OB_CAP_EVENTS;
  if (hal_has_level_outputs()) caps |= OB_CAP_LEVEL;
  if (hal_stream_channel_count() > 0) caps |= OB_CAP_STREAM | OB_CAP_STREAM_BULK;
  out[0] = OB_PROTO_MAJOR;
  out[1] = OB_PROTO_MINOR;
  out[2] = OB_FW_MAJOR;
  out[3] = OB_FW_MINOR;
  out[4] = OB_FW_PATCH;
  out[5] = ob_sched_outputs();
  ob_put_u16(out + 6, caps);
  ob_put_u32(out + 8, hal_device_id());
  ob_put_u32(out + 12, hal_boot_nonce());
  ob_put_u64(out + 16, hal_now_us());
  ob_put_u32(out + 24, OB_HARD_MAX_WIDTH_US);
  ob_put_u32(out + 28, OB_HARD_MAX_DUTY_PPM);
  ob_put_u32(out + 32, OB_HARD_MAX_PULSES_PER_WINDOW);
  ob_put_u32(out + 36, OB_HARD_MAX_WINDOW_US);
  ob_put_u16(out + 40, (uint16_t)OB_MAX_TRAIN_PULSES);
  out[42] = hal_stream_channel_count();
  out[43] = 0;
  ob_put_u32(out + 44, hal_stream_max_rate_hz());
  const char* name = hal_board_name();
  uint8_t n = 0;
  while (name[n] && n < 32) { out[49 + n] = (uint8_t)name[n]; n++; }
  out[48] = n;
  *len = (uint16_t)(49 + n);
  return true;
}

bool do_program(const uint8_t* p, uint8_t* out, uint16_t* len, Error* e) {
  uint8_t c = p[0];
  ObTrain t;
  t.level = ob_get_u16(p + 1);
  t.delay_us = ob_get_u32(p + 3);
  t.width_us = ob_get_u32(p + 7);
  t.interval_us = ob_get_u32(p + 11);
  t.count = ob_get_u16(p + 15);
  if (c >= ob_sched_outputs()) { *e = err(OB_ERR_OUT_OF_RANGE, 0, c, ob_sched_outputs() - 1u); return false; }
  if (t.delay_us > OB_MAX_DELAY_US) { *e = err(OB_ERR_OUT_OF_RANGE, 2, t.delay_us, OB_MAX_DELAY_US, c); return false; }
  if (t.width_us == 0) { *e = err(OB_ERR_OUT_OF_RANGE, 3, 0, 1, c); return false; }
  if (t.count > 1 && t.interval_us <= t.width_us) { *e = err(OB_ERR_OUT_OF_RANGE, 4, t.interval_us, t.width_us + 1u, c); return false; }
  if (t.count > 1 && t.interval_us > OB_MAX_INTERVAL_US) { *e = err(OB_ERR_OUT_OF_RANGE, 4, t.interval_us, OB_MAX_INTERVAL_US, c); return false; }
  if (t.count == 0) { *e = err(OB_ERR_OUT_OF_RANGE, 5, 0, 1, c); return false; }
  ObChannel* ch = ob_sched_channel(c);
  if (ch->running) { *e = err(OB_ERR_BUSY, 0, c, 0, c); return false; }
  // Refuse at once what could never be triggered; TRIGGER checks again with the channel's history.
  ObLimitVerdict v = ob_limits_check(&ch->limits, 0, &t, 0);
  if (!v.ok) {
    b.counters.refusals++;
    *e = err(OB_ERR_LIMIT_EXCEEDED, v.which, v.value, v.limit, c);
    return false;
  }
  ch->train = t;
  ch->programmed = true;
  out[0] = c;
  ob_put_u64(out + 1, hal_now_us());
  *len = 9;
  return true;
}

bool do_trigger(const uint8_t* p, uint8_t* out, uint16_t* len, Error* e) {
  uint16_t mask = ob_get_u16(p);
  if (mask == 0 || (mask & ~outputs_mask())) { *e = err(OB_ERR_OUT_OF_RANGE, 0, mask, outputs_mask()); return false; }
  uint16_t missing = (uint16_t)(mask & ~ob_sched_programmed_mask());
  if (missing) { *e = err(OB_ERR_NOT_PROGRAMMED, 0, missing, 0); return false; }
  uint16_t busy = (uint16_t)(mask & ob_sched_running_mask());
  if (busy) { *e = err(OB_ERR_BUSY, 0, busy, 0); return false; }
  uint64_t now = hal_now_us();
  for (uint8_t c = 0; c < ob_sched_outputs(); c++) {
    if (!(mask & (1u << c))) continue;
    ObChannel* ch = ob_sched_channel(c);
    ObLimitVerdict v = ob_limits_check(&ch->limits, &ch->history, &ch->train, now);
    if (!v.ok) {
      b.counters.refusals++;
      *e = err(OB_ERR_LIMIT_EXCEEDED, v.which, v.value, v.limit, c);
      return false;
    }
  }
  ob_sched_start(mask, now);
  ob_put_u16(out, mask);
  ob_put_u64(out + 2, now);
  *len = 10;
  return true;
}

bool do_abort(uint8_t* out, uint16_t* len) {
  uint64_t now = hal_now_us();
  uint16_t stopped = ob_sched_abort(now);
  ob_put_u16(out, stopped);
  ob_put_u64(out + 2, now);
  *len = 10;
  return true;
}

bool do_status(uint8_t* out, uint16_t* len) {
  const ObStreamCounters* sc = ob_stream_counters();
  ob_put_u64(out, hal_now_us());
  ob_put_u16(out + 8, ob_sched_programmed_mask());
  ob_put_u16(out + 10, ob_sched_running_mask());
  out[12] = ob_stream_active() ? 1 : 0;
  out[13] = 0;
  ob_put_u16(out + 14, 0);
  ob_put_u32(out + 16, b.counters.frames_ok);
  ob_put_u32(out + 20, b.counters.crc_errors);
  ob_put_u32(out + 24, b.counters.frame_errors);
  ob_put_u32(out + 28, b.counters.duplicates);
  ob_put_u32(out + 32, ob_sched_pulses_emitted());
  ob_put_u32(out + 36, b.counters.refusals);
  ob_put_u32(out + 40, sc->packets_sent);
  ob_put_u32(out + 44, sc->packets_dropped);
  *len = 48;
  return true;
}

bool do_set_limits(const uint8_t* p, uint8_t* out, uint16_t* len, Error* e) {
  uint8_t c = p[0];
  if (c != OB_CHANNEL_ALL && c >= ob_sched_outputs()) { *e = err(OB_ERR_OUT_OF_RANGE, 0, c, ob_sched_outputs() - 1u); return false; }
  ObLimits l;
  l.max_width_us = ob_get_u32(p + 1);
  l.duty_window_us = ob_get_u32(p + 5);
  l.max_duty_ppm = ob_get_u32(p + 9);
  l.rate_window_us = ob_get_u32(p + 13);
  l.max_pulses_per_window = ob_get_u32(p + 17);
  uint32_t ceiling = 0;
  uint8_t bad = ob_limits_validate(&l, &ceiling);
  if (bad != OB_PARAM_NONE) {
    const uint32_t values[5] = {l.max_width_us, l.duty_window_us, l.max_duty_ppm, l.rate_window_us, l.max_pulses_per_window};
    *e = err(OB_ERR_OUT_OF_RANGE, (uint8_t)(bad + 1), values[bad], ceiling, c);
    return false;
  }
  uint16_t target = c == OB_CHANNEL_ALL ? outputs_mask() : (uint16_t)(1u << c);
  uint16_t busy = (uint16_t)(target & ob_sched_running_mask());
  if (busy) { *e = err(OB_ERR_BUSY, 0, busy, 0, c); return false; }
  for (uint8_t k = 0; k < ob_sched_outputs(); k++) if (target & (1u << k)) ob_sched_channel(k)->limits = l;
  *len = put_limits(out, c, l);
  return true;
}

bool do_get_limits(const uint8_t* p, uint8_t* out, uint16_t* len, Error* e) {
  uint8_t c = p[0];
  if (c >= ob_sched_outputs()) { *e = err(OB_ERR_OUT_OF_RANGE, 0, c, ob_sched_outputs() - 1u); return false; }
  *len = put_limits(out, c, ob_sched_channel(c)->limits);
  return true;
}

bool do_stream_start(const uint8_t* p, uint8_t* out, uint16_t* len, Error* e) {
  uint32_t rate = ob_get_u32(p);
  uint16_t fpp = ob_get_u16(p + 4);
  uint8_t channels = p[6];
  if (hal_stream_channel_count() == 0) { *e = err(OB_ERR_UNSUPPORTED); return false; }
  if (ob_stream_active()) { *e = err(OB_ERR_BUSY); return false; }
  if (rate == 0 || rate > hal_stream_max_rate_hz()) { *e = err(OB_ERR_OUT_OF_RANGE, 0, rate, hal_stream_max_rate_hz()); return false; }
  if (channels == 0 || channels > hal_stream_channel_count()) { *e = err(OB_ERR_OUT_OF_RANGE, 2, channels, hal_stream_channel_count()); return false; }
  if (fpp == 0 || fpp > ob_stream_max_frames(channels)) { *e = err(OB_ERR_OUT_OF_RANGE, 1, fpp, ob_stream_max_frames(channels)); return false; }
  uint64_t now = hal_now_us();
  if (!ob_stream_start(rate, fpp, channels, now)) { *e = err(OB_ERR_UNSUPPORTED); return false; }
  ob_put_u32(out, rate);
  ob_put_u16(out + 4, fpp);
  out[6] = channels;
  ob_put_u64(out + 7, now);
  *len = 15;
  return true;
}

bool do_stream_stop(uint8_t* out, uint16_t* len) {
  ob_stream_stop();
  const ObStreamCounters* sc = ob_stream_counters();
  ob_put_u32(out, sc->packets_sent);
  ob_put_u32(out + 4, sc->packets_dropped);
  ob_put_u64(out + 8, sc->frames_sent);
  ob_put_u64(out + 16, hal_now_us());
  *len = 24;
  return true;
}

void handle_frame(uint16_t n) {
  const uint8_t* f = b.frame;
  const uint8_t op = f[0];
  const uint16_t seq = ob_get_u16(f + 1);
  const uint16_t crc = ob_get_u16(f + n - OB_FRAME_CRC);
  if (ob_crc16(f, n - OB_FRAME_CRC) != crc) {
    b.counters.crc_errors++;
    send_error(seq, op, false, err(OB_ERR_BAD_CRC, OB_PARAM_NONE, crc, ob_crc16(f, n - OB_FRAME_CRC)), false, 0);
    return;
  }
  b.counters.frames_ok++;
  const bool idempotent = op == OB_OP_HELLO || op == OB_OP_GET_CLOCK;
  if (!idempotent && b.have_last && seq == b.last_seq && crc == b.last_crc) {
    b.counters.duplicates++;
    hal_serial_write(b.last_reply, b.last_reply_len);
    return;
  }
  const uint16_t payload_len = (uint16_t)(n - OB_FRAME_MIN);
  const uint8_t* p = f + OB_FRAME_HEADER;
  const uint16_t want = expected_length(op);
  Error e = err(0);
  if (want == 0xFFFF) {
    send_error(seq, op, true, err(OB_ERR_UNKNOWN_OP, OB_PARAM_NONE, op, 0), !idempotent, crc);
    return;
  }
  if (payload_len != want) {
    send_error(seq, op, true, err(OB_ERR_BAD_LENGTH, OB_PARAM_NONE, payload_len, want), !idempotent, crc);
    return;
  }
  if (!b.hello_done && op != OB_OP_HELLO && op != OB_OP_GET_CLOCK) {
    send_error(seq, op, true, err(OB_ERR_NOT_READY), true, crc);
    return;
  }
  uint8_t* out = begin((uint8_t)(op | OB_REPLY_BIT), seq);
  uint16_t len = 0;
  bool ok = false;
  switch (op) {
    case OB_OP_HELLO: ok = do_hello(p, out, &len, &e); break;
    case OB_OP_PROGRAM: ok = do_program(p, out, &len, &e); break;
    case OB_OP_TRIGGER: ok = do_trigger(p, out, &len, &e); break;
    case OB_OP_ABORT: ok = do_abort(out, &len); break;
    case OB_OP_STATUS: ok = do_status(out, &len); break;
    case OB_OP_SET_LIMITS: ok = do_set_limits(p, out, &len, &e); break;
    case OB_OP_GET_LIMITS: ok = do_get_limits(p, out, &len, &e); break;
    case OB_OP_STREAM_START: ok = do_stream_start(p, out, &len, &e); break;
    case OB_OP_STREAM_STOP: ok = do_stream_stop(out, &len); break;
    case OB_OP_GET_CLOCK: ok = true; ob_put_u64(out, hal_now_us()); len = 8; break;
  }
  if (ok) reply(len, !idempotent, crc);
  else send_error(seq, op, true, e, !idempotent, crc);
}

void handle_encoded(void) {
  if (b.rx_overflow) {
    b.counters.frame_errors++;
    send_error(0, 0, false, err(OB_ERR_BAD_FRAME, OB_PARAM_NONE, OB_FRAME_ENCODED_MAX, OB_FRAME_ENCODED_MAX), false, 0);
    return;
  }
  if (b.rx_len == 0) return;  // back-to-back delimiters: a host flushing the line
  long n = ob_cobs_decode(b.rx_enc, b.rx_len, b.frame, sizeof(b.frame));
  if (n < (long)OB_FRAME_MIN) {
    b.counters.frame_errors++;
    const bool has_header = n >= (long)OB_FRAME_HEADER;
    send_error(has_header ? ob_get_u16(b.frame + 1) : 0, has_header ? b.frame[0] : 0, false,
               err(OB_ERR_BAD_FRAME, OB_PARAM_NONE, n < 0 ? 0 : (uint32_t)n, OB_FRAME_MIN), false, 0);
    return;
  }
  handle_frame((uint16_t)n);
}

}  // namespace

void bridge_init(void) {
  b.rx_len = 0;
  b.rx_overflow = false;
  b.have_last = false;
  b.hello_done = false;
  b.link_was_up = false;
  b.event_seq = 0;
  b.counters.frames_ok = b.counters.crc_errors = b.counters.frame_errors = b.counters.duplicates = b.counters.refusals = 0;
  b.counters.link_drops = 0;
  ob_sched_init(hal_output_count());
}

void bridge_on_timer(void) { ob_sched_on_timer(hal_now_us()); }

const ObCounters* bridge_counters(void) { return &b.counters; }

void bridge_poll(void) {
  const bool link_up = hal_link_up();
  if (b.link_was_up && !link_up) {
    // The host went away (closed the port or died): no train outlives it.
    ob_sched_abort(hal_now_us());
    ob_stream_stop();
    b.hello_done = false;
    b.have_last = false;
    b.counters.link_drops++;
  }
  b.link_was_up = link_up;
  uint8_t chunk[64];
  size_t got;
  while ((got = hal_serial_read(chunk, sizeof(chunk))) > 0) {
    for (size_t i = 0; i < got; i++) {
      const uint8_t byte = chunk[i];
      if (byte == 0x00) {
        handle_encoded();
        b.rx_len = 0;
        b.rx_overflow = false;
      } else if (b.rx_len < OB_FRAME_ENCODED_MAX) {
        b.rx_enc[b.rx_len++] = byte;
      } else {
        b.rx_overflow = true;
      }
    }
  }
  ObDoneEvent ev;
  while (ob_sched_pop_event(&ev)) {
    uint8_t* p = begin(OB_OP_EVT_TRAIN_DONE, b.event_seq++);
    p[0] = ev.channel;
    p[1] = ev.reason;
    ob_put_u16(p + 2, ev.pulses);
    ob_put_u64(p + 4, ev.time_us);
    send_raw(OB_FRAME_HEADER + 12);
  }
  ob_stream_poll();
}
