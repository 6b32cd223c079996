// The binary side of a board, as extmod/modwebrepl.c reads it: one byte stream whatever the frames, an 82-byte
// record, then PUT's data or GET's chunk requests (each byte read makes one chunk of up to 256 bytes; the empty
// chunk ends the file, WB 00 00 follows, and the next byte starts a record). A record whose op is none of the three
// opens the name for reading and then reads no record again; a name that cannot be opened drops the session.
import { BoardPeer, ScriptedBoard } from './fake-socket';

const Ok = new Uint8Array([0x57, 0x42, 0, 0]);
const Version = new Uint8Array([1, 27, 0]);

export class FileBoard implements ScriptedBoard {
  readonly files = new Map<string, Uint8Array>();
  /** Every record read: its op and name. */
  readonly records: { op: number; name: string }[] = [];
  readonly errors: string[] = [];
  private record: number[] = [];
  private op = 0;
  private name = '';
  private toReceive = 0;
  private data: number[] = [];
  private reading: { data: Uint8Array; at: number } | null = null;
  private dead = false;

  /** True when the board waits for a record (nothing half-read). */
  get idle(): boolean {
    return this.record.length === 0 && this.toReceive === 0 && !this.dead;
  }

  text(): void {}

  binary(peer: BoardPeer, bytes: Uint8Array): void {
    for (const b of bytes) {
      if (!peer.isOpen) {
        return;
      }
      this.take(peer, b);
    }
  }

  private take(peer: BoardPeer, b: number): void {
    if (this.toReceive > 0) {
      this.takeData(peer, b);
      return;
    }
    if (this.dead) {
      return; // the firmware never reads another record
    }
    this.record.push(b);
    if (this.record.length < 82) {
      return;
    }
    const record = new Uint8Array(this.record);
    this.record = [];
    const view = new DataView(record.buffer);
    this.op = record[2];
    const field = record.subarray(18, 82);
    const nul = field.indexOf(0);
    this.name = new TextDecoder().decode(field.subarray(0, nul < 0 ? 64 : nul));
    this.records.push({ op: this.op, name: this.name });
    if (this.op === 3) {
      peer.sendBinary(Version);
      return;
    }
    if (this.op === 1) {
      this.data = [];
      this.toReceive = view.getUint32(12, true);
      peer.sendBinary(Ok);
      this.finishPut(peer);
      return;
    }
    const file = this.files.get(this.name);
    if (!file) {
      peer.close(1006); // ENOENT inside the board's read: the session drops
      return;
    }
    if (this.op !== 2) {
      this.errors.push(`a record with op ${this.op}: the board would read no record again`);
      this.dead = true;
    }
    peer.sendBinary(Ok);
    this.reading = { data: file, at: 0 };
    this.toReceive = 1;
  }

  private takeData(peer: BoardPeer, b: number): void {
    if (this.op === 1) {
      this.data.push(b);
      this.toReceive--;
      this.finishPut(peer);
      return;
    }
    if (b !== 0) {
      this.errors.push(`a chunk request of 0x${b.toString(16)}, not 00`);
    }
    const reading = this.reading!;
    const chunk = reading.data.subarray(reading.at, reading.at + 256);
    reading.at += chunk.length;
    const frame = new Uint8Array(2 + chunk.length);
    frame[0] = chunk.length & 0xff;
    frame[1] = chunk.length >> 8;
    frame.set(chunk, 2);
    peer.sendBinary(frame);
    if (chunk.length === 0) {
      this.toReceive = 0;
      this.reading = null;
      peer.sendBinary(Ok);
    }
  }

  private finishPut(peer: BoardPeer): void {
    if (this.toReceive === 0) {
      this.files.set(this.name, new Uint8Array(this.data));
      peer.sendBinary(Ok);
    }
  }
}
