// The reference vectors (tests/vectors/*.json), which the C# tests read too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** tests/vectors: from test/run.mjs, or beside web/ when a bundled test runs alone (web/dist-test/x.test.mjs). */
export const vectorsDirectory = process.env.WEBREPL_VECTORS ?? join(process.cwd(), '..', 'tests', 'vectors');

export function loadVectors<T>(name: string): T {
  return JSON.parse(readFileSync(join(vectorsDirectory, name), 'utf8')) as T;
}

/** Bytes from hex (spaces allowed). */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) {
    throw new Error(`not hex: ${text.slice(0, 40)}`);
  }
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  }
  return bytes;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A byte string in the vectors: hex, and the same for people. */
export interface Blob {
  hex: string;
  shows: string;
}

export interface RequestVectors {
  records: { name: string; op: number; size: number; fileName: string; hex: string }[];
  badNames: { fileName: string; why: string }[];
  versionTails: { surplus: number; hex: string }[];
  getRequests: { size: number; requests: number }[];
}

export interface ReplyVectors {
  status: { hex: string; code: number | null }[];
  versions: { hex: string; version: string | null }[];
  chunks: { hex: string; data: string | null }[];
}

export interface PasteEvent extends Blob {
  at?: number;
  afterEnd?: boolean;
}

export interface Transcript {
  name: string;
  code: string;
  stdout: string;
  stderr: string;
  early?: number;
  events: PasteEvent[];
}

export interface RawPasteVectors {
  request: Blob;
  window: number;
  rawBanner: Blob;
  transcripts: Transcript[];
  refused: { name: string; answer: Blob }[];
  plain: { code: string; reply: Blob; stdout: string };
}

export interface Utf8Vectors {
  vectors: { name: string; frames: string[]; sanitized: string[]; text: string }[];
}

export type PacingVectors = Record<string, number | string>;
