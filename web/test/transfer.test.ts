// Transfers (src/transfer.ts) against a board that reads the binary stream as extmod/modwebrepl.c does: the
// records are tests/vectors/requests.json's bytes, GET's pipelined requests never leave the board with a broken
// record, and a file that shrank is cleaned up (one or two surplus requests) or the connection closed (more).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getFile, getVersion, putFile } from '../src/transfer';
import { connect } from './support/fake-socket';
import { FileBoard } from './support/file-board';
import { loadVectors, RequestVectors, toHex } from './support/vectors';

const requests = loadVectors<RequestVectors>('requests.json');
const record = (name: string) => requests.records.find((r) => r.fileName === name)!;

/** The first binary message the page sends to `board`. */
function firstMessage(board: FileBoard): () => Uint8Array | null {
  let first: Uint8Array | null = null;
  const inner = board.binary.bind(board);
  board.binary = (peer, message) => {
    first ??= message;
    inner(peer, message);
  };
  return () => first;
}

function bytes(length: number, seed = 7): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

describe('transfers', { timeout: 60_000 }, () => {
  it('putFile sends the data in pieces, and the board has the file', async () => {
    const board = new FileBoard();
    const connection = await connect(board);
    const data = bytes(5000);
    const progress: number[] = [];

    await putFile(connection, 'main.py', data, (done) => progress.push(done));

    assert.deepEqual(board.errors, []);
    assert.deepEqual(board.files.get('main.py'), data);
    assert.equal(progress.at(-1), data.length);
    assert.ok(board.idle);
    connection.close();
  });

  it('putFile of an empty file sends exactly the vector record', async () => {
    const board = new FileBoard();
    const first = firstMessage(board);
    const connection = await connect(board);
    const expected = record('/empty.txt');

    await putFile(connection, expected.fileName, new Uint8Array(0));

    assert.equal(toHex(first()!), expected.hex);
    assert.deepEqual(board.files.get(expected.fileName), new Uint8Array(0));
    assert.deepEqual(board.records, [{ op: 1, name: expected.fileName }]);
    connection.close();
  });

  it('getFile with the size sends the vector record and every chunk request at once', async () => {
    const board = new FileBoard();
    const expected = record('lib/é.py');
    const data = bytes(1000);
    board.files.set(expected.fileName, data);
    const first = firstMessage(board);
    const connection = await connect(board);

    const got = await getFile(connection, expected.fileName, undefined, data.length);

    assert.deepEqual(got, data);
    // The record, then one request per 256 bytes and one for the empty chunk: nothing surplus.
    assert.equal(toHex(first()!), expected.hex + '00'.repeat(requests.getRequests.find((g) => g.size === 1000)!.requests));
    assert.ok(board.idle);
    connection.close();
  });

  for (const [real, listed] of [
    [600, 1200],
    [0, 200],
  ]) {
    it(`getFile of a file that shrank (${listed} listed, ${real} read): the surplus becomes GET_VER, the session goes on`, async () => {
      const board = new FileBoard();
      board.files.set('/log.txt', bytes(real));
      const connection = await connect(board);

      const got = await getFile(connection, '/log.txt', undefined, listed);

      assert.deepEqual(got, bytes(real));
      assert.deepEqual(board.records.map((r) => r.op), [2, 3]);
      assert.ok(board.idle, 'the board holds part of a record');
      assert.equal(await getVersion(connection), '1.27.0');
      connection.close();
    });
  }

  it('getFile of a file that shrank by more than two chunks closes the connection with an error', async () => {
    const board = new FileBoard();
    board.files.set('/log.txt', bytes(100));
    const connection = await connect(board);

    await assert.rejects(getFile(connection, '/log.txt', undefined, 5000), /got smaller while it was read/);

    assert.equal(connection.isOpen, false);
    assert.deepEqual(board.errors, []);
  });

  it('getFile without a size asks one chunk at a time and leaves nothing surplus', async () => {
    const board = new FileBoard();
    board.files.set('/a.bin', bytes(700));
    const connection = await connect(board);

    assert.deepEqual(await getFile(connection, '/a.bin'), bytes(700));

    assert.ok(board.idle);
    assert.deepEqual(board.records.map((r) => r.op), [2]);
    connection.close();
  });

  it('getVersion reads the 3-byte reply', async () => {
    const board = new FileBoard();
    const connection = await connect(board);

    assert.equal(await getVersion(connection), '1.27.0');
    connection.close();
  });
});
