// Teensy 4.x (i.MX RT1062, 600 MHz) implementation of ob_hal.h.
//
// Outputs: channel n's gate (TTL / LED driver enable) on GATE_PINS[n]; its light level as 15-bit
// PWM on LEVEL_PINS[n] (filter it with an RC into the LED driver's analog modulation input).
// Pulse edges are written from an IntervalTimer (PIT) interrupt armed for the earliest pending
// edge: interrupt latency on the M7 is well under 1 µs. Sample streaming reads the ADC from a
// second IntervalTimer into a ring and sends packets on SerialUSB1's bulk IN endpoint.
#include <Arduino.h>
#include <IntervalTimer.h>
#include <ob_bridge.h>
#include <ob_hal.h>

#include "hal_teensy4.h"

namespace {

const uint8_t GATE_PINS[] = {2, 3, 4, 5};
const uint8_t LEVEL_PINS[] = {6, 7, 8, 9};
const uint8_t OUTPUTS = sizeof(GATE_PINS);
const uint8_t ANALOG_PINS[] = {A0, A1, A2, A3, A4, A5, A6, A7};
const uint8_t STREAM_CHANNELS = sizeof(ANALOG_PINS);
const uint32_t STREAM_MAX_RATE_HZ = 10000;  // 8 channels × 10 kHz of analogRead in an interrupt
const uint8_t PWM_BITS = 15;

IntervalTimer pulseTimer;
IntervalTimer sampleTimer;
volatile uint64_t clockHigh = 0;
volatile uint32_t clockLast = 0;
uint32_t bootNonce = 0;

// Sample ring: filled by the sampling interrupt, drained by hal_stream_read in the main loop.
const uint32_t RING_FRAMES = 1024;
int16_t ring[RING_FRAMES * STREAM_CHANNELS];
volatile uint32_t ringHead = 0;  // frames written
volatile uint32_t ringTail = 0;  // frames read
volatile uint32_t ringOverruns = 0;
uint8_t streamChannels = 0;

void onPulseTimer() {
  pulseTimer.end();  // one-shot: the core re-arms for its next edge
  bridge_on_timer();
}

void onSampleTimer() {
  if (ringHead - ringTail >= RING_FRAMES) {
    ringOverruns++;  // the main loop fell behind: the frame is lost and the packet index shows it
    return;
  }
  int16_t* frame = &ring[(ringHead % RING_FRAMES) * STREAM_CHANNELS];
  for (uint8_t c = 0; c < streamChannels; c++) frame[c] = (int16_t)(analogRead(ANALOG_PINS[c]) - 2048);
  ringHead = ringHead + 1;
}

}  // namespace

void hal_teensy4_begin(void) {
  for (uint8_t c = 0; c < OUTPUTS; c++) {
    pinMode(GATE_PINS[c], OUTPUT);
    digitalWriteFast(GATE_PINS[c], LOW);
    analogWriteFrequency(LEVEL_PINS[c], 4577.64);  // the highest frequency with 15-bit resolution at 150 MHz
  }
  analogWriteResolution(PWM_BITS);
  analogReadResolution(12);
  analogReadAveraging(1);
  // Eight reads of a floating pin and the cycle counter: enough to tell one boot from the next.
  bootNonce = ARM_DWT_CYCCNT;
  for (uint8_t i = 0; i < 8; i++) bootNonce = (bootNonce * 2654435761u) ^ (uint32_t)analogRead(A9) ^ ARM_DWT_CYCCNT;
  SerialUSB1.begin(0);
}

void hal_teensy4_service(void) { (void)hal_now_us(); }

uint64_t hal_now_us(void) {
  // micros() wraps every 71.6 minutes; extend it to 64 bits. Interrupts are masked so that the
  // timer interrupt and the main loop never both see a wrap.
  uint32_t irq = hal_critical_enter();
  uint32_t now = micros();
  if (now < clockLast) clockHigh += 0x100000000ull;
  clockLast = now;
  uint64_t t = clockHigh | now;
  hal_critical_exit(irq);
  return t;
}

void hal_timer_arm(uint64_t deadline_us) {
  uint64_t now = hal_now_us();
  float delay_us = deadline_us > now ? (float)(deadline_us - now) : 1.0f;
  pulseTimer.begin(onPulseTimer, delay_us);
}

void hal_timer_disarm(void) { pulseTimer.end(); }

void hal_gate_write(uint8_t channel, bool on, uint64_t scheduled_us) {
  (void)scheduled_us;  // written now, inside the timer interrupt that fired for it
  if (channel < OUTPUTS) digitalWriteFast(GATE_PINS[channel], on ? HIGH : LOW);
}

void hal_level_write(uint8_t channel, uint16_t level) {
  if (channel < OUTPUTS) analogWrite(LEVEL_PINS[channel], level >> (16 - PWM_BITS));
}

size_t hal_serial_read(uint8_t* buffer, size_t capacity) {
  int available = Serial.available();
  if (available <= 0) return 0;
  size_t n = (size_t)available < capacity ? (size_t)available : capacity;
  return Serial.readBytes((char*)buffer, n);
}

bool hal_serial_write(const uint8_t* data, size_t length) {
  if ((size_t)Serial.availableForWrite() < length) return false;
  return Serial.write(data, length) == length;
}

bool hal_stream_begin(uint32_t rate_hz, uint8_t channels) {
  if (channels > STREAM_CHANNELS || rate_hz == 0 || rate_hz > STREAM_MAX_RATE_HZ) return false;
  streamChannels = channels;
  ringHead = ringTail = 0;
  return sampleTimer.begin(onSampleTimer, 1000000.0f / (float)rate_hz);
}

void hal_stream_end(void) { sampleTimer.end(); }

size_t hal_stream_read(int16_t* frames, size_t max_frames) {
  size_t n = 0;
  while (n < max_frames && ringTail != ringHead) {
    const int16_t* frame = &ring[(ringTail % RING_FRAMES) * STREAM_CHANNELS];
    for (uint8_t c = 0; c < streamChannels; c++) frames[n * streamChannels + c] = frame[c];
    ringTail = ringTail + 1;
    n++;
  }
  return n;
}

bool hal_stream_write(const uint8_t* packet, size_t length) {
  if ((size_t)SerialUSB1.availableForWrite() < length) return false;
  return SerialUSB1.write(packet, length) == length;
}

uint32_t hal_critical_enter(void) {
  uint32_t primask;
  __asm__ volatile("mrs %0, primask" : "=r"(primask));
  __disable_irq();
  return primask;
}

void hal_critical_exit(uint32_t state) {
  if (!state) __enable_irq();
}

uint32_t hal_device_id(void) { return HW_OCOTP_CFG0 ^ HW_OCOTP_CFG1; }
uint32_t hal_boot_nonce(void) { return bootNonce; }
const char* hal_board_name(void) { return "teensy4"; }
uint8_t hal_output_count(void) { return OUTPUTS; }
uint8_t hal_stream_channel_count(void) { return STREAM_CHANNELS; }
uint32_t hal_stream_max_rate_hz(void) { return STREAM_MAX_RATE_HZ; }
bool hal_has_level_outputs(void) { return true; }
bool hal_link_up(void) { return Serial.dtr(); }
