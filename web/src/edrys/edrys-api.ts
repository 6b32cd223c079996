// The part of Edrys's module API (edrys.js) this module uses, and a typed view of the shared state.

export interface EdrysMessage {
  from: string;
  subject: string;
  body: unknown;
}

export interface EdrysUser {
  displayName?: string;
  room?: string;
}

export interface EdrysApi {
  ready?: boolean;
  role: 'station' | 'teacher' | 'student' | string;
  username?: string;
  module?: { stationConfig?: Record<string, unknown>; config?: Record<string, unknown> };
  liveUser?: { name?: string; displayName?: string; room?: string };
  liveRoom?: Record<string, unknown>;
  liveClass?: { users?: Record<string, EdrysUser> };
  onReady(handler: () => void): void;
  onUpdate(handler: () => void): void;
  onMessage(handler: (message: EdrysMessage) => void, promiscuous?: boolean): void;
  sendMessage(subject: string, body: unknown): void;
  getState?(key: string, type: string, value?: unknown): unknown;
  updateState?(change: () => void): void;
}

export function edrys(): EdrysApi | null {
  return ((window as unknown as { Edrys?: EdrysApi }).Edrys) ?? null;
}

/** Room state shared by everyone in the room: the board URL, the connection status, the file status. */
export class SharedState {
  constructor(private readonly api: EdrysApi) {}

  get(key: string): unknown {
    if (this.api.getState) {
      return unwrap(this.api.getState(key, 'Value'));
    }
    return this.api.liveRoom?.[key];
  }

  set(key: string, value: unknown): void {
    if (this.get(key) === value) {
      return;
    }
    if (this.api.getState) {
      const write = () => this.api.getState!(key, 'Value', value);
      if (this.api.updateState) this.api.updateState(write);
      else write();
    } else if (this.api.liveRoom) {
      this.api.liveRoom[key] = value;
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
