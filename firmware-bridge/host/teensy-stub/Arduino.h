// A stand-in for the Teensyduino API, only so that g++ can compile the Teensy sketch's C++ on the
// host (`make sketch-check`). It checks our code's syntax and its use of the core; it says nothing
// about the real Teensy API, which only the Arduino toolchain can check.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define HIGH 1
#define LOW 0
#define OUTPUT 1
#define A0 14
#define A1 15
#define A2 16
#define A3 17
#define A4 18
#define A5 19
#define A6 20
#define A7 21
#define A9 23
extern volatile uint32_t ARM_DWT_CYCCNT;
extern volatile uint32_t HW_OCOTP_CFG0;
extern volatile uint32_t HW_OCOTP_CFG1;
uint32_t micros(void);
void pinMode(uint8_t pin, uint8_t mode);
void digitalWriteFast(uint8_t pin, uint8_t value);
void analogWrite(uint8_t pin, int value);
void analogWriteFrequency(uint8_t pin, float hz);
void analogWriteResolution(unsigned bits);
void analogReadResolution(unsigned bits);
void analogReadAveraging(unsigned n);
int analogRead(uint8_t pin);
void __disable_irq(void);
void __enable_irq(void);

struct usb_serial_class {
  void begin(long) {}
  int available() { return 0; }
  int dtr() { return 1; }
  size_t readBytes(char*, size_t) { return 0; }
  int availableForWrite() { return 64; }
  size_t write(const uint8_t*, size_t n) { return n; }
};
extern usb_serial_class Serial;
extern usb_serial_class SerialUSB1;
