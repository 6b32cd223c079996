// Reads a connection's text output as a stream with markers, for the raw REPL's exchanges.

import { ConnectionClosedError, TimeoutError, WebReplConnection } from './connection';

export class OutputReader {
  private buffer = '';
  private wake: (() => void) | null = null;
  private readonly release: () => void;
  private closed = false;

  /** Takes the connection's output until dispose(). */
  constructor(private readonly connection: WebReplConnection) {
    this.release = connection.pushSink((text) => {
      this.buffer += text;
      this.wake?.();
    });
    connection.onClose(() => {
      this.closed = true;
      this.wake?.();
    });
  }

  dispose(): void {
    this.release();
  }

  /** Forgets what was read so far. */
  clear(): void {
    this.buffer = '';
  }

  /**
   * Reads up to and including `marker`; returns the text before it. With `onText`, text before the marker is
   * handed over as it arrives (and not returned), so that a long-running program's output streams.
   */
  async readUntil(marker: string, timeoutMs: number, what: string, onText?: (text: string) => void): Promise<string> {
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    let collected = '';
    for (;;) {
      const at = this.buffer.indexOf(marker);
      if (at >= 0) {
        const before = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + marker.length);
        if (onText) {
          if (before) onText(before);
          return '';
        }
        return collected + before;
      }
      // Keep what could be the start of the marker; hand over or collect the rest.
      const keep = Math.min(this.buffer.length, marker.length - 1);
      const ready = this.buffer.slice(0, this.buffer.length - keep);
      this.buffer = this.buffer.slice(this.buffer.length - keep);
      if (ready) {
        if (onText) onText(ready);
        else collected += ready;
      }
      if (this.closed) {
        throw new ConnectionClosedError(this.connection.closed ?? { code: 1006, reason: '', byUser: false });
      }
      await this.waitForText(deadline, what);
    }
  }

  /** Reads exactly `count` characters. */
  async readChars(count: number, timeoutMs: number, what: string): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length < count) {
      if (this.closed) {
        throw new ConnectionClosedError(this.connection.closed ?? { code: 1006, reason: '', byUser: false });
      }
      await this.waitForText(deadline, what);
    }
    const text = this.buffer.slice(0, count);
    this.buffer = this.buffer.slice(count);
    return text;
  }

  /** Takes whatever has arrived (for flow-control characters during a send). */
  take(): string {
    const text = this.buffer;
    this.buffer = '';
    return text;
  }

  /** Puts text taken too early back in front of what has arrived since. */
  putBack(text: string): void {
    this.buffer = text + this.buffer;
  }

  /** Resolves at the next output (or close); rejects at the deadline. */
  waitForText(deadline: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        reject(new TimeoutError(what));
        return;
      }
      const timer = Number.isFinite(remaining)
        ? setTimeout(() => {
            this.wake = null;
            reject(new TimeoutError(what));
          }, remaining)
        : undefined;
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }
}
