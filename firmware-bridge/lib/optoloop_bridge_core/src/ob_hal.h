// The hardware abstraction layer: everything the core needs from a board. Each platform (the
// Teensy 4 sketch, the RP2040 sketch, the host emulator) implements these functions; the core
// calls nothing else, so the same protocol, scheduler and limit code runs on the bench and in CI.
#pragma once
#include <stddef.h>
#include <stdint.h>

// Device clock: microseconds since boot, monotonic, 64 bits (boards extend a wrapping 32-bit
// counter). Callable from interrupt context.
uint64_t hal_now_us(void);

// Arms the one-shot pulse timer: bridge_on_timer() is called once hal_now_us() >= deadline_us
// (at once if the deadline has passed). Arming again replaces the previous deadline.
void hal_timer_arm(uint64_t deadline_us);
void hal_timer_disarm(void);

// Output gate of channel `channel` (the TTL / LED enable line). `scheduled_us` is the device time at
// which the core wants the edge: hardware that latches edges on a timer compare uses it; a
// board that toggles the pin in the timer interrupt writes at once (within interrupt latency).
void hal_gate_write(uint8_t channel, bool on, uint64_t scheduled_us);

// Light level of `channel`, 0 ... 65535 of the output's full scale (PWM or DAC into the LED
// driver's modulation input). Written before a train starts, never during a pulse.
void hal_level_write(uint8_t channel, uint16_t level);

// Control link (USB CDC serial or a UART): non-blocking. read returns the bytes copied (0 if
// none); write returns false when the bytes could not be queued (the reply is then lost and the
// host's request times out, which it handles).
size_t hal_serial_read(uint8_t* buffer, size_t capacity);
bool hal_serial_write(const uint8_t* data, size_t length);

// Sample streaming (only where the board reports OB_CAP_STREAM). hal_stream_begin starts the
// acquisition front end at `rate_hz` with `channels` channels; hal_stream_read copies up to
// `max_frames` acquired frames (interleaved int16) and returns how many; hal_stream_write hands
// one packet to the bulk IN endpoint and returns false if it had no room (the packet is then
// dropped and counted; its sequence number is not reused, so the host sees the gap).
bool hal_stream_begin(uint32_t rate_hz, uint8_t channels);
void hal_stream_end(void);
size_t hal_stream_read(int16_t* frames, size_t max_frames);
bool hal_stream_write(const uint8_t* packet, size_t length);

// Whether a host holds the control link open (USB CDC: DTR high). When it drops, the core stops
// every output and forgets the handshake (PROTOCOL.md 4.7): a crashed host leaves no light on.
bool hal_link_up(void);

// Interrupt masking around state shared by the timer interrupt and the main loop.
uint32_t hal_critical_enter(void);
void hal_critical_exit(uint32_t state);

// Identity reported in the HELLO reply.
uint32_t hal_device_id(void);
uint32_t hal_boot_nonce(void);
const char* hal_board_name(void);
uint8_t hal_output_count(void);
uint8_t hal_stream_channel_count(void); /* 0 = no streaming */
uint32_t hal_stream_max_rate_hz(void);
bool hal_has_level_outputs(void);
