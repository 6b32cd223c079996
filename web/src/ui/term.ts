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

// Characters that must not reach a saved file's name: control characters, '\\' (a folder separator on
// Windows), and the ones that reorder text on screen.
const UNSAFE_NAME_CHARS = /[\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The name to save a board file as: the last part of its board path, which the board (or whoever relays it)
 * chose. A part that is empty, '.' or '..', or holds '\\' or control characters is not used as it is: unsafe
 * characters become '_', and a name that is only dots becomes 'download'. `changed` says why, when it was.
 */
export function downloadName(path: string): { name: string; changed: string | null } {
  const last = path.split('/').pop() ?? '';
  let name = last.replace(UNSAFE_NAME_CHARS, '_');
  if (/^\.*$/.test(name)) name = 'download';
  if (name === last) return { name, changed: null };
  const why = last === '' || /^\.*$/.test(last) ? `it is "${last}"` : 'it contains \'\\\' or control characters';
  return { name, changed: `saved as "${name}": the board's name ${JSON.stringify(last)} is not safe as a file name (${why})` };
}

/**
 * Starts a download of `data`, named after the board path `path` (see `downloadName`). Returns a note for the
 * user when the name had to be changed, else null.
 */
export function saveBytes(path: string, data: Uint8Array): string | null {
  const { name, changed } = downloadName(path);
  const blob = new Blob([data as BlobPart], { type: 'application/octet-stream' });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  return changed;
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
