// Just enough of MicroPython's REPL for the page's raw REPL, byte for byte as the firmware answers
// (shared/runtime/pyexec.c), with raw-paste played from a transcript of tests/vectors/raw-paste.json: the board's
// output at each position of the client's bytes, and a check of every byte the client sends (the code, in order,
// never more than the windows granted). Mirrors tests/WebRepl.Tests/Vectors/TranscriptConsole.cs.
import { BoardPeer, ScriptedBoard } from './fake-socket';
import { hex, PasteEvent, RawPasteVectors, Transcript } from './vectors';

const Banner = 'raw REPL; CTRL-B to exit\r\n>';
const Friendly = '\r\nMicroPython v1.27.0 on a scripted board\r\nType "help()" for more information.\r\n>>> ';
const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes);
const utf8 = new TextEncoder();

export interface RawBoardOptions {
  /** The raw-paste transcript for the code the client will run (its code is checked). */
  transcript?: Transcript;
  /** The board's answer to 05 41 01 instead of raw-paste (a "refused" vector). */
  refusal?: Uint8Array;
  /** Answers plain raw REPL code: its output after OK (null: a NameError). */
  plain?: (code: string) => Uint8Array | null;
  /** The fate of the nth Ctrl-A (from 1): answered at once (0), after that many ms, or lost (null). */
  ctrlA?: (n: number) => number | null;
}

export class RawBoard implements ScriptedBoard {
  /** What went wrong in the client's bytes; a test asserts it is empty. */
  readonly errors: string[] = [];
  /** Code run, in order, and whether it came through raw-paste. */
  readonly programs: { code: string; pasted: boolean }[] = [];
  ctrlAs = 0;
  banners = 0;
  /** Input is taken in order: a delayed answer holds back everything after it, as a board's REPL does. */
  private queue: Promise<void> = Promise.resolve();
  private mode: 'friendly' | 'raw' | 'paste' = 'friendly';
  private line: number[] = [];
  private paste: PastePlayer | null = null;

  constructor(
    private readonly vectors: RawPasteVectors,
    private readonly options: RawBoardOptions = {},
  ) {}

  text(peer: BoardPeer, bytes: Uint8Array): void {
    this.queue = this.queue.then(async () => {
      for (const b of bytes) {
        await this.take(peer, b);
      }
    });
  }

  binary(): void {
    this.errors.push('a binary message during a raw REPL session');
  }

  private async take(peer: BoardPeer, b: number): Promise<void> {
    if (this.mode === 'paste') {
      const done = this.paste!.take(peer, b);
      if (done) {
        this.programs.push({ code: this.paste!.transcript.code, pasted: true });
        this.paste = null;
        this.mode = 'raw';
      }
      return;
    }
    if (this.mode === 'friendly') {
      if (b === 0x01 && (await this.ctrlAAnswered())) {
        this.mode = 'raw';
        this.line = [];
        this.banner(peer, '\r\n');
      }
      return; // Ctrl-C and Enter at an idle prompt print a prompt, which the client drops with the rest
    }
    switch (b) {
      case 0x01:
        if (this.line.length === 2 && this.line[0] === 0x05 && this.line[1] === 0x41) {
          this.line = [];
          this.startPaste(peer);
        } else if (await this.ctrlAAnswered()) {
          this.line = [];
          this.banner(peer, '');
        }
        return;
      case 0x02:
        this.mode = 'friendly';
        this.line = [];
        peer.sendText(Friendly);
        return;
      case 0x03:
        this.line = [];
        return;
      case 0x04:
        this.runPlain(peer);
        return;
      default:
        this.line.push(b);
    }
  }

  private startPaste(peer: BoardPeer): void {
    if (this.options.refusal) {
      peer.sendBytes(this.options.refusal);
      return;
    }
    if (!this.options.transcript) {
      this.errors.push('raw-paste asked for with no transcript');
      peer.close(1011, 'no transcript');
      return;
    }
    this.mode = 'paste';
    this.paste = new PastePlayer(this.options.transcript, this.vectors.window, this.errors);
    this.paste.start(peer);
  }

  private runPlain(peer: BoardPeer): void {
    const code = new TextDecoder().decode(new Uint8Array(this.line));
    this.line = [];
    this.programs.push({ code, pasted: false });
    const sync = /^print\('(webrepl-sync-[0-9a-f]{8})', end=''\)$/.exec(code);
    const output = sync ? utf8.encode(`${sync[1]}\x04\x04>`) : (this.options.plain?.(code) ?? null);
    peer.sendText('OK');
    peer.sendBytes(output ?? utf8.encode(`\x04Traceback (most recent call last):\r\nNameError: name isn't defined\r\n\x04>`));
  }

  private banner(peer: BoardPeer, before: string): void {
    this.banners++;
    peer.sendText(before + Banner);
  }

  private async ctrlAAnswered(): Promise<boolean> {
    const n = ++this.ctrlAs;
    const delay = this.options.ctrlA ? this.options.ctrlA(n) : 0;
    if (delay === null) {
      return false;
    }
    if (delay > 0) {
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    return true;
  }
}

/** One raw-paste exchange from a transcript: positions count the client's bytes from the start of 05 41 01. */
class PastePlayer {
  private position = 3;
  private codeBytesTaken = 0;
  private credit = 0;
  private next = 0;
  private readonly code: Uint8Array;

  constructor(
    readonly transcript: Transcript,
    private readonly window: number,
    private readonly errors: string[],
  ) {
    this.code = utf8.encode(transcript.code);
  }

  start(peer: BoardPeer): void {
    this.emitDue(peer);
  }

  /** Takes a client byte; true when the exchange is over. */
  take(peer: BoardPeer, b: number): boolean {
    this.position++;
    if (b === 0x04) {
      if (this.transcript.early === undefined && this.codeBytesTaken !== this.code.length) {
        this.errors.push(`${this.transcript.name}: the code ended after ${this.codeBytesTaken} of ${this.code.length} bytes`);
      }
      for (const event of this.transcript.events.slice(this.next)) {
        if (!event.afterEnd) {
          this.errors.push(`${this.transcript.name}: the code ended before the board printed ${event.shows}`);
        }
        this.emit(peer, event);
      }
      return true;
    }
    if (this.codeBytesTaken >= this.code.length || b !== this.code[this.codeBytesTaken]) {
      this.errors.push(`${this.transcript.name}: byte ${this.codeBytesTaken} of the code is 0x${b.toString(16)}, not the code's`);
      peer.close(1011, 'not the code');
      return true;
    }
    this.codeBytesTaken++;
    if (this.codeBytesTaken > this.credit) {
      this.errors.push(`${this.transcript.name}: ${this.codeBytesTaken} bytes of code sent with ${this.credit} granted`);
    }
    this.emitDue(peer);
    return false;
  }

  private emitDue(peer: BoardPeer): void {
    while (this.next < this.transcript.events.length) {
      const event = this.transcript.events[this.next];
      if (event.afterEnd || event.at === undefined || event.at > this.position) {
        return;
      }
      this.emit(peer, event);
      this.next++;
    }
  }

  private emit(peer: BoardPeer, event: PasteEvent): void {
    const bytes = hex(event.hex);
    // Credit: the window size says one window is free, and each 01 the board prints frees one more.
    const text = latin1(bytes);
    const grants = text.startsWith('R\x01') ? latin1(bytes.subarray(4)) : event.afterEnd ? '' : text;
    this.credit += (text.startsWith('R\x01') ? this.window : 0) + this.window * (grants.split('\x01').length - 1);
    peer.sendBytes(bytes);
  }
}
