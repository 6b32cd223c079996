// The codec (src/protocol.ts, src/transfer.ts's record arithmetic) against tests/vectors/requests.json and
// replies.json: the bytes of extmod/modwebrepl.c's request record and replies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkName, decodeChunk, decodeStatus, decodeVersion, encodeRequest, Op } from '../src/protocol';
import { getRequests, versionRecordTail } from '../src/transfer';
import { hex, loadVectors, ReplyVectors, RequestVectors, toHex } from './support/vectors';

const requests = loadVectors<RequestVectors>('requests.json');
const replies = loadVectors<ReplyVectors>('replies.json');

describe('request records', () => {
  for (const record of requests.records) {
    it(`encodeRequest: ${record.name}`, () => {
      const bytes = encodeRequest(record.op as Op, record.fileName, record.size);
      assert.equal(bytes.length, 82);
      assert.equal(toHex(bytes), record.hex);
    });
  }

  for (const bad of requests.badNames) {
    it(`a name the board cannot take is refused with a reason: ${bad.why}`, () => {
      const problem = checkName(bad.fileName);
      assert.ok(problem, `"${bad.fileName}" was accepted`);
      assert.throws(() => encodeRequest(Op.GetFile, bad.fileName), { message: problem });
    });
  }

  it('every name in the records is accepted', () => {
    for (const record of requests.records.filter((r) => r.op !== Op.GetVersion)) {
      assert.equal(checkName(record.fileName), null, record.name);
    }
  });

  for (const tail of requests.versionTails) {
    it(`versionRecordTail(${tail.surplus}) completes ${tail.surplus} surplus zero bytes as GET_VER`, () => {
      assert.equal(toHex(versionRecordTail(tail.surplus)), tail.hex);
    });
  }

  it('versionRecordTail refuses surplus it cannot complete', () => {
    assert.throws(() => versionRecordTail(0), RangeError);
    assert.throws(() => versionRecordTail(3), RangeError);
  });

  for (const count of requests.getRequests) {
    it(`getRequests(${count.size}) is ${count.requests}: one per 256 bytes and the empty chunk`, () => {
      assert.equal(getRequests(count.size), count.requests);
    });
  }
});

describe('replies', () => {
  for (const status of replies.status) {
    it(`decodeStatus ${status.hex} is ${status.code}`, () => {
      assert.equal(decodeStatus(hex(status.hex)), status.code);
    });
  }

  for (const version of replies.versions) {
    it(`decodeVersion ${version.hex} is ${version.version}`, () => {
      assert.equal(decodeVersion(hex(version.hex)), version.version);
    });
  }

  for (const chunk of replies.chunks) {
    it(`decodeChunk ${chunk.hex.slice(0, 12)}${chunk.hex.length > 12 ? '...' : ''} is ${chunk.data === null ? 'malformed' : `${chunk.data.length / 2} bytes`}`, () => {
      const data = decodeChunk(hex(chunk.hex));
      assert.equal(data === null ? null : toHex(data), chunk.data);
    });
  }
});
