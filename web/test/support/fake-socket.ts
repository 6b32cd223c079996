// A stand-in for the browser's WebSocket, for WebReplConnection in Node.js 20 (which has no WebSocket client): what
// the page sends goes to a scripted board, what the board sends comes back as message events. Both directions are
// asynchronous and in order, as over a network. The board's text is bytes, decoded as the gateway does for a
// browser (valid UTF-8, a character split across frames joined: utf8.test.ts checks that TextDecoder's streaming
// decode gives the gateway's Utf8Sanitizer vectors).
import { WebReplConnection } from '../../src/connection';

export interface ScriptedBoard {
  /** The connection is open. */
  opened?(peer: BoardPeer): void;
  /** A text message from the page, as the UTF-8 bytes a board reads. */
  text?(peer: BoardPeer, bytes: Uint8Array): void;
  /** A binary message from the page. */
  binary?(peer: BoardPeer, bytes: Uint8Array): void;
}

/** The board's end: what it sends arrives at the page after the current turn. */
export class BoardPeer {
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  /** Every message the page sent, in order: text as a string, binary as bytes. */
  readonly received: (string | Uint8Array)[] = [];

  constructor(private readonly socket: FakeWebSocket) {}

  /** Board output bytes, passed on as one text message of valid UTF-8. */
  sendBytes(bytes: Uint8Array): void {
    const text = this.decoder.decode(bytes, { stream: true });
    this.socket.deliver({ data: text });
  }

  sendText(text: string): void {
    this.sendBytes(new TextEncoder().encode(text));
  }

  sendBinary(bytes: Uint8Array): void {
    const copy = bytes.slice();
    this.socket.deliver({ data: copy.buffer });
  }

  /** The board closes the connection (or it drops). */
  close(code = 1000, reason = ''): void {
    this.socket.closeFromBoard(code, reason);
  }

  get isOpen(): boolean {
    return this.socket.readyState === FakeWebSocket.OPEN;
  }
}

const boards = new Map<string, ScriptedBoard>();
let connections = 0;

export class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  readyState = FakeWebSocket.CONNECTING;
  binaryType = 'blob';
  bufferedAmount = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  private readonly board: ScriptedBoard;
  readonly peer: BoardPeer;

  constructor(url: string) {
    const board = boards.get(url);
    if (!board) {
      throw new Error(`no scripted board at ${url}`);
    }
    this.board = board;
    this.peer = new BoardPeer(this);
    setImmediate(() => {
      this.readyState = FakeWebSocket.OPEN;
      this.onopen?.({});
      this.board.opened?.(this.peer);
    });
  }

  send(data: string | Uint8Array): void {
    if (this.readyState !== FakeWebSocket.OPEN) {
      throw new Error('send on a WebSocket that is not open');
    }
    const message = typeof data === 'string' ? data : data.slice();
    this.peer.received.push(message);
    setImmediate(() => {
      if (this.readyState !== FakeWebSocket.OPEN) {
        return;
      }
      if (typeof message === 'string') {
        this.board.text?.(this.peer, new TextEncoder().encode(message));
      } else {
        this.board.binary?.(this.peer, message);
      }
    });
  }

  close(code = 1000, reason = ''): void {
    this.closeFromBoard(code, reason);
  }

  deliver(event: { data: unknown }): void {
    setImmediate(() => {
      if (this.readyState === FakeWebSocket.OPEN) {
        this.onmessage?.(event);
      }
    });
  }

  closeFromBoard(code: number, reason: string): void {
    if (this.readyState === FakeWebSocket.CLOSED) {
      return;
    }
    this.readyState = FakeWebSocket.CLOSED;
    setImmediate(() => this.onclose?.({ code, reason }));
  }
}

/** Opens a WebReplConnection to `board` through the stand-in socket. */
export function connect(board: ScriptedBoard): Promise<WebReplConnection> {
  (globalThis as { WebSocket?: unknown }).WebSocket = FakeWebSocket;
  const url = `ws://board-${++connections}.test/`;
  boards.set(url, board);
  return WebReplConnection.open(url);
}
