// File transfer and the version request over the WebREPL binary protocol (docs/protocol.md, "Replies").

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

/** Bytes of file data in one GET chunk (the firmware's read buffer). */
export const GetChunk = 256;
/**
 * Chunk requests (zero bytes) kept in flight: 512 KiB of data, 10 MB/s at a 50 ms round trip (as the library's
 * WebReplClientOptions.GetWindow). They wait in the board's TCP receive window, and it reads them one at a time.
 */
const GetWindow = 2048;
/** Requests go out in batches of this many (one frame each), so that the board never runs dry. */
const GetBatch = GetWindow / 8;
/** Bytes of the request record (see protocol.ts, RecordLength). */
const RecordBytes = 82;

/** Chunk requests a GET of a file of `size` bytes takes: one per 256 bytes, and one for the empty chunk. */
export function getRequests(size: number): number {
  return Math.ceil(size / GetChunk) + 1;
}

/**
 * The bytes that complete a record the board has begun with `surplus` zero bytes (1 or 2) into a GET_VER request:
 * the op is the record's third byte, which the board reads without checking the signature.
 */
export function versionRecordTail(surplus: number): Uint8Array {
  if (surplus < 1 || surplus > 2) {
    throw new RangeError(`a record begun with ${surplus} zero bytes cannot be completed as GET_VER`);
  }
  return encodeRequest(Op.GetVersion).subarray(surplus);
}

/**
 * Reads the board's file `name`.
 *
 * Every zero byte the board reads during a GET makes it send one chunk; after the empty chunk the next bytes
 * start a new request record. With the size known (`size`, e.g. from a stat just before), the request and the
 * zero bytes for up to GetWindow chunks go at once and more follow as chunks arrive, so that the board never
 * waits for the client, but never more than getRequests(size) in all. A file that grew meanwhile is read on one
 * request at a time; one that shrank leaves surplus zero bytes at the board: one or two are completed as a
 * GET_VER record (its reply is read and dropped) and the session goes on; more cannot be (the board would open a
 * file named by the record, and drop the session when that fails), so the connection is closed with an error.
 * Without a size, one request at a time (stop-and-wait), which never leaves a surplus.
 */
export async function getFile(connection: WebReplConnection, name: string, progress?: Progress, size?: number | null): Promise<Uint8Array> {
  const known = typeof size === 'number' && Number.isSafeInteger(size) && size >= 0;
  const budget = known ? getRequests(size) : 1;
  const total = known ? size : null;
  connection.discardBinary();
  const first = Math.min(budget, GetWindow);
  const request = new Uint8Array(RecordBytes + first); // zero bytes after the record: the first chunk requests
  request.set(encodeRequest(Op.GetFile, name));
  connection.sendBytes(request);
  let sent = first;
  let received = 0;
  await expectStatus(connection, `getting ${name} (no reply: does the file exist?)`);
  const parts: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const frame = await connection.nextBinary(ReplyTimeoutMs, `data of ${name}`);
    const chunk = decodeChunk(frame);
    if (chunk === null) {
      throw new Error(`malformed data of ${name} (${frame.length} bytes)`);
    }
    received++;
    if (chunk.length === 0) {
      break;
    }
    parts.push(chunk.slice());
    length += chunk.length;
    progress?.(length, total === null ? null : Math.max(total, length));
    const inFlight = sent - received;
    if (sent < budget) {
      // Top up in batches: fewer, larger frames.
      if (inFlight <= GetWindow - GetBatch) {
        const more = Math.min(budget - sent, GetWindow - inFlight);
        connection.sendBytes(new Uint8Array(more));
        sent += more;
      }
    } else if (inFlight === 0) {
      // Every request is answered and the file goes on (it grew, or its size is unknown): one more.
      connection.sendBytes(new Uint8Array(1));
      sent++;
    }
  }
  await expectStatus(connection, `the end of ${name}`);
  const surplus = sent - received;
  if (surplus > 2) {
    connection.close();
    throw new Error(
      `${name} got smaller while it was read (${length} bytes, ${total} expected); the board would take the ` +
        `data requests still on their way as a broken request, so the connection was closed: connect again, and get the file again`,
    );
  }
  if (surplus > 0) {
    // The board holds the start of a record of zero bytes: make it a GET_VER, and drop its reply.
    connection.sendBytes(versionRecordTail(surplus));
    const reply = await connection.nextBinary(ReplyTimeoutMs, 'the version reply after a file that got smaller');
    if (decodeVersion(reply) === null) {
      throw new Error(`unexpected reply after ${name} (${reply.length} bytes)`);
    }
  }
  const data = new Uint8Array(length);
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
