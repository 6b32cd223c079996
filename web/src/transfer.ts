// File transfer and the version request over the WebREPL binary protocol (PROTOCOL.md, "Replies").

import { WebReplConnection } from './connection';
import { decodeChunk, decodeStatus, decodeVersion, encodeRequest, Op } from './protocol';

/** Bytes done and bytes in all (total is null while a GET does not know the size). */
export type Progress = (done: number, total: number | null) => void;

/** How long the board may take to answer a request (another client's transfer may hold ours in the gateway). */
const ReplyTimeoutMs = 30000;
const PutChunk = 1024;
const HighWater = 64 * 1024;

async function expectStatus(connection: WebReplConnection, what: string): Promise<void> {
  const frame = await connection.nextBinary(ReplyTimeoutMs, what);
  const code = decodeStatus(frame);
  if (code === null) {
    throw new Error(`unexpected reply to ${what} (${frame.length} bytes)`);
  }
  if (code !== 0) {
    throw new Error(`the board refused ${what} (code ${code})`);
  }
}

/** Sends `data` to the board's file `name` (a full path, at most 63 bytes of UTF-8). */
export async function putFile(connection: WebReplConnection, name: string, data: Uint8Array, progress?: Progress): Promise<void> {
  connection.discardBinary();
  connection.sendBytes(encodeRequest(Op.PutFile, name, data.length));
  await expectStatus(connection, `sending ${name} (no reply: does the folder exist?)`);
  for (let offset = 0; offset < data.length; offset += PutChunk) {
    // The socket buffers what we hand it: wait while much is queued, so that progress means bytes sent.
    while (connection.bufferedAmount > HighWater) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const end = Math.min(offset + PutChunk, data.length);
    connection.sendBytes(data.subarray(offset, end));
    progress?.(Math.max(0, end - connection.bufferedAmount), data.length);
  }
  await expectStatus(connection, `the end of ${name}`);
  progress?.(data.length, data.length);
}

/** Reads the board's file `name`. */
export async function getFile(connection: WebReplConnection, name: string, progress?: Progress): Promise<Uint8Array> {
  connection.discardBinary();
  connection.sendBytes(encodeRequest(Op.GetFile, name));
  await expectStatus(connection, `getting ${name} (no reply: does the file exist?)`);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    connection.sendBytes(new Uint8Array([0]));
    const frame = await connection.nextBinary(ReplyTimeoutMs, `data of ${name}`);
    const chunk = decodeChunk(frame);
    if (chunk === null) {
      throw new Error(`malformed data of ${name} (${frame.length} bytes)`);
    }
    if (chunk.length === 0) {
      break;
    }
    parts.push(chunk.slice());
    total += chunk.length;
    progress?.(total, null);
  }
  await expectStatus(connection, `the end of ${name}`);
  const data = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    data.set(part, at);
    at += part.length;
  }
  return data;
}

/** The board's MicroPython version (GET_VER), e.g. "1.27.0". */
export async function getVersion(connection: WebReplConnection): Promise<string> {
  connection.discardBinary();
  connection.sendBytes(encodeRequest(Op.GetVersion));
  const frame = await connection.nextBinary(10000, 'the version');
  const version = decodeVersion(frame);
  if (version === null) {
    throw new Error(`unexpected version reply (${frame.length} bytes)`);
  }
  return version;
}
