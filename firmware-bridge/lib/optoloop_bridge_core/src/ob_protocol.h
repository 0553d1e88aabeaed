// Wire constants of the optoloop firmware-bridge protocol. PROTOCOL.md is the specification; this
// header and drivers/firmware-bridge/protocol.ts restate it, and the tests hold the three together.
#pragma once
#include <stdint.h>

#define OB_PROTO_MAJOR 1
#define OB_PROTO_MINOR 0
#define OB_FW_MAJOR 1
#define OB_FW_MINOR 0
#define OB_FW_PATCH 0

// Decoded frame: op u8 | seq u16 | payload | crc u16.
#define OB_FRAME_HEADER 3
#define OB_FRAME_CRC 2
#define OB_FRAME_MIN (OB_FRAME_HEADER + OB_FRAME_CRC)
#define OB_FRAME_MAX 254 /* decoded bytes; the encoded frame is then one COBS block + 1 code byte */
#define OB_FRAME_ENCODED_MAX (OB_FRAME_MAX + 2)

// Requests (host -> device). A reply's op is the request's op | 0x80.
#define OB_OP_HELLO 0x01
#define OB_OP_PROGRAM 0x02
#define OB_OP_TRIGGER 0x03
#define OB_OP_ABORT 0x04
#define OB_OP_STATUS 0x05
#define OB_OP_SET_LIMITS 0x06
#define OB_OP_GET_LIMITS 0x07
#define OB_OP_STREAM_START 0x08
#define OB_OP_STREAM_STOP 0x09
#define OB_OP_GET_CLOCK 0x0A
#define OB_REPLY_BIT 0x80
// Device-initiated.
#define OB_OP_EVT_TRAIN_DONE 0xC1
#define OB_OP_ERROR 0xFF

// Request payload lengths (exact).
#define OB_LEN_HELLO 2
#define OB_LEN_PROGRAM 17
#define OB_LEN_TRIGGER 2
#define OB_LEN_ABORT 0
#define OB_LEN_STATUS 0
#define OB_LEN_SET_LIMITS 21
#define OB_LEN_GET_LIMITS 1
#define OB_LEN_STREAM_START 7
#define OB_LEN_STREAM_STOP 0
#define OB_LEN_GET_CLOCK 0

// Error codes (ERROR payload byte 0).
#define OB_ERR_BAD_CRC 0x01
#define OB_ERR_BAD_FRAME 0x02
#define OB_ERR_UNKNOWN_OP 0x03
#define OB_ERR_BAD_LENGTH 0x04
#define OB_ERR_OUT_OF_RANGE 0x05
#define OB_ERR_LIMIT_EXCEEDED 0x06
#define OB_ERR_BUSY 0x07
#define OB_ERR_UNSUPPORTED_VERSION 0x08
#define OB_ERR_NOT_READY 0x09
#define OB_ERR_NOT_PROGRAMMED 0x0A
#define OB_ERR_UNSUPPORTED 0x0B

#define OB_ERRF_SEQ_UNVERIFIED 0x01
#define OB_PARAM_NONE 0xFF
#define OB_CHANNEL_NONE 0xFF
#define OB_CHANNEL_ALL 0xFF

// LIMIT_EXCEEDED param values: which limit.
#define OB_LIMIT_WIDTH 0
#define OB_LIMIT_DUTY 1
#define OB_LIMIT_RATE 2

// Capabilities (HELLO reply).
#define OB_CAP_LEVEL 0x0001
#define OB_CAP_STREAM 0x0002
#define OB_CAP_STREAM_BULK 0x0004
#define OB_CAP_EVENTS 0x0008

// TRAIN_DONE reasons.
#define OB_DONE_COMPLETED 0
#define OB_DONE_ABORTED 1

// Hard ceilings compiled into the firmware: SET_LIMITS can never exceed them.
#define OB_MAX_CHANNELS 8
#define OB_HISTORY_CAPACITY 1024
#define OB_HARD_MAX_WIDTH_US 1000000u
#define OB_HARD_MAX_DUTY_PPM 1000000u
#define OB_HARD_MAX_PULSES_PER_WINDOW (OB_HISTORY_CAPACITY - 1)
#define OB_MIN_WINDOW_US 1000u
#define OB_HARD_MAX_WINDOW_US 60000000u
#define OB_MAX_DELAY_US 60000000u
#define OB_MAX_INTERVAL_US 60000000u
#define OB_MAX_TRAIN_PULSES 65535u

// Limits in force at boot (PROTOCOL.md section 7).
#define OB_DEFAULT_MAX_WIDTH_US 50000u
#define OB_DEFAULT_DUTY_WINDOW_US 1000000u
#define OB_DEFAULT_MAX_DUTY_PPM 250000u
#define OB_DEFAULT_RATE_WINDOW_US 60000000u
#define OB_DEFAULT_MAX_PULSES 600u

// Streaming packets (bulk IN endpoint).
#define OB_STREAM_MAGIC0 0x4F /* 'O' */
#define OB_STREAM_MAGIC1 0x4C /* 'L' */
#define OB_STREAM_VERSION 1
#define OB_STREAM_HEADER 28
#define OB_STREAM_PACKET_MAX 4096
#define OB_STREAM_MAX_CHANNELS 32
