// The WebREPL binary protocol (docs/protocol.md): the 82-byte request record and the board's replies.
// Pure functions over bytes: no I/O, so that the codec is tested on its own.

export const enum Op {
  PutFile = 1,
  GetFile = 2,
  GetVersion = 3,
}

/** Length of the request record `<2sBBQLH64s`. */
export const RecordLength = 82;

/** The firmware reads the name as a NUL-terminated C string in a 64-byte field. */
export const MaxNameBytes = 63;

const utf8 = new TextEncoder();

/** Why a remote file name cannot be sent, or null when it can. */
export function checkName(name: string): string | null {
  if (name.length === 0) {
    return 'the file name is empty';
  }
  if (name.includes('\0')) {
    return 'the file name contains a NUL character';
  }
  const bytes = utf8.encode(name).length;
  if (bytes > MaxNameBytes) {
    return `the file name "${name}" is ${bytes} bytes of UTF-8; the board takes at most ${MaxNameBytes}`;
  }
  return null;
}

/** Joins a folder and a file name the way the board spells paths ("/" separated, no doubled slash). */
export function joinPath(folder: string, name: string): string {
  const trimmed = folder.trim();
  if (trimmed === '' || trimmed === '.') {
    return name;
  }
  return trimmed.endsWith('/') ? trimmed + name : `${trimmed}/${name}`;
}

/** Builds the request record. Throws when the name does not fit. */
export function encodeRequest(op: Op, name = '', size = 0): Uint8Array {
  const record = new Uint8Array(RecordLength);
  const view = new DataView(record.buffer);
  record[0] = 0x57; // 'W'
  record[1] = 0x41; // 'A'
  record[2] = op;
  record[3] = 0;
  // offset (8 bytes) stays 0: the firmware does not use it.
  view.setUint32(12, size >>> 0, true);
  if (op !== Op.GetVersion) {
    const problem = checkName(name);
    if (problem) {
      throw new Error(problem);
    }
    const nameBytes = utf8.encode(name);
    view.setUint16(16, nameBytes.length, true);
    record.set(nameBytes, 18);
  }
  return record;
}

/** A status reply `WB` + u16 code: the code, or null when the bytes are not a status reply. */
export function decodeStatus(bytes: Uint8Array): number | null {
  if (bytes.length !== 4 || bytes[0] !== 0x57 || bytes[1] !== 0x42) {
    return null;
  }
  return bytes[2] | (bytes[3] << 8);
}

/** A GET data chunk: u16 length + data. Null when malformed. An empty array marks the end of the file. */
export function decodeChunk(bytes: Uint8Array): Uint8Array | null {
  if (bytes.length < 2) {
    return null;
  }
  const length = bytes[0] | (bytes[1] << 8);
  if (bytes.length !== 2 + length) {
    return null;
  }
  return bytes.subarray(2);
}

/** The GET_VER reply: three bytes, major.minor.micro. */
export function decodeVersion(bytes: Uint8Array): string | null {
  return bytes.length === 3 ? `${bytes[0]}.${bytes[1]}.${bytes[2]}` : null;
}

/**
 * Why an HTTPS page cannot open this URL, or null. Browsers refuse `ws://` from an `https://` page
 * (mixed content) with no useful error, so the page explains it before trying.
 */
export function mixedContentProblem(pageProtocol: string, url: string): string | null {
  if (pageProtocol !== 'https:' || !/^ws:\/\//i.test(url.trim())) {
    return null;
  }
  return (
    'This page was loaded over HTTPS, and browsers do not let an HTTPS page open an unencrypted ws:// connection. ' +
    'Connect through the WebREPL gateway with TLS instead: start it with TLS (webrepl gateway --self-signed, or --cert and --key) and use ' +
    `wss://GATEWAY/${url.trim()}, or load this page over http://.`
  );
}

/** Text typed or pasted into a terminal: line ends become carriage returns, as a keyboard's Enter. */
export function toTerminalInput(text: string): string {
  return text.replace(/\r\n|\n/g, '\r');
}

/** A Python bytes literal for any bytes (for code sent over the raw REPL). */
export function pythonBytes(bytes: Uint8Array): string {
  let out = "b'";
  for (const b of bytes) {
    if (b === 0x27 || b === 0x5c) {
      out += '\\' + String.fromCharCode(b);
    } else if (b >= 0x20 && b < 0x7f) {
      out += String.fromCharCode(b);
    } else {
      out += '\\x' + b.toString(16).padStart(2, '0');
    }
  }
  return out + "'";
}

/** A Python string literal (for file names in code sent over the raw REPL). */
export function pythonString(text: string): string {
  return JSON.stringify(text); // JSON string escapes are valid Python string escapes
}
