// The interpreter thread of the virtual board (started by host.mjs).
//
// It runs MicroPython's WebAssembly build (pyscript variant) and feeds it the
// terminal input one byte at a time through the event-driven REPL. Everything
// the C# side sees as "the board" is here: REPL output, soft reset, raw-paste,
// input(), the file system. host.mjs keeps the process protocol, file requests
// and Ctrl-C, and stays responsive while Python code runs here.
//
// Why a worker thread: a running Python program never returns to JavaScript,
// so a single thread could not receive stdin (Ctrl-C) or answer pings. The
// interpreter's memory is made shared (see patchWasm) so that host.mjs can
// raise KeyboardInterrupt by writing the interpreter's "pending exception"
// words directly, like a UART interrupt handler does on a real board; that
// stops any loop, even `while True: pass`.

import { parentPort, workerData, receiveMessageOnPort } from 'node:worker_threads';
import { loadMicroPython } from '@micropython/micropython-webassembly-pyscript';
import { createHostFS } from './hostfs.mjs';
import * as C from './shared.mjs';

const { root, inPort, ctlBuffer, heapSize, pystack, maxMemoryMB, pasteWindow, autorun } = workerData;
const ctl = new Int32Array(ctlBuffer);
const ctlTime = new Float64Array(ctlBuffer, C.CTL_TIME_OFFSET, 1);

// Console output of a worker would go to the parent's stdout and corrupt the
// frame protocol: send it as log messages instead.
for (const k of ['log', 'info', 'warn', 'error', 'debug']) {
  console[k] = (...a) => parentPort.postMessage({ t: 'log', text: a.map(String).join(' ') });
}

// Python's `js` and `jsffi` modules reach any property of the JS values they
// get, and from any function, `.constructor` is `Function`, which compiles
// JavaScript (process, fs...). Remove that route in this thread. (The other
// route, the JS global object, is replaced in startInterpreter.)
for (const f of [function () {}, async function () {}, function* () {}, async function* () {}]) {
  Object.defineProperty(Object.getPrototypeOf(f), 'constructor', { value: undefined, writable: false, configurable: false });
}

// ---------------------------------------------------------------------------
// WebAssembly loading: patch the binary and wrap some imports.

// Make the module's memory shared (memory limits flag bit 1) and cap its size.
// The flag byte and the maximum are rewritten in place (same byte length), so
// no section size changes. Shared memory lets host.mjs write into it.
function patchWasm(bytes) {
  const b = new Uint8Array(bytes); // a copy
  let p = 8;
  const leb = () => { let v = 0, s = 0, x; do { x = b[p++]; v += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80); return v; };
  while (p < b.length) {
    const id = b[p++], size = leb(), end = p + size;
    if (id === 5) { // memory section: count, then limits (flags, min, max)
      if (leb() !== 1 || !(b[p] & 1)) throw new Error('unexpected memory section');
      b[p++] |= 2; // shared
      leb(); // min
      const maxAt = p; leb(); const maxLen = p - maxAt;
      // Re-encode the maximum (in 64 KiB pages) as a padded LEB128 of the same length.
      let v = Math.max(1, Math.min(Math.floor(maxMemoryMB * 16), 65536));
      if (v >= 2 ** (7 * maxLen)) v = 2 ** (7 * maxLen) - 1;
      for (let i = 0; i < maxLen; i++, v = Math.floor(v / 128)) b[maxAt + i] = (v & 0x7f) | (i < maxLen - 1 ? 0x80 : 0);
      return b;
    }
    p = end;
  }
  throw new Error('no memory section');
}

// errno numbers: the build's libc uses WASI numbering (ENOENT = 44), while
// MicroPython's errno module and real boards use Linux numbers (ENOENT = 2);
// without this, Python shows "OSError: 44" instead of "[Errno 2] ENOENT" and
// `e.errno == errno.ENOENT` is false. So the syscall imports translate.
const WASI_TO_LINUX = {
  63: 1, 44: 2, 71: 3, 27: 4, 29: 5, 60: 6, 1: 7, 45: 8, 8: 9, 12: 10, 6: 11, 48: 12,
  2: 13, 21: 14, 10: 16, 20: 17, 75: 18, 43: 19, 54: 20, 31: 21, 28: 22, 41: 23, 33: 24,
  59: 25, 74: 26, 22: 27, 51: 28, 70: 29, 69: 30, 34: 31, 64: 32, 18: 33, 68: 34, 16: 35,
  37: 36, 46: 37, 52: 38, 55: 39, 32: 40, 58: 95, 138: 95, 73: 110, 7: 114, 26: 115,
};
const linuxErrno = (e) => WASI_TO_LINUX[e] ?? e;

let wasm = null;       // exports of the current instance
let mem = null;        // Int32Array over its memory
let compiled = null;   // the patched module, compiled once per worker
let tickOffset = 0;    // added to ticks_ms, see onTicks

function wrapImports(imports) {
  const env = imports.env, wasi = imports.wasi_snapshot_preview1;
  for (const name of Object.keys(env)) {
    if (!name.startsWith('__syscall_')) continue;
    const f = env[name];
    env[name] = (...a) => { const r = f(...a); return r < 0 ? -linuxErrno(-r) : r; };
  }
  for (const name of Object.keys(wasi)) {
    if (!name.startsWith('fd_')) continue;
    const f = wasi[name];
    wasi[name] = (...a) => { const r = f(...a); return r ? linuxErrno(r) : r; };
  }
  const epoch = Date.now();
  // time.sleep() busy-waits on this function (the port has no real sleep).
  env.mp_js_ticks_ms = () => { onTicks(); return (Date.now() - epoch + tickOffset) | 0; };
}

const realInstantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async (source, imports) => {
  compiled ??= await WebAssembly.compile(patchWasm(source));
  wrapImports(imports);
  const instance = await realInstantiate(compiled, imports);
  wasm = instance.exports;
  // (a view made now stays valid for the low, static addresses used here even
  // after the memory grows: shared memory is never detached)
  mem = new Int32Array(wasm.memory.buffer);
  return { instance, module: compiled };
};

// ---------------------------------------------------------------------------
// Terminal output: bytes are collected, CRLF-translated and posted in chunks.

const outBuf = new Uint8Array(8192);
let outLen = 0;
let lastOut = 0;
let mute = false;        // drop output (used while re-entering the raw REPL after a reset)
let dropPrefix = null;   // bytes to remove if the output starts with them
const tail = [];         // last output bytes, to recognise prompts

function emit(b) {
  if (mute) return;
  if (dropPrefix) {
    if (b === dropPrefix[0]) { dropPrefix = dropPrefix.slice(1); if (!dropPrefix.length) dropPrefix = null; return; }
    dropPrefix = null;
  }
  // The port prints bare "\n" for print() (a board's "cooked" output sends
  // "\r\n"); the REPL itself already sends "\r\n".
  if (b === 10 && lastOut !== 13) put(13);
  put(b);
  lastOut = b;
  if (b === 10 || outLen >= outBuf.length - 2) flushOutput();
}
function put(b) {
  outBuf[outLen++] = b;
  tail.push(b);
  if (tail.length > 32) tail.shift();
}
function emitRaw(b) { put(b); lastOut = b; } // no CRLF translation (binary)
const emitStr = (s) => { for (const b of Buffer.from(s, 'latin1')) emit(b); };
const tailEndsWith = (s) => Buffer.from(tail).toString('latin1').endsWith(s);

function flushOutput() {
  if (!outLen) return;
  // Back-pressure: wait while host.mjs has more than a window of our output still to write (it gives the
  // bytes back as it writes them), as a board's print waits for its UART or socket.
  for (let pending; (pending = Atomics.load(ctl, C.OUT_PENDING)) >= C.OUT_WINDOW;) Atomics.wait(ctl, C.OUT_PENDING, pending, 1000);
  const data = outBuf.slice(0, outLen);
  outLen = 0;
  Atomics.add(ctl, C.OUT_PENDING, data.length);
  parentPort.postMessage({ t: 'out', data }, [data.buffer]);
}
setInterval(flushOutput, 50).unref(); // output of code run from JS timers (asyncio)

// ---------------------------------------------------------------------------
// Terminal input queue (bytes from host.mjs, in order).

const chunks = [];
let chunkPos = 0;

function takeByte() {
  while (chunks.length && chunkPos >= chunks[0].length) { chunks.shift(); chunkPos = 0; }
  return chunks.length ? chunks[0][chunkPos++] : -1;
}
// Take input that arrived while JavaScript could not run its event loop.
function pullInput() {
  for (let m; (m = receiveMessageOnPort(inPort));) chunks.push(m.message);
}
// Wait for input (or an interrupt, or a timeout); used while Python code runs.
function waitInput(ms) {
  const seq = Atomics.load(ctl, C.SEQ);
  pullInput();
  if (chunks.length || interruptPending()) return;
  flushOutput();
  Atomics.wait(ctl, C.SEQ, seq, ms);
  pullInput();
}

// ---------------------------------------------------------------------------
// Keyboard interrupt support (shared memory, see host.mjs).

let intr = null; // { charAddr, writes: [[addr, value]...], pendAddr, sched: { addr, idle } | null }
let intrSearched = false;

function interruptPending() {
  return intr !== null && Atomics.load(mem, intr.pendAddr >> 2) !== 0;
}

// Find where the interpreter keeps its interrupt state, by watching which
// memory words change when it is set through its own exported functions.
// Addresses are static (same binary), so this is done once per worker.
function findInterruptWords(mp) {
  // Static data lies below anything malloc() returns: search only there.
  const probe = wasm.malloc(4);
  wasm.free(probe);
  const LIMIT = probe >> 2;
  // ... and outside the C stack, whose slots change with every call
  const stackLo = wasm.emscripten_stack_get_end(), stackHi = wasm.emscripten_stack_get_base();
  const inStack = (addr) => addr >= stackLo && addr < stackHi;
  const snap = () => new Int32Array(wasm.memory.buffer, 0, LIMIT).slice();
  const diff = (a, b) => {
    const d = [];
    for (let i = 0; i < LIMIT; i++) if (a[i] !== b[i] && !inStack(i * 4)) d.push([i * 4, a[i], b[i]]);
    return d;
  };
  const restore = (d) => { for (const [addr, before] of d) mem[addr >> 2] = before; };

  // mp_interrupt_char: -1 normally, 3 while code runs (set via micropython.kbd_intr)
  const kbd = mp.pyimport('micropython').kbd_intr;
  kbd(-1); const s1 = snap(); kbd(3); const s2 = snap(); mp.runPython('x = [1, 2, 3]\ndel x'); kbd(-1); const s3 = snap();
  const chars = [];
  for (let i = 0; i < LIMIT; i++) if (s1[i] === -1 && s2[i] === 3 && s3[i] === -1) chars.push(i * 4);
  // keep the candidate that mp_hal_get_interrupt_char() really reads
  const charAddrs = chars.filter((addr) => {
    const old = mem[addr >> 2];
    mem[addr >> 2] = 0x5a5a;
    const hit = wasm.mp_hal_get_interrupt_char() === 0x5a5a;
    mem[addr >> 2] = old;
    return hit;
  });

  // mp_sched_keyboard_interrupt() from idle: pending exception and scheduler state
  const a = snap(); wasm.mp_sched_keyboard_interrupt(); const b = snap();
  const first = diff(a, b); restore(first);
  // ... and once more after an interrupt was raised: also clears the old traceback
  wasm.mp_sched_keyboard_interrupt();
  try { mp.runPython('for i in range(3):\n    pass'); } catch {}
  const c = snap(); wasm.mp_sched_keyboard_interrupt(); const d = snap();
  const second = diff(c, d); restore(second);

  // Expected: the pending exception (0 -> the KeyboardInterrupt object) and,
  // with the scheduler enabled, sched_state (idle -> pending), which the VM polls.
  const pend = first.find(([, before, after]) => before === 0 && after !== 0);
  const sched = first.find((w) => w !== pend) ?? null;
  if (charAddrs.length !== 1 || !pend || first.length > 2) {
    console.error(`interrupt words not found (${charAddrs.length}, ${first.length}); Ctrl-C cannot stop running code`);
    return null;
  }
  // The second call also cleared the traceback of the previous interrupt.
  const known = (addr) => addr === pend[0] || addr === sched?.[0];
  const tb = second.filter(([addr, , after]) => !known(addr) && after === 0);
  const writes = tb.length === 1 ? [[tb[0][0], 0]] : [];
  writes.push([pend[0], pend[2]]);
  if (sched) writes.push([sched[0], sched[2]]);
  return { charAddr: charAddrs[0], writes, pendAddr: pend[0], sched: sched && { addr: sched[0], idle: sched[1] } };
}

// An interrupt written by host.mjs just as a program ended would fire in the
// next command; at the prompt (interrupt char -1) it is dropped.
function clearStaleInterrupt() {
  if (!interruptPending() || wasm.mp_hal_get_interrupt_char() !== -1) return;
  Atomics.store(mem, intr.pendAddr >> 2, 0);
  if (intr.sched) Atomics.store(mem, intr.sched.addr >> 2, intr.sched.idle);
}

// Called by every ticks_ms() of the interpreter, including time.sleep()'s busy-wait.
let lastTick = 0, spins = 0, jumped = false;
function onTicks() {
  flushOutput();
  if (interruptPending()) {
    // End a running sleep at once: its loop waits for (ticks - start) >= ms in
    // 32-bit arithmetic; adding 2^31 satisfies that for any sleep below 24 days.
    // Python never sees it: ticks_ms() is reduced modulo 2^30.
    if (!jumped) { tickOffset = (tickOffset + 2 ** 31) % 2 ** 32; jumped = true; }
    return;
  }
  jumped = false;
  // Many calls within one millisecond mean a busy-wait: sleep a millisecond
  // instead of burning the CPU (woken early by input or an interrupt).
  const now = Date.now();
  if (now !== lastTick) { lastTick = now; spins = 0; return; }
  if (++spins >= 32) { spins = 0; Atomics.wait(ctl, C.SEQ, Atomics.load(ctl, C.SEQ), 1); }
}

// ---------------------------------------------------------------------------
// input(): the port's stdin always reads 0 (its builtin input() would spin
// forever), so builtins.input is replaced by a line editor reading the
// terminal input queue and echoing like a board's readline.

const INPUT_PY = `
def _board_setup():
    import builtins, _board
    def input(prompt=''):
        r = _board.readline(str(prompt))
        while r == 0:  # interrupted: the pending KeyboardInterrupt is raised at this loop's jump
            r = _board.readline('')
        if r is None:
            raise EOFError
        return r
    builtins.input = input
_board_setup()
del _board_setup
`;

// os.uname(): real boards have it (the README's first example); this port's os module does not. The fields are
// a board's: (sysname, nodename, release, version, machine).
const UNAME_PY = `
def _board_uname():
    import os, sys
    from collections import namedtuple
    v = sys.implementation.version
    r = namedtuple('uname_result', ('sysname', 'nodename', 'release', 'version', 'machine'))(
        sys.platform, sys.platform, '%d.%d.%d' % (v[0], v[1], v[2]),
        sys.version.split('MicroPython ')[-1], 'Virtual board (%s)' % sys.implementation._machine)
    os.uname = lambda: r
_board_uname()
del _board_uname
`;

// machine.reset(): a board restarts, dropping its WebREPL connection. Here the host discards this
// interpreter and starts a new one (files stay); this thread waits until it is terminated.
function machineReset() {
  flushOutput();
  parentPort.postMessage({ t: 'hardreset' });
  for (;;) Atomics.wait(ctl, C.SEQ, Atomics.load(ctl, C.SEQ));
}

// machine.RTC: a board's real-time clock. It starts at this computer's time (UTC fields: a board's RTC has no time
// zone) and, once set, keeps its offset from it for the life of this worker: across soft resets, as a board's RTC
// does; a hard reset starts a new worker, as a board without a battery-backed RTC starts over.
let rtcOffsetMs = 0;
function rtcGet() {
  const d = new Date(Date.now() + rtcOffsetMs);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), (d.getUTCDay() + 6) % 7,
    d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds() * 1000].join(',');
}
function rtcSet(year, month, day, hours, minutes, seconds, micros) {
  rtcOffsetMs = Date.UTC(year, month - 1, day, hours, minutes, seconds, Math.floor(micros / 1000)) - Date.now();
}

// The machine module: a class standing in for it in sys.modules (this port cannot make module objects), with
// reset() from the host and an RTC whose datetime() takes and gives a board's 8-tuple
// (year, month, day, weekday (Monday 0), hours, minutes, seconds, subseconds (microseconds here)).
const MACHINE_PY = `
def _board_machine():
    import sys, _machine
    class RTC:
        def __init__(self, id=0):
            pass
        def datetime(self, t=None):
            if t is None:
                return tuple(int(x) for x in _machine.rtc_get().split(','))
            if len(t) not in (7, 8):
                raise ValueError('datetime takes (year, month, day, weekday, hours, minutes, seconds[, subseconds])')
            v = [int(x) for x in t] + [0]
            if not (1 <= v[1] <= 12 and 1 <= v[2] <= 31 and 0 <= v[4] <= 23 and 0 <= v[5] <= 59 and 0 <= v[6] <= 59 and v[7] >= 0):
                raise ValueError('invalid date or time')
            _machine.rtc_set(v[0], v[1], v[2], v[4], v[5], v[6], v[7])
        def init(self, t):
            self.datetime(t)
    class machine:
        reset = staticmethod(_machine.reset)
    machine.RTC = RTC
    sys.modules['machine'] = machine
_board_machine()
del _board_machine
`;

function readline(prompt) {
  emitStr(Buffer.from(prompt, 'utf8').toString('latin1'));
  flushOutput();
  const line = [];
  let prev = 0;
  Atomics.store(ctl, C.STATE, C.STATE_INPUT);
  try {
    for (;;) {
      if (interruptPending()) return 0;
      const b = takeByte();
      if (b < 0) { waitInput(1000); continue; }
      if (b === 3) { if (!intr) wasm.mp_sched_keyboard_interrupt(); return 0; } // (only without shared memory)
      if (b === 4 && !line.length) { emitStr('\r\n'); return null; }
      if (b === 13 || (b === 10 && prev !== 13)) { emitStr('\r\n'); return Buffer.from(line).toString('utf8'); }
      if (b === 8 || b === 127) {
        if (line.length) {
          while (line.length && (line.pop() & 0xc0) === 0x80); // a whole UTF-8 character
          emitStr('\b \b');
        }
      } else if (b === 27) { // skip an escape sequence (arrow keys...)
        let c = takeByte();
        if (c === 0x5b || c === 0x4f) do { c = takeByte(); } while (c >= 0 && (c < 0x40 || c > 0x7e));
      } else if (b >= 32) { line.push(b); emit(b); }
      prev = b;
    }
  } finally {
    flushOutput();
    Atomics.store(ctl, C.STATE, C.STATE_BUSY);
  }
}

// sys.stdin (Emscripten's fd 0) reads raw bytes from the terminal input, no
// echo, blocking as on a board; an interrupt ends the read (null = EOF).
function stdinByte() {
  Atomics.store(ctl, C.STATE, C.STATE_INPUT);
  try {
    for (;;) {
      if (interruptPending()) return null;
      const b = takeByte();
      if (b >= 0) return b;
      waitInput(1000);
    }
  } finally {
    Atomics.store(ctl, C.STATE, C.STATE_BUSY);
  }
}

// ---------------------------------------------------------------------------
// Interpreter life cycle.

let mp = null;
let raw = false;       // REPL mode, followed from the REPL's own output
let rawEmpty = false;  // raw REPL line is empty (at its ">" prompt)
let rawCand = 0;       // raw-paste request bytes seen: \x05 then 'A'
let paste = null;      // raw-paste in progress: { code: [], since: 0 }

const AUTORUN_PY = (names) => `
def _board_autorun():
    import os, sys, micropython
    for name in ${JSON.stringify(names)}:
        try:
            os.stat(name)
        except OSError:
            continue
        micropython.kbd_intr(3)
        try:
            exec(compile(open(name).read(), name, 'exec'), globals())
        except BaseException as e:
            sys.print_exception(e)
        finally:
            micropython.kbd_intr(-1)
_board_autorun()
del _board_autorun
`;

// Timers for Python (asyncio uses js.setTimeout). Their callbacks run Python
// outside the REPL: they count as busy, Ctrl-C may interrupt them (interrupt
// char set as the REPL does for code it runs), their errors are printed, and
// all are cancelled at a reset.
const pyTimers = {
  handles: new Map(), // id -> Node timer (Python only gets the number)
  wrap(f, args) {
    return () => {
      Atomics.store(ctl, C.STATE, C.STATE_BUSY); ctlTime[0] = Date.now();
      if (intr) Atomics.store(mem, intr.charAddr >> 2, 3);
      try {
        f(...args);
      } catch (e) {
        emitStr(`${e?.message ?? e}`.replace(/\r?\n/g, '\r\n').replace(/(\r\n)?$/, '\r\n'));
      } finally {
        if (intr) Atomics.store(mem, intr.charAddr >> 2, -1);
        clearStaleInterrupt();
        Atomics.store(ctl, C.STATE, C.STATE_IDLE);
        flushOutput();
      }
    };
  },
  clear() { for (const h of this.handles.values()) clearTimeout(h); this.handles.clear(); },
};
pyTimers.api = {
  setTimeout: (f, ms, ...args) => {
    const h = setTimeout(() => { pyTimers.handles.delete(id); pyTimers.wrap(f, args)(); }, ms);
    const id = Number(h);
    pyTimers.handles.set(id, h);
    return id;
  },
  clearTimeout: (id) => { clearTimeout(pyTimers.handles.get(id)); pyTimers.handles.delete(id); },
};

// A fresh interpreter instance (power-on or soft reset): the file system is
// on disk, so only the Python state is new.
async function startInterpreter(rawMode) {
  mp = null;
  const out = (bytes) => { for (const b of bytes) emit(b); };
  const next = await loadMicroPython({ heapsize: heapSize, pystack, linebuffer: false, stdout: out, stderr: out, stdin: stdinByte });
  // Python's `/` is the board folder: mount it in Emscripten's FS and make a
  // VfsPosix rooted there the only MicroPython mount.
  next.FS.mkdir('/flash');
  next.FS.mount(createHostFS(next.FS), { root }, '/flash');
  next.runPython("import os\nos.umount('/')\nos.mount(os.VfsPosix('/flash'), '/')\nos.chdir('/')\ndel os");
  // `import js` reaches the JS global object; give Python a harmless one
  // (timers only, needed by asyncio) instead of the worker's (process, fs...).
  globalThis.proxy_js_ref[0] = pyTimers.api;
  next.registerJsModule('_board', { readline });
  next.registerJsModule('_machine', { reset: machineReset, rtc_get: rtcGet, rtc_set: rtcSet });
  next.runPython(INPUT_PY);
  next.runPython(MACHINE_PY);
  next.runPython(UNAME_PY);
  if (!intrSearched) { intrSearched = true; intr = findInterruptWords(next); globalThis.gc?.(); }
  parentPort.postMessage({ t: 'memory', memory: wasm.memory, intr });
  mp = next;
  if (autorun) mp.runPython(AUTORUN_PY(rawMode ? ['boot.py'] : ['boot.py', 'main.py']));
  raw = rawMode;
  rawEmpty = rawMode;
  if (!rawMode) {
    dropPrefix = [13, 10]; // the event-driven REPL starts its banner with "\r\n"; a board does not
    mp.replInit();
    dropPrefix = null;
  } else {
    // A board reset in the raw REPL comes back in it, without the friendly banner.
    mute = true;
    mp.replInit();
    mp.replProcessChar(1);
    mute = false;
    emitStr('raw REPL; CTRL-B to exit\r\n>');
  }
}

async function softReset() {
  pyTimers.clear();
  emitStr('MPY: soft reboot\r\n');
  await startInterpreter(raw);
  // Free the old instance's memory now (see host.mjs). Twice: its PyProxy
  // FinalizationRegistry keeps it alive until its cleanup task has run.
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 1));
  globalThis.gc?.();
}

// Feed one terminal byte to the REPL. Returns a promise when a reset follows.
function feed(b) {
  if (raw && b === 1 && rawCand === 2) return startRawPaste();
  rawCand = raw && ((rawEmpty && rawCand === 0 && b === 5) || (rawCand === 1 && b === 0x41)) ? rawCand + 1 : 0;
  const r = mp.replProcessChar(b);
  if (b === 1 && tailEndsWith('raw REPL; CTRL-B to exit\r\n>')) { raw = true; rawEmpty = true; }
  else if (b === 2 && tailEndsWith('>>> ')) raw = false;
  else if (raw) rawEmpty = b === 3 || (b === 4 && tailEndsWith('>'));
  if (r !== 0) return softReset(); // Ctrl-D at an empty prompt, or sys.exit()
}

// Raw-paste mode ("\x05A\x01" at the raw prompt). The port's event-driven raw
// REPL would read the code with mp_hal_stdin_rx_chr(), which always returns 0
// in this build, and hang forever. So the host speaks the raw-paste protocol
// itself (window of `pasteWindow` bytes, one "\x01" per window consumed) and
// then runs the code through the plain raw REPL, removing its "OK".
function startRawPaste() {
  rawCand = 0;
  mp.replProcessChar(3); // clear "\x05A" from the raw REPL line (no output)
  emitStr('R\x01');
  emitRaw(pasteWindow & 0xff); emitRaw(pasteWindow >> 8); emit(1);
  paste = { code: [], since: 0 };
}

function pasteByte(b) {
  if (b === 3) { // cancelled: as a board, end the reader and report KeyboardInterrupt
    paste = null;
    emitStr('\x04\x04KeyboardInterrupt: \r\n\x04>');
    rawEmpty = true;
    return;
  }
  if (b !== 4) {
    paste.code.push(b);
    if (++paste.since >= pasteWindow) { paste.since = 0; emit(1); }
    return;
  }
  const code = paste.code.length ? paste.code : [10];
  paste = null;
  emit(4); // "end of data received"
  for (const c of code) mp.replProcessChar(c);
  dropPrefix = [0x4f, 0x4b]; // "OK"
  return feed(4);
}

// Process all queued input. Runs Python code, so it can take any time.
let pumping = false;
async function pump() {
  if (pumping || !mp) return;
  pumping = true;
  try {
    clearStaleInterrupt();
    Atomics.store(ctl, C.STATE, C.STATE_BUSY);
    ctlTime[0] = Date.now();
    for (let b; (b = takeByte()) >= 0;) {
      try {
        const reset = paste ? pasteByte(b) : feed(b);
        if (reset) await reset;
      } catch (e) {
        // A trap inside the interpreter (e.g. out of memory): reboot it, as a crashed board does.
        console.error(`interpreter crashed: ${e?.stack ?? e}`);
        mute = false; dropPrefix = null; paste = null;
        emitStr(`\r\nFATAL: ${e?.message ?? e}\r\n`);
        await softReset();
      }
      ctlTime[0] = Date.now();
    }
  } finally {
    Atomics.store(ctl, C.STATE, C.STATE_IDLE);
    flushOutput();
    pumping = false;
  }
}

inPort.on('message', (data) => { chunks.push(data); pump(); });

// Power-on.
Atomics.store(ctl, C.STATE, C.STATE_BUSY);
ctlTime[0] = Date.now();
await startInterpreter(false);
const m = /v(\d+)\.(\d+)\.(\d+)/.exec(mp.pyimport('sys').version);
flushOutput();
parentPort.postMessage({ t: 'ready', version: m ? m.slice(1, 4).map(Number) : [0, 0, 0], sysVersion: mp.pyimport('sys').version, canInterrupt: intr !== null });
pump();
