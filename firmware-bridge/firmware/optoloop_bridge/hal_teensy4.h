// Teensy 4.x implementation of ob_hal.h (see hal_teensy4.cpp for pins and timers).
#pragma once

void hal_teensy4_begin(void);
// Main-loop housekeeping (keeps the 64-bit clock extension fresh when nothing else reads it).
void hal_teensy4_service(void);
