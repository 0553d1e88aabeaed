import { OptoloopError } from '../../src/core/errors.js';
import type { DeviceErrorReply } from './codec.js';
import { ERROR_FLAG_SEQ_UNVERIFIED, ErrorCode, LIMIT_NAMES, REQUEST_FIELDS, deviceErrorName, opName, type RequestOpName } from './protocol.js';

const STAGE = 'drivers/firmware-bridge';

/** The firmware's reason in words: what was refused, which field or limit, the value and the bound. */
export function describeDeviceError(e: DeviceErrorReply): string {
  const name = deviceErrorName(e.code);
  const op = opName(e.refOp);
  const on = e.channel !== 0xff ? ` on output ${e.channel}` : '';
  const fields = REQUEST_FIELDS[op as RequestOpName];
  const field = e.param !== 0xff && fields ? fields[e.param] ?? `field ${e.param}` : null;
  switch (e.code) {
    case ErrorCode.LIMIT_EXCEEDED: {
      const limit = LIMIT_NAMES[e.param] ?? `limit ${e.param}`;
      const unit = e.param === 2 ? ' pulses in the rate window' : e.param === 1 ? ' µs of light in the duty window' : ' µs';
      return `${name}: ${op}${on} would exceed the firmware's ${limit} limit (${e.value}${unit}, maximum ${e.limit})`;
    }
    case ErrorCode.OUT_OF_RANGE:
      return `${name}: ${op}${on}: ${field ?? 'a field'} = ${e.value} is out of range (bound ${e.limit})`;
    case ErrorCode.BAD_LENGTH:
      return `${name}: ${op} payload of ${e.value} bytes, expected ${e.limit}`;
    case ErrorCode.BAD_CRC:
      return `${name}: the device received a frame whose CRC 0x${e.value.toString(16)} did not match 0x${e.limit.toString(16)}`;
    case ErrorCode.BAD_FRAME:
      return `${name}: the device could not decode a frame (${e.value} bytes)`;
    case ErrorCode.UNKNOWN_OP:
      return `${name}: the device does not know op 0x${e.value.toString(16).padStart(2, '0')}`;
    case ErrorCode.BUSY:
      return `${name}: ${op}${on}: busy (mask 0x${e.value.toString(16)})`;
    case ErrorCode.UNSUPPORTED_VERSION:
      return `${name}: the host speaks protocol ${e.value}.x, the firmware ${e.limit}.x`;
    case ErrorCode.NOT_READY:
      return `${name}: ${op} before a successful HELLO`;
    case ErrorCode.NOT_PROGRAMMED:
      return `${name}: TRIGGER of output(s) never programmed (mask 0x${e.value.toString(16)})`;
    case ErrorCode.UNSUPPORTED:
      return `${name}: ${op} is not supported by this board`;
    default:
      return `${name}: ${op} refused (param ${e.param}, value ${e.value}, limit ${e.limit})`;
  }
}

/** E_DEVICE_REFUSED naming the firmware's error; details carry the raw reply. */
export function deviceRefused(device: string, e: DeviceErrorReply): OptoloopError {
  return new OptoloopError('E_DEVICE_REFUSED', `${device}: firmware refused: ${describeDeviceError(e)}`, {
    stage: STAGE,
    details: {
      device,
      firmwareError: deviceErrorName(e.code),
      firmwareErrorCode: e.code,
      request: opName(e.refOp),
      param: e.param === 0xff ? null : e.param,
      limitName: e.code === ErrorCode.LIMIT_EXCEEDED ? LIMIT_NAMES[e.param] ?? null : null,
      channel: e.channel === 0xff ? null : e.channel,
      value: e.value,
      limit: e.limit,
      seqUnverified: (e.flags & ERROR_FLAG_SEQ_UNVERIFIED) !== 0,
    },
  });
}

