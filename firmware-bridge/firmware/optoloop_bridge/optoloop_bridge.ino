// optoloop firmware bridge — Teensy 4.0 / 4.1 sketch. Kept thin on purpose: the protocol, the pulse
// scheduler and the limits live in the optoloop_bridge_core library (../../lib), the same code the
// host emulator runs in CI; this sketch only starts the board and pumps the core.
//
// Build (Teensyduino 1.59+, USB type "Dual Serial": the first CDC port carries the protocol, the
// second CDC's bulk IN endpoint carries sample packets):
//   arduino-cli compile --fqbn teensy:avr:teensy41:usb=serial2 --library ../../lib/optoloop_bridge_core .
#include <ob_bridge.h>

#include "hal_teensy4.h"

void setup() {
  Serial.begin(0);  // USB CDC: the baud rate is ignored
  hal_teensy4_begin();
  bridge_init();
}

void loop() {
  bridge_poll();
  hal_teensy4_service();
}
