// A board session as both pages use it: the connection, login state, typing and pacing, and operations
// (transfers, raw REPL) run one at a time with the terminal's output handed back after each.

import { CloseInfo, describeClose, DirectDropText, isGatewayUrl, WebReplConnection } from './connection';
import { checkName, pythonBytes, pythonString, toTerminalInput } from './protocol';
import { EchoPieceBytes, EchoStallMs, EchoWindowBytes } from './pacing';
import { BoardError, ExecOptions, ExecResult, RawRepl, splitByBytes } from './rawrepl';
import { getFile, getVersion, Progress, putFile } from './transfer';

export type BoardState = 'disconnected' | 'connecting' | 'login' | 'connected';

export interface BoardEvents {
  /** Terminal output (the board's, and the page's own notes). */
  output(text: string): void;
  state(state: BoardState, detail: string): void;
  version?(version: string): void;
}

export interface Entry {
  name: string;
  isDir: boolean;
  size: number;
}

/** How long a paste through paste mode waits for the prompt after its Ctrl-D (the pasted code compiles and runs). */
const PasteRunWaitMs = 2000;
const PasteModeBanner = '\r\n=== ';

const utf8 = new TextEncoder();

export class Board {
  private connection: WebReplConnection | null = null;
  private tail = '';
  private operations: Promise<unknown> = Promise.resolve();
  private activeRepl: RawRepl | null = null;
  private denied = false;
  private echo = { bytes: 0, returns: 0 };
  private echoWaiters: (() => void)[] = [];
  private watched: string | null = null;
  private held = '';
  /** Straight to a board, not through a gateway: text frames carry the board's raw bytes. */
  private direct = false;
  state: BoardState = 'disconnected';
  version: string | null = null;

  constructor(private readonly events: BoardEvents) {}

  get isConnected(): boolean {
    return this.connection?.isOpen ?? false;
  }

  /** True when the friendly REPL waits at its prompt (nothing runs). */
  get atPrompt(): boolean {
    return this.tail.endsWith('>>> ');
  }

  get busy(): boolean {
    return this.activeRepl !== null;
  }

  async connect(url: string): Promise<void> {
    this.disconnect();
    this.setState('connecting', url);
    this.denied = false;
    this.version = null;
    this.tail = '';
    let connection: WebReplConnection;
    try {
      connection = await WebReplConnection.open(url);
    } catch (error) {
      this.setState('disconnected', errorText(error));
      throw error;
    }
    this.connection = connection;
    this.direct = !isGatewayUrl(url);
    this.setState('login', 'type the password at the prompt');
    connection.pushSink((text) => this.onOutput(text));
    connection.onClose((info) => this.onClosed(connection, info));
  }

  disconnect(): void {
    this.connection?.close();
  }

  /**
   * Keys typed in the terminal. While an operation runs, Ctrl-C interrupts its program and other keys wait
   * until the terminal is back (they would otherwise land in the raw REPL).
   */
  keys(data: string): void {
    if (!this.connection) {
      return;
    }
    if (this.activeRepl) {
      if (data.includes('\x03')) {
        this.held = '';
        this.activeRepl.interrupt();
      } else {
        this.held += data;
      }
      return;
    }
    if (data.length > 1 && /[\r\n]/.test(data) && data !== '\r') {
      void this.paste(data);
      return;
    }
    this.connection.sendText(data);
  }

  /**
   * Pasted text: line feeds become carriage returns, and the text goes out no faster than the board echoes it,
   * so that its input buffer (about 256 bytes on ESP32/ESP8266) drops nothing. Several lines at the prompt go
   * through paste mode (Ctrl-E), so that the REPL's auto-indent does not garble indented code.
   *
   * A paste is an operation like a transfer or a raw REPL run: it waits for the one under way, and the next waits
   * for it (an Edrys run arriving mid-paste would otherwise enter the raw REPL with the rest of the paste still to
   * come, which would land in its raw-paste). A paste through paste mode ends when its code is back at the prompt,
   * or after PasteRunWaitMs if the code goes on running (the next operation then interrupts it, as it would anyway).
   */
  async paste(text: string): Promise<void> {
    const input = toTerminalInput(text);
    try {
      await this.run(async (connection) => {
        const multiLine = input.replace(/\r+$/, '').includes('\r');
        if (multiLine && this.atPrompt) {
          const banner = this.waitForOutput((t) => t.includes(PasteModeBanner));
          connection.sendText('\x05');
          await banner;
          await this.sendPaced(connection, input.replace(/\r+$/, ''));
          const prompt = this.waitForOutput((t) => t.includes('>>> '), PasteRunWaitMs);
          connection.sendText('\x04');
          await prompt;
        } else {
          await this.sendPaced(connection, input);
        }
      });
    } catch {
      // not connected (any more): nothing to paste into
    }
  }

  /** Interrupts the program that an operation runs (Ctrl-C in the raw REPL). */
  interrupt(): void {
    this.activeRepl?.interrupt();
  }

  /** Runs an operation alone; the terminal's output comes back after it. */
  run<T>(operation: (connection: WebReplConnection) => Promise<T>): Promise<T> {
    const result = this.operations.then(() => {
      const connection = this.connection;
      if (!connection?.isOpen) {
        throw new Error('not connected');
      }
      return operation(connection);
    });
    this.operations = result.catch(() => undefined);
    return result;
  }

  /** Runs `work` in the raw REPL (interrupting what runs), then goes back to the friendly REPL. */
  withRawRepl<T>(work: (repl: RawRepl) => Promise<T>): Promise<T> {
    return this.run(async (connection) => {
      const repl = new RawRepl(connection, !this.direct);
      this.activeRepl = repl;
      try {
        await repl.enter();
        const result = await work(repl);
        await repl.exit();
        this.tail = '>>> ';
        return result;
      } catch (error) {
        repl.dispose();
        if (connection.isOpen) {
          connection.sendText('\r\x02'); // leave the raw REPL whatever happened
        }
        throw error;
      } finally {
        this.activeRepl = null;
        const held = this.held;
        this.held = '';
        if (held) {
          queueMicrotask(() => this.keys(held));
        }
      }
    });
  }

  /** Writes files (text or bytes) and runs code, with its output streamed (the Edrys execute topic). */
  execute(files: Record<string, string | Uint8Array>, code: string, options: ExecOptions & { onStart?: () => void }): Promise<ExecResult> {
    return this.withRawRepl(async (repl) => {
      options.onStart?.();
      for (const [name, content] of Object.entries(files)) {
        await writeFileByRepl(repl, name, typeof content === 'string' ? utf8.encode(content) : content);
      }
      return repl.exec(code, options);
    });
  }

  putFile(name: string, data: Uint8Array, progress?: Progress): Promise<void> {
    const problem = checkName(name);
    if (problem) {
      return Promise.reject(new Error(problem));
    }
    return this.run((connection) => putFile(connection, name, data, progress));
  }

  /**
   * Reads the board's file. With its size (`size`, or else a stat through the REPL when it is idle: see fileSize)
   * the GET is pipelined; without, it waits for each chunk (see transfer.ts).
   */
  async getFile(name: string, progress?: Progress, size?: number | null): Promise<Uint8Array> {
    const problem = checkName(name);
    if (problem) {
      throw new Error(problem);
    }
    if (size === undefined && this.atPrompt && !this.busy) {
      size = await this.fileSize(name);
      if (size === null) {
        throw new Error(`the board has no file ${name}`);
      }
    }
    const known = size ?? undefined;
    return this.run((connection) => getFile(connection, name, progress, known));
  }

  /** The folder's entries (through the raw REPL). */
  list(folder: string): Promise<Entry[]> {
    const code =
      `import os\nF=${pythonString(folder || '/')}\n` +
      'for e in os.ilistdir(F):\n' +
      " n=e[0];p=(F.rstrip('/') or '')+'/'+n\n" +
      ' try:\n  s=os.stat(p);d=s[0]&0x4000;z=s[6]\n except OSError:\n  d=e[1]==0x4000;z=0\n' +
      " print('D' if d else 'F',z,repr(n))\n";
    return this.withRawRepl(async (repl) => parseListing(await repl.eval(code)));
  }

  remove(path: string, isDir: boolean): Promise<void> {
    const call = isDir ? 'rmdir' : 'remove';
    return this.withRawRepl(async (repl) => {
      await repl.eval(`import os\nos.${call}(${pythonString(path)})\n`);
    });
  }

  /** Creates the folder (and its parents) when missing. */
  makeFolder(folder: string): Promise<void> {
    const code =
      `import os\np=''\nfor part in ${pythonString(folder)}.split('/'):\n` +
      " if not part: continue\n p+='/'+part\n try:\n  os.mkdir(p)\n except OSError:\n  pass\n";
    return this.withRawRepl(async (repl) => {
      await repl.eval(code);
    });
  }

  /** True when the board has the file (checked through the REPL: a GET of a missing file can drop the session). */
  async exists(path: string): Promise<boolean> {
    return (await this.fileSize(path)) !== null;
  }

  /**
   * The size of the board's file (through the raw REPL), or null when there is none. A folder is an error: a GET
   * of one drops the session.
   */
  fileSize(path: string): Promise<number | null> {
    const code = `import os\ntry:\n s=os.stat(${pythonString(path)});print('D' if s[0]&0x4000 else s[6])\nexcept OSError:\n print('N')\n`;
    return this.withRawRepl(async (repl) => {
      const out = (await repl.eval(code)).trim();
      if (out === 'N') {
        return null;
      }
      if (out === 'D') {
        throw new Error(`${path} is a folder`);
      }
      const size = Number(out);
      if (!/^\d+$/.test(out) || !Number.isSafeInteger(size)) {
        throw new Error(`unexpected answer to the size of ${path}: ${JSON.stringify(out.slice(0, 40))}`);
      }
      return size;
    });
  }

  private async sendPaced(connection: WebReplConnection, input: string): Promise<void> {
    const sentAt = { bytes: this.echo.bytes, returns: this.echo.returns };
    let sent = 0;
    for (const piece of splitByBytes(input, EchoPieceBytes)) {
      // The board echoes every byte it takes (a carriage return in paste mode as "\r\n=== ": 6 bytes for 1).
      const acked = () => this.echo.bytes - sentAt.bytes - 5 * (this.echo.returns - sentAt.returns);
      while (sent - acked() + piece.bytes > EchoWindowBytes) {
        const progressed = await this.waitForEcho(EchoStallMs);
        if (!progressed) {
          break; // no echo: go on rather than hang
        }
      }
      if (!connection.isOpen) {
        return;
      }
      connection.sendText(piece.text);
      sent += piece.bytes;
    }
  }

  private waitForEcho(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.echoWaiters = this.echoWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.echoWaiters.push(waiter);
    });
  }

  /** Waits until the output since the call passes `test`, or stalls, or `limitMs` has passed. */
  private async waitForOutput(test: (text: string) => boolean, limitMs = Infinity): Promise<void> {
    this.watched = '';
    const deadline = performance.now() + limitMs;
    try {
      while (!test(this.watched)) {
        const wait = Math.min(EchoStallMs, deadline - performance.now());
        if (wait <= 0 || !(await this.waitForEcho(wait))) {
          return;
        }
      }
    } finally {
      this.watched = null;
    }
  }

  private onOutput(text: string): void {
    this.tail = (this.tail + text).slice(-32);
    this.echo.bytes += utf8.encode(text).length;
    this.echo.returns += text.split('\r').length - 1;
    if (this.watched !== null) {
      this.watched += text;
    }
    const waiters = this.echoWaiters;
    this.echoWaiters = [];
    for (const waiter of waiters) waiter();
    this.events.output(text);
    if (this.state === 'login') {
      if (text.includes('WebREPL connected') || this.tail.includes('WebREPL connected')) {
        this.setState('connected', '');
        void this.run(getVersion)
          .then((version) => {
            this.version = version;
            this.events.version?.(version);
          })
          .catch(() => undefined);
      } else if (this.tail.includes('Access denied')) {
        this.denied = true;
      }
    }
  }

  private onClosed(connection: WebReplConnection, info: CloseInfo): void {
    if (this.connection !== connection) {
      return;
    }
    this.connection = null;
    this.activeRepl = null;
    // No reason for a close the user asked for: "Disconnected: disconnected" said nothing.
    const reason = this.denied
      ? 'wrong password (Access denied)'
      : info.byUser
        ? ''
        : this.direct && info.code === 1006 && this.state === 'connected'
          ? DirectDropText
          : describeClose(info);
    this.setState('disconnected', reason);
  }

  private setState(state: BoardState, detail: string): void {
    this.state = state;
    this.events.state(state, detail);
  }
}

/** Writes a file through the raw REPL, in pieces that each fit the board's memory easily. */
async function writeFileByRepl(repl: RawRepl, name: string, data: Uint8Array): Promise<void> {
  const problem = checkName(name);
  if (problem) {
    throw new Error(problem);
  }
  await repl.eval(`f=open(${pythonString(name)},'wb')\n`);
  try {
    for (let at = 0; at < data.length; at += 2048) {
      await repl.eval(`f.write(${pythonBytes(data.subarray(at, at + 2048))})\n`);
    }
  } finally {
    await repl.eval('f.close()\ndel f\n');
  }
}

/** Parses the listing printed by list(): `D|F size 'name'` per line. */
export function parseListing(text: string): Entry[] {
  const entries: Entry[] = [];
  for (const line of text.split(/\r?\n/)) {
    const match = /^([DF]) (\d+) (['"])(.*)\3$/.exec(line.trim());
    if (match) {
      entries.push({ name: unrepr(match[4]), isDir: match[1] === 'D', size: Number(match[2]) });
    }
  }
  return entries.sort((a, b) => Number(b.isDir) - Number(a.isDir) || a.name.localeCompare(b.name));
}

function unrepr(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_, esc: string) => {
    switch (esc[0]) {
      case 'x':
      case 'u':
      case 'U':
        return String.fromCodePoint(parseInt(esc.slice(1), 16));
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      default:
        return esc;
    }
  });
}

export function errorText(error: unknown): string {
  if (error instanceof BoardError) {
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
