// UTF-8 as the pages meet it: through the gateway every text message is valid UTF-8 (tests/vectors/utf8-frames.json,
// which the gateway's Utf8Sanitizer is checked against in C#), and what the page sends is counted in bytes of
// UTF-8, never cut inside a character.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkName, MaxNameBytes } from '../src/protocol';
import { splitByBytes, windowSize } from '../src/rawrepl';
import { hex, loadVectors, Utf8Vectors } from './support/vectors';

const vectors = loadVectors<Utf8Vectors>('utf8-frames.json');

describe('board text through the gateway', () => {
  for (const vector of vectors.vectors) {
    it(`every message is valid UTF-8 a browser keeps: ${vector.name}`, () => {
      const strict = new TextDecoder('utf-8', { fatal: true });
      const text = vector.sanitized.map((frame) => strict.decode(hex(frame))).join('');
      assert.equal(text, vector.text);
    });

    it(`the test board's decoding (TextDecoder, streaming) is the gateway's: ${vector.name}`, () => {
      // test/support/fake-socket.ts decodes board bytes so; this keeps its text what the gateway would send.
      const decoder = new TextDecoder('utf-8');
      const frames = vector.frames.map((frame) => new TextEncoder().encode(decoder.decode(hex(frame), { stream: true })));
      assert.deepEqual(frames.map((f) => Buffer.from(f).toString('hex')), vector.sanitized);
    });
  }

  it("raw-paste's window size, whose 0x80 arrives as U+FFFD, is read as the smallest it can be", () => {
    const vector = vectors.vectors.find((v) => v.text.startsWith('R\x01'))!;
    assert.equal(windowSize(vector.text.slice(2, 4)), 128);
    // Bytes that survive: the exact value.
    assert.equal(windowSize('\x00\x01'), 256);
    assert.equal(windowSize('\x40\x00'), 64);
  });
});

describe('what the page sends, in bytes of UTF-8', () => {
  it('splitByBytes never cuts a character, and no piece is over the limit', () => {
    const text = 'a' + 'é€😀'.repeat(50) + '\n';
    for (const limit of [4, 5, 7, 32, 128]) {
      const pieces = splitByBytes(text, limit);
      assert.equal(pieces.map((p) => p.text).join(''), text);
      for (const piece of pieces) {
        const bytes = new TextEncoder().encode(piece.text).length;
        assert.equal(piece.bytes, bytes);
        assert.ok(bytes <= limit, `${bytes} bytes in a piece of at most ${limit}`);
        assert.ok(!/[\uD800-\uDBFF]$/.test(piece.text), 'a piece ends inside a surrogate pair');
      }
    }
  });

  it('a file name is measured in bytes of UTF-8: 63 fit, 64 do not', () => {
    assert.equal(checkName('é'.repeat(31) + 'x'), null); // 63 bytes
    assert.match(checkName('é'.repeat(32)) ?? '', new RegExp(`64 bytes of UTF-8; the board takes at most ${MaxNameBytes}`));
  });
});
