// The xterm.js terminal as both pages use it: sized to its element, text readable for tests.

import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';

export interface PageTerminal {
  terminal: Terminal;
  fit(): void;
  /** The terminal's text (scrollback included), lines joined with \n. */
  text(): string;
}

export function createTerminal(element: HTMLElement, onPaste: (text: string) => void): PageTerminal {
  const terminal = new Terminal({
    cursorBlink: true,
    scrollback: 5000,
    convertEol: false,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: 14,
    // At 1x pixel density a cell exactly one line of the font tall cuts off what sits at the bottom of the glyph
    // box: '_' vanished (hello_world.py read as "hello world.py"). A taller line gives it room; ratio, not pixels,
    // so that it holds for every font size.
    lineHeight: 1.2,
    theme: { background: '#101418' },
  });
  const fitAddon = new FitAddon();
  terminal.loadAddon(fitAddon);
  terminal.open(element);
  // Pastes are paced by the page (the board's input buffer is small): take them before xterm sends them whole.
  element.addEventListener(
    'paste',
    (event) => {
      const text = event.clipboardData?.getData('text/plain');
      event.preventDefault();
      event.stopImmediatePropagation();
      if (text) {
        onPaste(text);
      }
    },
    true,
  );
  const fit = () => {
    try {
      fitAddon.fit();
    } catch {
      // not laid out yet
    }
  };
  new ResizeObserver(fit).observe(element);
  window.addEventListener('resize', fit);
  fit();
  return {
    terminal,
    fit,
    text() {
      const buffer = terminal.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < buffer.length; i++) {
        const line = buffer.getLine(i);
        if (!line) continue;
        if (line.isWrapped && lines.length > 0) {
          lines[lines.length - 1] += line.translateToString(true);
        } else {
          lines.push(line.translateToString(true));
        }
      }
      return lines.join('\n');
    },
  };
}

/** A note from the page (not the board) in the terminal: dim, on its own line. */
export function note(text: string, color = '2'): string {
  return `\r\n\x1b[${color}m${text.replace(/\n/g, '\r\n')}\x1b[0m\r\n`;
}

/** Starts a download of `data` named `name` through the browser. */
export function saveBytes(name: string, data: Uint8Array): void {
  const blob = new Blob([data as BlobPart], { type: 'application/octet-stream' });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name.split('/').pop() || 'download';
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) {
    throw new Error(`#${id} is missing from the page`);
  }
  return element as T;
}
