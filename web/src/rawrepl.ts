// The raw REPL and raw-paste mode (docs/protocol.md, "Raw REPL"): how code runs on the board with nothing lost,
// whatever its length: raw-paste's flow control paces the code to the board's input buffer.

import { TimeoutError, WebReplConnection } from './connection';
import { RawEnterRetryMs, RawReplPauseMs, RawReplPieceBytes } from './pacing';
import { OutputReader } from './reader';

const RawBanner = 'raw REPL; CTRL-B to exit\r\n>';
/** Ctrl-C twice stops a program (one may be swallowed by its own handler); Ctrl-A enters the raw REPL. */
const EnterRaw = '\r\x03\x03\r\x01';
const PromptTimeoutMs = 10000;

export interface ExecOptions {
  /** Program output as it arrives. */
  onStdout?: (text: string) => void;
  /** Error output (a traceback) as it arrives. */
  onStderr?: (text: string) => void;
  /** How long the program may run; 0: no limit (it can be interrupted). */
  timeoutMs?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** A Python error on the board: its traceback. */
export class BoardError extends Error {
  constructor(readonly traceback: string) {
    super(lastLine(traceback));
    this.name = 'BoardError';
  }
}

/** The operation was interrupted (Ctrl-C, or a newer run) before it ran its code. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
    this.name = 'InterruptedError';
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split(/\r?\n/);
  return lines[lines.length - 1] || 'error on the board';
}

/**
 * A raw REPL session: enter() takes the board's output and interrupts what runs, exec() runs code,
 * exit() goes back to the friendly REPL and gives the output back to the terminal.
 */
export class RawRepl {
  private readonly reader: OutputReader;
  private pasteSupported: boolean | null;
  private interrupted = false;

  /**
   * With `rawPaste` false the code goes through the plain raw REPL, paced. A connection straight to a board needs
   * that: raw-paste's answer carries its window size as two raw bytes in a text frame (ESP8266: 0x80 0x00), which
   * is not UTF-8, and a browser closes the WebSocket on it. Through the gateway text arrives as valid UTF-8.
   */
  constructor(
    private readonly connection: WebReplConnection,
    rawPaste = true,
  ) {
    this.reader = new OutputReader(connection);
    this.pasteSupported = rawPaste ? null : false;
  }

  /**
   * Stops what runs (Ctrl-C) and enters the raw REPL (Ctrl-A); resolves at its prompt. Without the prompt within
   * RawEnterRetryMs, sends both again (the Ctrl-A was lost: it came while an interrupted program unwound, or a
   * program reading its input took it), until PromptTimeoutMs. After such a retry the board may still print a
   * banner for each Ctrl-A it got, later: the output is then synchronised, so that no late banner is read as the
   * answer to what comes next. The first Ctrl-A answered costs nothing more. (As the library's RawRepl.EnterAsync.)
   */
  async enter(): Promise<void> {
    const deadline = Date.now() + PromptTimeoutMs;
    let retried = false;
    for (;;) {
      // One message: a gateway then knows of the Ctrl-A before the board answers the Ctrl-C, and keeps the prompts
      // it prints for it from the session's other clients.
      this.connection.sendText(EnterRaw);
      const attemptEnds = Math.min(deadline, Date.now() + RawEnterRetryMs);
      try {
        // (At least 1 ms: readUntil takes 0 for no limit.)
        await this.reader.readUntil(RawBanner, Math.max(1, attemptEnds - Date.now()), 'the raw REPL prompt (is a program ignoring Ctrl-C?)');
        break;
      } catch (error) {
        // What has arrived stays in the reader (part of a banner, perhaps); a timeout loses no output.
        if (!(error instanceof TimeoutError) || Date.now() >= deadline) {
          throw error;
        }
        retried = true;
      }
    }
    if (retried) {
      await this.synchronise();
    }
  }

  /**
   * After a retried entry: runs a line that prints a marker of its own, and reads up to the marker's end. The board
   * takes its input in order, so every banner still owed for an earlier Ctrl-A comes before it and is dropped with
   * it. Uses the plain raw REPL, which every firmware has; the raw REPL does not echo, so only the output matches.
   */
  private async synchronise(): Promise<void> {
    const marker = `webrepl-sync-${Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0')}`;
    this.connection.sendText(`print('${marker}', end='')\x04`);
    await this.reader.readUntil(`OK${marker}\x04\x04>`, PromptTimeoutMs, 'the raw REPL prompt');
  }

  /** Runs `code`; resolves when it has finished, with its output. */
  async exec(code: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (this.interrupted) {
      throw new InterruptedError();
    }
    if (this.pasteSupported !== false) {
      this.connection.sendText('\x05A\x01');
      const answer = await this.reader.readChars(2, PromptTimeoutMs, 'the raw-paste answer');
      if (answer === 'R\x01') {
        this.pasteSupported = true;
        await this.sendPaced(code);
      } else {
        // R\x00 (raw-paste not built in), then the prompt; or firmware older than raw-paste, which took the bytes
        // into its line and restarted its raw REPL for the Ctrl-A: its banner, whose first two characters were read.
        // Either way the raw REPL's prompt ends the answer, with an empty line.
        this.pasteSupported = false;
        await this.reader.readUntil('>', PromptTimeoutMs, 'the raw REPL prompt');
        await this.sendUnpaced(code);
      }
    } else {
      await this.sendUnpaced(code);
    }

    if (this.interrupted) {
      this.connection.sendText('\x03'); // an interrupt that came while the code was on its way
    }
    const timeout = options.timeoutMs ?? 0;
    const stdout = await this.reader.readUntil('\x04', timeout, 'the program to finish', options.onStdout);
    const stderr = await this.reader.readUntil('\x04', timeout, 'the error output', options.onStderr);
    await this.reader.readUntil('>', PromptTimeoutMs, 'the raw REPL prompt');
    return { stdout, stderr };
  }

  /** Runs `code` and returns its output; a traceback becomes a BoardError. */
  async eval(code: string): Promise<string> {
    const result = await this.exec(code, { timeoutMs: 30000 });
    if (result.stderr) {
      throw new BoardError(result.stderr);
    }
    return result.stdout;
  }

  /**
   * Interrupts the running program (its KeyboardInterrupt comes as error output). An interrupt before the
   * program runs stops it as soon as it starts, and the session runs no more code.
   */
  interrupt(): void {
    this.interrupted = true;
    this.connection.sendText('\x03');
  }

  /** Back to the friendly REPL (Ctrl-B); resolves at its prompt and gives the output back. */
  async exit(): Promise<void> {
    try {
      if (this.connection.isOpen) {
        this.connection.sendText('\r\x02');
        await this.reader.readUntil('>>> ', PromptTimeoutMs, 'the friendly REPL prompt');
      }
    } finally {
      this.reader.dispose();
    }
  }

  /** Gives the output back without leaving the raw REPL (the connection is gone). */
  dispose(): void {
    this.reader.dispose();
  }

  /** Raw-paste: the board grants a window of bytes, and one more window for each \x01 it sends. */
  private async sendPaced(code: string): Promise<void> {
    const header = await this.reader.readChars(2, PromptTimeoutMs, 'the raw-paste window size');
    const window = windowSize(header);
    let allowed = window;
    const pieces = splitByBytes(code, window);
    for (const piece of pieces) {
      while (allowed < piece.bytes) {
        const granted = await this.waitForGrant();
        if (granted < 0) {
          // The board read no further (a syntax error, an interrupt) and said so with \x04: end the paste, which
          // it waits for; its output (the error) follows as usual.
          this.connection.sendText('\x04');
          return;
        }
        allowed += granted * window;
      }
      this.connection.sendText(piece.text);
      allowed -= piece.bytes;
    }
    this.connection.sendText('\x04');
    // Grants may still come before the board's \x04, which says it has the whole program.
    await this.reader.readUntil('\x04', PromptTimeoutMs, 'the board to take the code');
  }

  /**
   * Waits for flow-control characters: the number of \x01 grants, or -1 when the board sent \x04 (what follows
   * the \x04 is its output, and stays in the reader).
   */
  private async waitForGrant(): Promise<number> {
    for (;;) {
      const text = this.reader.take();
      const end = text.indexOf('\x04');
      if (end >= 0) {
        this.reader.putBack(text.slice(end + 1));
        return -1;
      }
      const grants = text.split('\x01').length - 1;
      if (grants > 0) {
        return grants;
      }
      await this.reader.waitForText(Date.now() + PromptTimeoutMs, 'the board to ask for more code');
    }
  }

  /** Plain raw REPL (no raw-paste): pieces paced for the board's input buffer (pacing.ts). */
  private async sendUnpaced(code: string): Promise<void> {
    for (const piece of splitByBytes(code, RawReplPieceBytes)) {
      this.connection.sendText(piece.text);
      await new Promise((resolve) => setTimeout(resolve, RawReplPauseMs));
    }
    this.connection.sendText('\x04');
    const ok = await this.reader.readChars(2, PromptTimeoutMs, 'the board to take the code');
    if (ok !== 'OK') {
      throw new Error(`the raw REPL answered ${JSON.stringify(ok)} instead of OK`);
    }
  }
}

/**
 * The window size from raw-paste's two bytes (u16, little-endian). Through a relay that keeps text valid
 * UTF-8 a byte above 0x7F arrives as U+FFFD: then take the smallest value it can stand for, since sending
 * less than the window is always allowed.
 */
export function windowSize(header: string): number {
  const low = header.charCodeAt(0);
  const high = header.charCodeAt(1);
  const lowByte = low <= 0xff ? low : 0x80;
  const highByte = high <= 0x7f ? high : 0;
  return Math.max(lowByte | (highByte << 8), 32);
}

/** Splits text into pieces of at most `maxBytes` bytes of UTF-8, never inside a character. */
export function splitByBytes(text: string, maxBytes: number): { text: string; bytes: number }[] {
  const pieces: { text: string; bytes: number }[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes && current) {
      pieces.push({ text: current, bytes });
      current = '';
      bytes = 0;
    }
    current += ch;
    bytes += size;
  }
  if (current) {
    pieces.push({ text: current, bytes });
  }
  return pieces;
}
