// The part of Edrys's module API (edrys.js) this module uses, and a typed view of the shared state.

export interface EdrysMessage {
  /** The sender's user name (a station's is its name, e.g. 'Station 1'). */
  from: string;
  subject: string;
  body: unknown;
  /** The sending module's URL (another module's messages arrive only to promiscuous handlers). */
  module?: string;
  /** The user the message was sent to, when it was sent to one. */
  user?: string;
}

export interface EdrysUser {
  name?: string;
  displayName?: string;
  room?: string;
  role?: string;
}

export interface EdrysApi {
  ready?: boolean;
  role: 'station' | 'teacher' | 'student' | string;
  username?: string;
  /** Set by Edrys's first update (undefined before): the module's URL and its settings (objects, or JSON text). */
  module?: { url?: string; config?: unknown; stationConfig?: unknown };
  liveUser?: EdrysUser;
  liveRoom?: Record<string, unknown>;
  liveClass?: { users?: Record<string, EdrysUser> };
  onReady(handler: () => void): void;
  onUpdate(handler: () => void): void;
  onMessage(handler: (message: EdrysMessage) => void, promiscuous?: boolean): void;
  /** To everyone in the room (the sender included), or to `user` alone. */
  sendMessage(subject: string, body: unknown, user?: string): void;
  getState?(key: string, type: string, value?: unknown): unknown;
  updateState?(change: () => void): void;
}

export function edrys(): EdrysApi | null {
  return ((window as unknown as { Edrys?: EdrysApi }).Edrys) ?? null;
}

/**
 * Sends a message; before Edrys's first update (no module yet) edrys.js cannot address one, and throws: the
 * message is dropped instead.
 */
export function send(api: EdrysApi, subject: string, body: unknown, user?: string): boolean {
  if (!api.module) return false;
  try {
    api.sendMessage(subject, body, user);
    return true;
  } catch {
    return false;
  }
}

/**
 * The station's settings: the module's `config` (for everyone) with its `stationConfig` over it. Edrys passes
 * each as an object, as JSON text, or as '' when none was given.
 */
export function moduleSettings(api: EdrysApi): Record<string, unknown> {
  return { ...asObject(api.module?.config), ...asObject(api.module?.stationConfig) };
}

/** An object from a message body or a setting: as it is, or parsed from JSON text; else null. */
export function asObject(value: unknown): Record<string, unknown> | null {
  if (typeof value === 'string' && value.trim().startsWith('{')) {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** Room state shared by everyone in the room: the board URL, the connection status, the file status. */
export class SharedState {
  constructor(private readonly api: EdrysApi) {}

  // getState throws before Edrys's first update (it has no room yet): the state then reads as empty, and a
  // write is left out (the station writes it again with its next change).
  get(key: string): unknown {
    try {
      if (this.api.getState) {
        return unwrap(this.api.getState(key, 'Value'));
      }
      return this.api.liveRoom?.[key];
    } catch {
      return undefined;
    }
  }

  set(key: string, value: unknown): void {
    if (this.get(key) === value) {
      return;
    }
    try {
      if (this.api.getState) {
        const write = () => this.api.getState!(key, 'Value', value);
        if (this.api.updateState) this.api.updateState(write);
        else write();
      } else if (this.api.liveRoom) {
        this.api.liveRoom[key] = value;
      }
    } catch {
      // not ready
    }
  }
}

/** Edrys's Yjs-backed values may come wrapped: take the plain value. */
function unwrap(value: unknown): unknown {
  if (value && typeof value === 'object' && 'toJSON' in value && typeof (value as { toJSON: unknown }).toJSON === 'function') {
    return (value as { toJSON(): unknown }).toJSON();
  }
  return value;
}

/** The code and files an editor module publishes on the execute topic: a string, or {"file": {name: content}}. */
export interface ExecuteRequest {
  files: Record<string, string>;
  code: string;
  /** What the terminal shows as the run's title. */
  label: string;
}

export function parseExecute(body: unknown): ExecuteRequest | null {
  let value = body;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    // Some editors send the JSON text of the file shape.
    if (trimmed.startsWith('{') && trimmed.includes('"file"')) {
      try {
        value = JSON.parse(trimmed);
      } catch {
        return { files: {}, code: body as string, label: 'code' };
      }
    } else {
      return { files: {}, code: value as string, label: 'code' };
    }
  }
  if (value && typeof value === 'object' && 'file' in value) {
    const fileField = (value as { file: unknown }).file;
    const files: Record<string, string> = {};
    if (fileField && typeof fileField === 'object') {
      for (const [name, content] of Object.entries(fileField as Record<string, unknown>)) {
        files[name] = typeof content === 'string' ? content : JSON.stringify(content);
      }
    }
    const names = Object.keys(files);
    if (names.length === 0) {
      return null;
    }
    // Run main.py when it is among the files, else the first Python file, else the first file.
    const entry = names.find((n) => n === 'main.py' || n.endsWith('/main.py')) ?? names.find((n) => n.endsWith('.py')) ?? names[0];
    return { files, code: `exec(open(${JSON.stringify(entry)}).read(), {'__name__': '__main__'})\n`, label: entry };
  }
  return null;
}

/** Bytes from a put_file/got_file body's data: bytes, an array of numbers, base64 or text. */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data)) return Uint8Array.from(data as number[]);
  if (data && typeof data === 'object') {
    // A Uint8Array that went through JSON: {"0": 1, "1": 2, ...}
    const values = Object.keys(data).sort((a, b) => Number(a) - Number(b)).map((k) => (data as Record<string, number>)[k]);
    return Uint8Array.from(values);
  }
  if (typeof data === 'string') return new TextEncoder().encode(data);
  return new Uint8Array(0);
}
