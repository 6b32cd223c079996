// One WebSocket to a board (directly or through the gateway): text frames are the terminal, binary frames
// are file-transfer replies. Output goes to one sink at a time: the terminal, or an operation (raw REPL,
// transfer) that has taken it for its duration.
//
// A browser closes a WebSocket whose text message is not valid UTF-8, and a board's text frames are raw bytes
// (a character can be split across two frames; a program can print b'\xff'). Through the gateway, which sends
// browsers valid UTF-8 (joining split characters, U+FFFD for invalid bytes), the page keeps its connection
// whatever the board prints; a direct ws:// connection to a board cannot be protected from the browser.

export type TextSink = (text: string) => void;

export interface CloseInfo {
  code: number;
  reason: string;
  /** True when this side asked to close. */
  byUser: boolean;
}

/** Thrown by waits when the connection closes under them. */
export class ConnectionClosedError extends Error {
  constructor(info: CloseInfo) {
    super(`the connection closed (${describeClose(info)})`);
    this.name = 'ConnectionClosedError';
  }
}

export class TimeoutError extends Error {
  constructor(what: string) {
    super(`timed out waiting for ${what}`);
    this.name = 'TimeoutError';
  }
}

/**
 * True when the URL goes through a WebREPL gateway (`/boards/NAME`, or `/ws://BOARD:PORT` after the gateway's
 * address); otherwise it is taken to be a board's own address (the firmware ignores the path).
 */
export function isGatewayUrl(url: string): boolean {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url).pathname);
  } catch {
    return false;
  }
  return /\/boards\/[^/]+\/?$/i.test(path) || /\/wss?:\/\/?[^/]/i.test(path);
}

/**
 * Why a connection straight to a board dropped, as a user reads it. A browser closes a WebSocket whose text is
 * not valid UTF-8 and tells the page only "1006", as for a board that was reset or went away: name both.
 */
export const DirectDropText =
  'the connection dropped: the board printed bytes that are not valid UTF-8 (a browser closes a direct connection on those), ' +
  'or it was reset or went out of reach. To keep the connection whatever the board prints, connect through the WebREPL gateway ' +
  '(webrepl gateway), which passes such bytes on as \uFFFD';

/** Words for a close code, as a user reads them. */
export function describeClose(info: CloseInfo): string {
  if (info.byUser) {
    return 'disconnected';
  }
  const reason = info.reason ? `: ${info.reason}` : '';
  switch (info.code) {
    case 1000:
      return `closed by the board${reason}`;
    case 1001:
      return `the other side is going away${reason}`;
    case 1006:
      return 'the connection dropped (board unreachable, wrong password, or the board was reset)';
    case 1008:
      return `refused${reason}`;
    case 1013:
      return `try again later${reason}`;
    default:
      return `code ${info.code}${reason}`;
  }
}

export class WebReplConnection {
  private readonly socket: WebSocket;
  private readonly binaryQueue: Uint8Array[] = [];
  private binaryWaiter: ((frame: Uint8Array | null) => void) | null = null;
  private sinks: TextSink[] = [];
  private readonly closeHandlers: ((info: CloseInfo) => void)[] = [];
  private closeInfo: CloseInfo | null = null;
  private closingByUser = false;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onmessage = (event) => this.onMessage(event);
    socket.onclose = (event) => this.handleClose(event.code, event.reason);
  }

  /** Opens the WebSocket; resolves when it is open, rejects when it cannot be. */
  static open(url: string, timeoutMs = 15000): Promise<WebReplConnection> {
    return new Promise((resolve, reject) => {
      let socket: WebSocket;
      try {
        socket = new WebSocket(url);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      const timer = setTimeout(() => {
        socket.close();
        reject(new TimeoutError(`${url} to open`));
      }, timeoutMs);
      socket.onopen = () => {
        clearTimeout(timer);
        resolve(new WebReplConnection(socket));
      };
      socket.onclose = (event) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${url}: ${describeClose({ code: event.code, reason: event.reason, byUser: false })}`));
      };
    });
  }

  get isOpen(): boolean {
    return this.closeInfo === null && this.socket.readyState === WebSocket.OPEN;
  }

  get closed(): CloseInfo | null {
    return this.closeInfo;
  }

  /** Where text output goes; the latest pushed sink gets it. Returns a function that removes the sink. */
  pushSink(sink: TextSink): () => void {
    this.sinks.push(sink);
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
    };
  }

  onClose(handler: (info: CloseInfo) => void): void {
    this.closeHandlers.push(handler);
  }

  sendText(text: string): void {
    if (this.isOpen && text.length > 0) {
      this.socket.send(text);
    }
  }

  sendBytes(bytes: Uint8Array): void {
    this.ensureOpen();
    this.socket.send(bytes);
  }

  /** Bytes of text the socket has not yet handed to the network (for pacing large sends). */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /** The next binary frame, in order. */
  nextBinary(timeoutMs: number, what: string): Promise<Uint8Array> {
    this.ensureOpen();
    const queued = this.binaryQueue.shift();
    if (queued) {
      return Promise.resolve(queued);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.binaryWaiter = null;
        reject(new TimeoutError(what));
      }, timeoutMs);
      this.binaryWaiter = (frame) => {
        clearTimeout(timer);
        this.binaryWaiter = null;
        if (frame) {
          resolve(frame);
        } else {
          reject(new ConnectionClosedError(this.closeInfo!));
        }
      };
    });
  }

  /** Drops binary frames nobody asked for (a reply that came after its wait timed out). */
  discardBinary(): void {
    this.binaryQueue.length = 0;
  }

  close(): void {
    this.closingByUser = true;
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(1000);
    }
  }

  private ensureOpen(): void {
    if (this.closeInfo) {
      throw new ConnectionClosedError(this.closeInfo);
    }
  }

  private onMessage(event: MessageEvent): void {
    if (typeof event.data === 'string') {
      this.deliver(event.data);
      return;
    }
    const frame = new Uint8Array(event.data as ArrayBuffer);
    if (this.binaryWaiter) {
      this.binaryWaiter(frame);
    } else {
      this.binaryQueue.push(frame);
    }
  }

  private deliver(text: string): void {
    if (text.length === 0) {
      return;
    }
    const sink = this.sinks[this.sinks.length - 1];
    sink?.(text);
  }

  private handleClose(code: number, reason: string): void {
    if (this.closeInfo) {
      return;
    }
    this.closeInfo = { code, reason, byUser: this.closingByUser };
    this.binaryWaiter?.(null);
    for (const handler of this.closeHandlers) {
      handler(this.closeInfo);
    }
  }
}
