import protobuf from 'protobufjs';
import { HEADER_BYTES, writeHeader } from './wire.js';

/**
 * Encodes a header and a protobuf payload into one buffer, once per message whatever the number of
 * subscribers. The protobuf writer's growable buffer is reused across messages; each frame gets its
 * own buffer because the socket keeps it until the kernel takes it.
 */
export class FrameEncoder {
  private writer = protobuf.Writer.create();

  encode(type: protobuf.Type, message: object, topic: number, flags: number, sequence: number): Buffer {
    const writer = this.writer;
    writer.reset();
    try {
      type.encode(message, writer);
    } catch (error) {
      // A failed encode can leave forked states behind: start the next one on a fresh writer.
      this.writer = protobuf.Writer.create();
      throw error;
    }
    const payloadBytes = writer.pos;
    const frame = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes);
    writeHeader(frame, 0, topic, flags, sequence, payloadBytes);
    writer.finishInto(frame, HEADER_BYTES);
    return frame;
  }
}
