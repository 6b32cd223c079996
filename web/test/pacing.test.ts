// The pacing constants (src/pacing.ts) are the table "Pacing" in docs/protocol.md and tests/vectors/pacing.json,
// which the C# Pacing class is checked against too: one rule, not two copies that drift.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as pacing from '../src/pacing';
import { loadVectors, PacingVectors, vectorsDirectory } from './support/vectors';

const vectors = loadVectors<PacingVectors>('pacing.json');
const names: Record<string, keyof typeof pacing> = {
  inputBufferBytes: 'InputBufferBytes',
  rawReplPieceBytes: 'RawReplPieceBytes',
  rawReplPauseMs: 'RawReplPauseMs',
  terminalPieceBytes: 'TerminalPieceBytes',
  terminalPauseMs: 'TerminalPauseMs',
  echoPieceBytes: 'EchoPieceBytes',
  echoWindowBytes: 'EchoWindowBytes',
  echoStallMs: 'EchoStallMs',
  rawEnterRetryMs: 'RawEnterRetryMs',
};

describe('pacing', () => {
  it('pacing.ts holds every value of pacing.json', () => {
    const keys = Object.keys(vectors).filter((key) => key !== 'about');
    assert.deepEqual(keys.sort(), Object.keys(names).sort());
    for (const key of keys) {
      assert.equal(pacing[names[key]], vectors[key], key);
    }
  });

  it("docs/protocol.md's table states the same values", () => {
    const doc = readFileSync(join(vectorsDirectory, '..', '..', 'docs', 'protocol.md'), 'utf8');
    const table = doc.slice(doc.indexOf('## Pacing'));
    for (const key of Object.keys(names)) {
      const row = table.split('\n').find((line) => line.includes(`\`${key}\``));
      assert.ok(row, `no row for ${key}`);
      assert.match(row, new RegExp(`\\|\\s*${vectors[key]}\\s*(B|ms|bytes)?\\s*\\|`), `${key}: ${row}`);
    }
  });

  it('pieces leave room for two in the buffer at once', () => {
    assert.ok(pacing.RawReplPieceBytes * 2 <= pacing.InputBufferBytes);
    assert.ok(pacing.EchoWindowBytes * 2 <= pacing.InputBufferBytes);
  });
});
