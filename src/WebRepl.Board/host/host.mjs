#!/usr/bin/env node
// Virtual MicroPython board host: runs MicroPython (WebAssembly build, in
// worker.mjs) and talks to its parent (the C# WebRepl.Board) over stdin/stdout.
//
//   node host.mjs --root DIR [--heap-kb N] [--pystack N] [--max-memory-mb N]
//                 [--paste-window N] [--autorun]
//
// --root DIR         the board's file system (created if missing); Python's "/"
// --heap-kb N        initial MicroPython heap (default 1024; it grows on demand)
// --pystack N        Python stack, in words (default 16384)
// --max-memory-mb N  cap of the interpreter's WebAssembly memory (default 256)
// --paste-window N   raw-paste flow-control window in bytes (default 128, as a board)
// --autorun          run boot.py, then main.py (friendly REPL only), at power-on
//                    and soft reset, as a board does
//
// Protocol (see PROTOCOL-HOST.md): both directions carry frames
//
//   u8 type | u32 length (little-endian) | payload (length bytes)
//
// C# -> host
//   0x01 INPUT    terminal bytes (keys, Ctrl-A..E, pasted code), raw
//   0x02 PING     any payload (<= 256 bytes), answered by PONG at once
//   0x03 RESET    hard reset: the interpreter is discarded and started anew
// host -> C#
//   0x80 READY    u8 major | u8 minor | u8 micro | u8 flags | sys.version (UTF-8)
//                 flags bit 0: Ctrl-C can interrupt any running code
//   0x81 OUTPUT   terminal bytes exactly as the board prints them (CRLF lines)
//   0x82 PONG     u8 state (0 idle at a prompt, 1 busy, 2 in input())
//                 | u32 busy ms | u32 RSS KiB | the PING payload
//   0x83 LOG      host diagnostics, UTF-8 (never board output)
//   0x84 BOARD_RESET  machine.reset() was called: the interpreter restarts (READY follows)
//
// The board's files are the --root folder: Python reads and writes it through
// hostfs.mjs, and the parent (WebREPL's PUT and GET) reads and writes it directly.
// Ctrl-C (0x03) in INPUT is handled here too: while the interpreter runs code
// it raises KeyboardInterrupt by writing the interpreter's shared memory (as a
// board's UART interrupt does) and is not passed on; otherwise it is input.

import { Worker, MessageChannel } from 'node:worker_threads';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as C from './shared.mjs';

// The memory of a discarded interpreter (up to --max-memory-mb) is only given
// back when V8 collects it, and V8 rarely does so on its own: that memory is
// outside its heap. So a reset forces a collection, here and in the worker
// (which sees globalThis.gc because the flag is set before it starts).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
// (twice, later: this isolate must have let go of the message that carried it)
const collectSoon = () => { setTimeout(gc, 200).unref(); setTimeout(gc, 1000).unref(); };

const T = {
  INPUT: 0x01, PING: 0x02, RESET: 0x03,
  READY: 0x80, OUTPUT: 0x81, PONG: 0x82, LOG: 0x83, BOARD_RESET: 0x84,
};
const MAX_FRAME = 64 << 20;

// ---------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const o = { root: null, heapKB: 1024, pystack: 16384, maxMemoryMB: 256, pasteWindow: 128, autorun: false };
  const num = (i, min, max) => {
    const v = Number(argv[i]);
    if (!Number.isInteger(v) || v < min || v > max) fail(`bad value for ${argv[i - 1]}: ${argv[i]}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--root': o.root = argv[++i]; break;
      case '--heap-kb': o.heapKB = num(++i, 64, 1 << 20); break;
      case '--pystack': o.pystack = num(++i, 1024, 1 << 22); break;
      case '--max-memory-mb': o.maxMemoryMB = num(++i, 32, 4096); break;
      case '--paste-window': o.pasteWindow = num(++i, 16, 65535); break;
      case '--autorun': o.autorun = true; break;
      default: fail(`unknown argument: ${argv[i]}`);
    }
  }
  if (!o.root) fail('--root DIR is required');
  o.root = path.resolve(o.root);
  try { fs.mkdirSync(o.root, { recursive: true }); } catch (e) { fail(`cannot use --root ${o.root}: ${e.message}`); }
  return o;
}

function fail(msg) {
  process.stderr.write(`host.mjs: ${msg}\n`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------
// Output frames

const out = process.stdout;
let outQueue = [];     // [type, payload] frames to write
let outCredits = [];   // [ctl, bytes]: output that workers posted, given back once written
let outScheduled = false;

function send(type, payload = Buffer.alloc(0)) {
  outQueue.push([type, payload]);
  // Coalesce the many small frames of a chatty program into one write.
  if (!outScheduled) { outScheduled = true; setImmediate(flushFrames); }
}

function flushFrames() {
  outScheduled = false;
  const parts = [];
  // Consecutive OUTPUT frames go as one: a program printing line by line otherwise cost the parent a read and a
  // WebSocket message per line, and output fell seconds behind the program under load.
  for (let i = 0; i < outQueue.length;) {
    const [type] = outQueue[i];
    let j = i + 1;
    if (type === T.OUTPUT) while (j < outQueue.length && outQueue[j][0] === T.OUTPUT) j++;
    const payload = j - i === 1 ? outQueue[i][1] : Buffer.concat(outQueue.slice(i, j).map((f) => f[1]));
    const head = Buffer.alloc(5);
    head[0] = type;
    head.writeUInt32LE(payload.length, 1);
    parts.push(head, payload);
    i = j;
  }
  const credits = outCredits;
  outQueue = [];
  outCredits = [];
  // The worker waits while too much of its output is unwritten (OUT_PENDING, OUT_WINDOW), as a board's program
  // waits for its UART or socket: without it, output queued here without bound while stdout (a pipe: written
  // synchronously) was full, and a Ctrl-C seemed lost behind seconds of output printed before it.
  out.write(Buffer.concat(parts), () => {
    for (const [ctl, bytes] of credits) {
      Atomics.sub(ctl, C.OUT_PENDING, bytes);
      Atomics.notify(ctl, C.OUT_PENDING);
    }
  });
}
out.on('error', () => process.exit(0)); // parent gone

const log = (text) => send(T.LOG, Buffer.from(String(text), 'utf8'));

// ---------------------------------------------------------------------------
// The interpreter worker

let worker = null;   // { thread, port, ctl, ctlTime, mem32, intr }
let crashes = 0;

function startWorker() {
  const ctlBuffer = new SharedArrayBuffer(C.CTL_BYTES);
  const { port1, port2 } = new MessageChannel();
  const thread = new Worker(new URL('./worker.mjs', import.meta.url), {
    workerData: {
      root: opts.root, inPort: port2, ctlBuffer,
      heapSize: opts.heapKB * 1024, pystack: opts.pystack, maxMemoryMB: opts.maxMemoryMB,
      pasteWindow: opts.pasteWindow, autorun: opts.autorun,
    },
    transferList: [port2],
    stdout: true, stderr: true, // never let the worker write to our stdout
  });
  const w = {
    thread, port: port1, ctl: new Int32Array(ctlBuffer), ctlTime: new Float64Array(ctlBuffer, C.CTL_TIME_OFFSET, 1),
    mem32: null, intr: null,
  };
  worker = w;
  const toLog = (s) => s.on('data', (d) => log(d.toString('utf8').trimEnd()));
  toLog(thread.stdout); toLog(thread.stderr);

  thread.on('message', (m) => {
    if (worker !== w) return;
    switch (m.t) {
      case 'out':
        send(T.OUTPUT, Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
        outCredits.push([w.ctl, m.data.byteLength]);
        break;
      case 'log': log(m.text); break;
      case 'memory': // a new interpreter instance (power-on or soft reset)
        if (w.mem32) collectSoon(); // drop the previous instance's memory
        w.mem32 = new Int32Array(m.memory.buffer);
        w.intr = m.intr;
        break;
      case 'hardreset': // machine.reset(): tell the parent (a board drops its connection), then restart
        send(T.BOARD_RESET);
        hardReset();
        break;
      case 'ready': {
        crashes = 0;
        const [major, minor, micro] = m.version;
        send(T.READY, Buffer.concat([Buffer.from([major, minor, micro, m.canInterrupt ? 1 : 0]), Buffer.from(m.sysVersion, 'utf8')]));
        break;
      }
    }
  });
  thread.on('error', (e) => { if (worker === w) log(`interpreter thread error: ${e?.stack ?? e}`); });
  thread.on('exit', (code) => {
    if (worker !== w) return; // replaced on purpose
    log(`interpreter thread exited (${code}); restarting`);
    if (++crashes > 3) { log('giving up'); flushFrames(); process.exit(1); }
    startWorker();
  });
}

function hardReset() {
  const old = worker;
  worker = null;
  old.port.close();
  old.thread.terminate().then(collectSoon);
  startWorker();
}

// True while the interpreter is running code that Ctrl-C may interrupt
// (MicroPython sets its interrupt char to 3 exactly then).
function interruptible(w) {
  return w.intr && w.mem32 && Atomics.load(w.mem32, w.intr.charAddr >> 2) === 3;
}

function onInput(bytes) {
  const w = worker;
  if (bytes.includes(3) && interruptible(w)) {
    // Raise KeyboardInterrupt: the words mp_sched_keyboard_interrupt() would write.
    for (const [addr, value] of w.intr.writes) Atomics.store(w.mem32, addr >> 2, value);
    bytes = bytes.filter((b) => b !== 3); // consumed, as on a board
  }
  if (bytes.length) w.port.postMessage(bytes);
  Atomics.add(w.ctl, C.SEQ, 1);
  Atomics.notify(w.ctl, C.SEQ); // wakes input() and time.sleep()
}

function onPing(payload) {
  const w = worker;
  const state = Atomics.load(w.ctl, C.STATE);
  const head = Buffer.alloc(9);
  head[0] = state;
  head.writeUInt32LE(state === C.STATE_IDLE ? 0 : Math.min(0xffffffff, Math.max(0, Date.now() - w.ctlTime[0])), 1);
  head.writeUInt32LE(Math.round(process.memoryUsage.rss() / 1024), 5);
  send(T.PONG, Buffer.concat([head, payload]));
}

// ---------------------------------------------------------------------------
// Input frames

let inBuf = Buffer.alloc(0);

function onFrame(type, payload) {
  switch (type) {
    case T.INPUT: onInput(payload); break;
    case T.PING: onPing(payload.subarray(0, 256)); break;
    case T.RESET: hardReset(); break;
    default: log(`unknown frame type 0x${type.toString(16)}`);
  }
}

process.stdin.on('data', (chunk) => {
  inBuf = inBuf.length ? Buffer.concat([inBuf, chunk]) : chunk;
  let pos = 0;
  while (inBuf.length - pos >= 5) {
    const len = inBuf.readUInt32LE(pos + 1);
    if (len > MAX_FRAME) { log(`frame too large (${len}); exiting`); flushFrames(); process.exit(2); }
    if (inBuf.length - pos < 5 + len) break;
    // copy: the payload may be posted to the worker or kept
    onFrame(inBuf[pos], Buffer.from(inBuf.subarray(pos + 5, pos + 5 + len)));
    pos += 5 + len;
  }
  inBuf = inBuf.subarray(pos);
});
process.stdin.on('end', () => { worker?.thread.terminate(); flushFrames(); process.exit(0); });

startWorker();
