// The raw REPL (src/rawrepl.ts) against a board that answers as the firmware does: the raw-paste transcripts of
// tests/vectors/raw-paste.json (flow control, the end, an early end), the refusals, the plain raw REPL, and a
// Ctrl-A that is lost or answered late (resent, then the output synchronised), as the C# RawRepl does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RawRepl, windowSize } from '../src/rawrepl';
import { connect } from './support/fake-socket';
import { RawBoard } from './support/raw-board';
import { hex, loadVectors, RawPasteVectors } from './support/vectors';

const vectors = loadVectors<RawPasteVectors>('raw-paste.json');
const utf8 = new TextEncoder();

async function run(board: RawBoard, code: string, rawPaste = true) {
  const connection = await connect(board);
  const repl = new RawRepl(connection, rawPaste);
  try {
    await repl.enter();
    const result = await repl.exec(code);
    await repl.exit();
    return { result, repl, connection };
  } finally {
    connection.close();
  }
}

describe('raw-paste transcripts', { timeout: 60_000 }, () => {
  for (const transcript of vectors.transcripts) {
    it(transcript.name, async () => {
      const board = new RawBoard(vectors, { transcript });

      const { result } = await run(board, transcript.code);

      assert.deepEqual(board.errors, []);
      assert.deepEqual(result, { stdout: transcript.stdout, stderr: transcript.stderr });
      assert.deepEqual(board.programs, [{ code: transcript.code, pasted: true }]);
    });
  }

  it('the window size read through the gateway (0x80 arrives as U+FFFD) is the window', () => {
    const answer = new TextDecoder().decode(hex(vectors.transcripts[0].events[0].hex));
    assert.equal(answer.slice(0, 2), 'R\x01');
    assert.equal(windowSize(answer.slice(2, 4)), vectors.window);
  });
});

describe('raw-paste refused', { timeout: 60_000 }, () => {
  for (const refusal of vectors.refused) {
    it(`${refusal.name}: the code goes through the plain raw REPL`, async () => {
      const board = new RawBoard(vectors, {
        refusal: hex(refusal.answer.hex),
        plain: (code) => (code === vectors.plain.code ? hex(vectors.plain.reply.hex).subarray(2) : null),
      });

      const { result } = await run(board, vectors.plain.code);

      assert.deepEqual(board.errors, []);
      assert.deepEqual(result, { stdout: vectors.plain.stdout, stderr: '' });
      assert.deepEqual(board.programs, [{ code: vectors.plain.code, pasted: false }]);
    });
  }

  it('without raw-paste (a direct connection) long code goes whole through the plain raw REPL', async () => {
    const code = Array.from({ length: 20 }, (_, i) => `print('line ${i}: ${'é'.repeat(30)}')`).join('\n');
    const board = new RawBoard(vectors, { plain: (c) => (c === code ? utf8.encode('ran\x04\x04>') : null) });

    const { result } = await run(board, code, false);

    assert.deepEqual(board.errors, []);
    assert.deepEqual(result, { stdout: 'ran', stderr: '' });
    assert.deepEqual(board.programs, [{ code, pasted: false }]);
  });
});

describe('entering the raw REPL', { timeout: 60_000 }, () => {
  const transcript = vectors.transcripts[0];

  it('a Ctrl-A answered at once is sent once, and only the code runs', async () => {
    const board = new RawBoard(vectors, { transcript });

    await run(board, transcript.code);

    assert.equal(board.ctrlAs, 1);
    assert.deepEqual(board.programs, [{ code: transcript.code, pasted: true }]);
  });

  it('a lost Ctrl-A is sent again, and the code runs with its exact output', async () => {
    const board = new RawBoard(vectors, { transcript, ctrlA: (n) => (n === 1 ? null : 0) });

    const { result } = await run(board, transcript.code);

    assert.deepEqual(board.errors, []);
    assert.ok(board.ctrlAs >= 2, `${board.ctrlAs} Ctrl-A sent`);
    assert.deepEqual(result, { stdout: transcript.stdout, stderr: transcript.stderr });
    assert.deepEqual(board.programs.at(-1), { code: transcript.code, pasted: true });
  });

  it('a board that never answers gives up after the prompt timeout (10 s), having sent Ctrl-A again', async () => {
    const board = new RawBoard(vectors, { transcript, ctrlA: () => null });
    const connection = await connect(board);
    const started = Date.now();

    await assert.rejects(new RawRepl(connection).enter(), (error: Error) => error.name === 'TimeoutError' && /raw REPL prompt/.test(error.message));

    assert.ok(Date.now() - started >= 9900, `gave up after ${Date.now() - started} ms`);
    assert.ok(board.ctrlAs >= 3, `${board.ctrlAs} Ctrl-A sent`);
    assert.deepEqual(board.programs, []);
    connection.close();
  });

  it('a banner that comes late, after a retry, stays out of the raw-paste answer and the output', async () => {
    // The first Ctrl-A is lost; the next two are answered only after longer than the client waits before it tries
    // again, so the second's banner comes after the client has its prompt: before the answer to what it sends next.
    const board = new RawBoard(vectors, { transcript, ctrlA: (n) => (n === 1 ? null : n <= 3 ? 1800 : 0) });

    const { result } = await run(board, transcript.code);

    assert.deepEqual(board.errors, []);
    assert.ok(board.banners >= 2, `no late banner came (${board.banners}): the test proves nothing`);
    assert.deepEqual(result, { stdout: transcript.stdout, stderr: transcript.stderr });
    assert.deepEqual(board.programs.at(-1), { code: transcript.code, pasted: true });
  });
});
