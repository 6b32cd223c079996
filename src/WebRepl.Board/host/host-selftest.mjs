// Self-test of host.mjs: spawns it like the C# side does, speaks the frame
// protocol (PROTOCOL-HOST.md) and checks the board's behaviour.
//
//   node host-selftest.mjs            (exit code 0 when all checks pass)
//
// Uses a fresh temporary --root folder, removed at the end.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HOST = fileURLToPath(new URL('./host.mjs', import.meta.url));
const T = {
  INPUT: 0x01, PING: 0x02, RESET: 0x03,
  READY: 0x80, OUTPUT: 0x81, PONG: 0x82, LOG: 0x83,
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Host {
  constructor(root, args = []) {
    this.t0 = Date.now();
    this.proc = spawn(process.execPath, [HOST, '--root', root, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.out = Buffer.alloc(0);   // all OUTPUT bytes
    this.mark = 0;                // waitFor() looks from here
    this.logs = [];
    this.readies = [];
    this.waiters = new Map();     // 'pong' -> resolve
    this.listeners = new Set();
    let buf = Buffer.alloc(0);
    this.proc.stdout.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 5) {
        const len = buf.readUInt32LE(1);
        if (buf.length < 5 + len) break;
        this.onFrame(buf[0], buf.subarray(5, 5 + len));
        buf = buf.subarray(5 + len);
      }
    });
    this.exited = new Promise((r) => this.proc.on('exit', r));
  }

  onFrame(type, p) {
    switch (type) {
      case T.OUTPUT: this.out = Buffer.concat([this.out, p]); break;
      case T.READY: this.readies.push({ ms: Date.now() - this.t0, version: [p[0], p[1], p[2]], flags: p[3], text: p.subarray(4).toString() }); break;
      case T.LOG: this.logs.push(p.toString()); break;
      case T.PONG: this.waiters.get('pong')?.({ state: p[0], busyMs: p.readUInt32LE(1), rssKB: p.readUInt32LE(5), echo: p.subarray(9).toString() }); break;
    }
    for (const l of this.listeners) l();
  }

  send(type, payload = Buffer.alloc(0)) {
    const head = Buffer.alloc(5);
    head[0] = type;
    head.writeUInt32LE(payload.length, 1);
    this.proc.stdin.write(Buffer.concat([head, payload]));
  }
  input(s) { this.send(T.INPUT, Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8')); }

  // Output since the mark (as latin1 text, so every byte is one char).
  get text() { return this.out.subarray(this.mark).toString('latin1'); }
  skip() { this.mark = this.out.length; }

  // Wait until fn() is truthy (re-checked on every frame) or time out.
  until(fn, ms, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = fn();
        if (v) { this.listeners.delete(check); clearTimeout(timer); resolve(v); }
      };
      const timer = setTimeout(() => { this.listeners.delete(check); reject(new Error(`timeout waiting for ${what}; output so far: ${JSON.stringify(this.text.slice(-300))}`)); }, ms);
      this.listeners.add(check);
      check();
    });
  }
  // Wait for text in the output after the mark; returns the output up to and including it, moves the mark past it.
  async waitFor(s, ms = 3000) {
    await this.until(() => this.text.includes(s), ms, JSON.stringify(s));
    const t = this.text;
    const end = t.indexOf(s) + s.length;
    this.mark += end;
    return t.slice(0, end);
  }
  // Send a line to the friendly REPL and return its output up to the
  // `prompts`-th next prompt, without the first echoed line and the last prompt.
  async run(line, ms = 3000, prompts = 1) {
    this.skip();
    this.input(line + '\r');
    let t = '';
    for (let i = 0; i < prompts; i++) t += await this.waitFor('>>> ', ms);
    return t.slice(t.indexOf('\r\n') + 2, -4);
  }
  ping(payload = 'ping') {
    const p = new Promise((r) => this.waiters.set('pong', r));
    this.send(T.PING, Buffer.from(payload));
    return p;
  }
  ready(n = 1, ms = 5000) { return this.until(() => this.readies.length >= n && this.readies[n - 1], ms, 'READY'); }
  async close() { this.proc.stdin.end(); await Promise.race([this.exited, sleep(2000)]); this.proc.kill(); }
}

// ---------------------------------------------------------------------------

let passed = 0, failed = 0;
async function check(name, fn) {
  try {
    const note = await fn();
    passed++;
    console.log(`ok   ${name}${note ? ` (${note})` : ''}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e?.message ?? e}`);
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
const eq = (a, b, what) => assert(a === b, `${what}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'webrepl-board-'));
let h = new Host(root);

await check('starts, sends READY with the version, well under 2 s', async () => {
  const r = await h.ready();
  eq(r.version.join('.'), '1.27.0', 'version');
  assert(r.flags & 1, 'Ctrl-C support flag not set');
  assert(r.ms < 2000, `ready after ${r.ms} ms`);
  return `${r.ms} ms, "${r.text}"`;
});

await check('friendly banner and prompt', async () => {
  const t = await h.waitFor('>>> ');
  assert(/^MicroPython v1\.27\.0 on .*\r\nType "help\(\)" for more information\.\r\n>>> $/.test(t), JSON.stringify(t));
});

await check('RSS after init well under 150 MB', async () => {
  const p = await h.ping('x');
  eq(p.echo, 'x', 'echo');
  eq(p.state, 0, 'state');
  assert(p.rssKB < 150 * 1024, `RSS ${p.rssKB} KiB`);
  return `${Math.round(p.rssKB / 1024)} MB`;
});

await check('print(6*7) gives 42, CRLF line ends', async () => {
  eq(await h.run('print(6*7)'), '42\r\n', 'output');
  eq(await h.run("print('a\\nb')"), 'a\r\nb\r\n', 'output');
});

await check('UTF-8 and binary output pass through', async () => {
  // (the friendly REPL's line editor takes ASCII only, as on a board: escapes here)
  eq(Buffer.from(await h.run("print('\\u00e4\\u00f6\\u20ac')"), 'latin1').toString('utf8'), 'äö€\r\n', 'utf8');
  eq(await h.run("import sys; n = sys.stdout.buffer.write(b'\\xff\\x00\\x80')"), '\xff\x00\x80', 'binary');
});

await check('Ctrl-C at the prompt', async () => {
  h.skip(); h.input('abc\x03');
  eq(await h.waitFor('>>> '), 'abc\r\n>>> ', 'output');
});

for (const [name, code] of [
  ['time.sleep loop', 'import time\rwhile True: time.sleep(0.1)\r\r'],
  ['busy loop', 'while True: pass\r\r'],
  ['long sleep', 'import time; time.sleep(100)\r'],
  ['busy loop in a function', 'def f():\r  while True: x = 1\r\rf()\r'],
]) {
  await check(`Ctrl-C interrupts ${name}`, async () => {
    h.skip();
    h.input(code);
    await sleep(300);
    const p = await h.ping();
    eq(p.state, 1, 'PONG state while running');
    assert(p.busyMs >= 200, `busy ms ${p.busyMs}`);
    h.skip();
    const t0 = Date.now();
    h.input('\x03');
    const t = await h.waitFor('>>> ', 2000);
    assert(t.includes('KeyboardInterrupt: \r\n'), JSON.stringify(t));
    eq(await h.run('1+1'), '2\r\n', 'REPL after interrupt');
    return `${Date.now() - t0} ms`;
  });
}

await check('input() reads a line, echoes, backspace; Ctrl-C interrupts it', async () => {
  h.skip();
  h.input("x = input('name? ')\r");
  await h.waitFor('name? ');
  await sleep(100);
  const p = await h.ping();
  eq(p.state, 2, 'PONG state in input()');
  h.input('Bobb\x7f\r');
  await h.waitFor('>>> ');
  eq(await h.run('x'), "'Bob'\r\n", 'value');
  h.skip();
  h.input('input()\r');
  await sleep(100);
  h.input('\x03');
  assert((await h.waitFor('>>> ')).includes('KeyboardInterrupt'), 'no KeyboardInterrupt');
});

await check('paste mode (Ctrl-E ... Ctrl-D)', async () => {
  h.skip();
  h.input('\x05');
  await h.waitFor('paste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ');
  h.input('def f():\r    return 9\r\rprint(f() * 2)\r');
  await h.waitFor('=== print(f() * 2)\r\n=== ');
  h.input('\x04');
  eq(await h.waitFor('>>> '), '\r\n18\r\n>>> ', 'output');
});

await check('raw REPL: banner, OK, output, \\x04, traceback, \\x04, >', async () => {
  h.skip();
  h.input('\r\x01');
  await h.waitFor('raw REPL; CTRL-B to exit\r\n>');
  h.input('print(1)\nprint(2)\x04');
  eq(await h.waitFor('>'), 'OK1\r\n2\r\n\x04\x04>', 'normal');
  h.input('1/0\x04');
  eq(await h.waitFor('\x04>'), 'OK\x04Traceback (most recent call last):\r\n  File "<stdin>", line 1, in <module>\r\nZeroDivisionError: divide by zero\r\n\x04>', 'error');
});

await check('raw-paste: R\\x01, window, flow control, \\x04 ... \\x04\\x04>', async () => {
  h.skip();
  h.input('\x05A\x01');
  const t = await h.waitFor('R');
  eq(t, 'R', 'reply start');
  await h.until(() => h.out.length - h.mark >= 3, 2000, 'window size');
  eq(h.out[h.mark], 1, 'supported flag');
  const win = h.out.readUInt16LE(h.mark + 1);
  h.mark += 3;
  // Client side as mpremote does it: credit = window, +window per \x01 received.
  const lines = [];
  for (let i = 0; i < 40; i++) lines.push(`print('line ${i} ' + 'x' * 20)`);
  const code = Buffer.from(lines.join('\n'));
  let credit = win, i = 0, grants = 0;
  const take = () => { while (h.out.length > h.mark && h.out[h.mark] === 1) { h.mark++; grants++; credit += win; } };
  while (i < code.length) {
    await h.until(() => { take(); return credit > 0; }, 2000, 'a window');
    const n = Math.min(credit, code.length - i);
    h.input(code.subarray(i, i + n));
    credit -= n; i += n;
    await sleep(5);
  }
  h.input('\x04');
  const rest = await h.waitFor('\x04>');
  take();
  assert(rest.startsWith('\x04line 0 '), JSON.stringify(rest.slice(0, 30)));
  assert(rest.endsWith('line 39 xxxxxxxxxxxxxxxxxxxx\r\n\x04\x04>'), JSON.stringify(rest.slice(-40)));
  assert(grants >= Math.floor(code.length / win), `grants ${grants}`);
  return `window ${win}, ${code.length} bytes, ${grants} grants`;
});

await check('raw-paste: error output and Ctrl-C while running', async () => {
  h.skip();
  h.input('\x05A\x01');
  await h.until(() => h.out.length - h.mark >= 5, 2000, 'raw-paste reply');
  h.skip();
  h.input('import time\nprint(1)\nwhile True: time.sleep(0.05)\x04');
  await h.waitFor('\x041\r\n');
  h.input('\x03');
  eq(await h.waitFor('\x04>'), '\x04Traceback (most recent call last):\r\n  File "<stdin>", line 3, in <module>\r\nKeyboardInterrupt: \r\n\x04>', 'output');
});

await check('raw REPL Ctrl-D = soft reset, back in the raw REPL', async () => {
  h.skip();
  h.input('x = 1\x04');
  await h.waitFor('\x04\x04>');
  h.input('\x04');
  eq(await h.waitFor('>'), 'OK\r\nMPY: soft reboot\r\nraw REPL; CTRL-B to exit\r\n>', 'output');
  h.input('print(x)\x04');
  assert((await h.waitFor('\x04>')).includes("NameError: name 'x' isn't defined"), 'state survived the reset');
});

await check('Ctrl-B back to the friendly REPL', async () => {
  h.skip();
  h.input('\x02');
  assert(/^\r\nMicroPython v1\.27\.0 on .*\r\nType "help\(\)" for more information\.\r\n>>> $/.test(await h.waitFor('>>> ')), 'banner');
});

await check('Ctrl-D = soft reset: state cleared, files kept', async () => {
  await h.run("x = 5; f = open('keep.txt', 'w'); f.write('kept'); f.close()");
  h.skip();
  h.input('\x04');
  const t = await h.waitFor('>>> ');
  assert(/^\r\nMPY: soft reboot\r\nMicroPython v1\.27\.0 on .*\r\nType "help\(\)" for more information\.\r\n>>> $/.test(t), JSON.stringify(t));
  assert((await h.run('x')).includes("NameError: name 'x' isn't defined"), 'x survived');
  eq(await h.run("open('keep.txt').read()"), "'kept'\r\n", 'file');
});

await check('sys.exit() at the prompt = soft reset', async () => {
  h.skip();
  h.input('import sys; sys.exit()\r');
  assert((await h.waitFor('>>> ')).includes('MPY: soft reboot\r\n'), 'no soft reboot');
});

// The parent (C#) serves WebREPL's PUT and GET from the --root folder itself: what it writes there, Python sees at
// once, and what Python writes is on the disk at once (hostfs.mjs keeps no cache).
const onDisk = (name) => path.join(root, name);

await check('files: written to the root from outside seen by open(), import and os.listdir(); folders', async () => {
  fs.writeFileSync(onDisk('hello.txt'), 'hi there');
  eq(await h.run("open('/hello.txt').read()"), "'hi there'\r\n", 'read in Python');
  fs.mkdirSync(onDisk('lib'));
  fs.writeFileSync(onDisk('lib/mod.py'), 'X = 42\n');
  eq(await h.run('import mod; mod.X'), '42\r\n', 'import from /lib');
  eq(await h.run("import os; sorted(os.listdir('/'))"), "['hello.txt', 'keep.txt', 'lib']\r\n", 'listdir');
  eq(await h.run("os.listdir('lib')"), "['mod.py']\r\n", 'listdir lib');
});

await check('files: Python writes, the disk has them at once; binary safe', async () => {
  await h.run("os.mkdir('data'); f = open('data/b.bin', 'wb'); f.write(bytes(range(256))); f.close()");
  assert(fs.readFileSync(onDisk('data/b.bin')).equals(Buffer.from(Array.from({ length: 256 }, (_, i) => i))), 'content');
  assert(fs.statSync(onDisk('data')).isDirectory(), 'folder');
  fs.writeFileSync(onDisk('data/up.bin'), Buffer.from([0, 255, 13, 10, 4]));
  eq(await h.run("open('data/up.bin', 'rb').read()"), "b'\\x00\\xff\\r\\n\\x04'\r\n", 'binary seen by Python');
  eq(await h.run("os.stat('data/b.bin')[6]"), '256\r\n', 'size');
});

await check('files: renamed and deleted from outside, seen by Python', async () => {
  fs.mkdirSync(onDisk('m/n'), { recursive: true });
  fs.renameSync(onDisk('hello.txt'), onDisk('m/n/hello2.txt'));
  eq(await h.run("open('m/n/hello2.txt').read()"), "'hi there'\r\n", 'renamed file in Python');
  fs.rmSync(onDisk('m'), { recursive: true });
  eq(await h.run("'m' in os.listdir()"), 'False\r\n', 'gone for Python');
  // a file Python looked at, deleted from outside, then created again by Python
  await h.run("open('tmp.txt', 'w').write('1')");
  fs.unlinkSync(onDisk('tmp.txt'));
  eq(await h.run("open('tmp.txt', 'w').write('22'); open('tmp.txt').read()"), "2\r\n'22'\r\n", 'recreate');
});

await check('Python sees Linux errno numbers (OSError: [Errno 2] ENOENT)', async () => {
  const t = await h.run("open('missing.txt')");
  assert(t.includes('OSError: [Errno 2] ENOENT'), JSON.stringify(t));
  eq(await h.run("import errno\rtry:\r open('missing.txt')\rexcept OSError as e:\r print(e.errno == errno.ENOENT)\r", 3000, 2).then((t) => t.slice(-6)), 'True\r\n', 'errno.ENOENT');
});

await check('import js gives no access to the host', async () => {
  let t = await h.run('import js; js.process');
  assert(t.includes('AttributeError'), JSON.stringify(t));
  t = await h.run('import jsffi; jsffi.to_js([1]).constructor.constructor("return 1")()');
  assert(t.includes('TypeError'), JSON.stringify(t));
  eq(await h.run("t = js.setTimeout(lambda: print('tick'), 10)"), '', 'timer');
  await h.waitFor('tick\r\n');
});

await check('a big output flood arrives complete', async () => {
  const t0 = Date.now();
  const t = await h.run('for i in range(20000): print(i)\r', 20000);
  assert(t.endsWith('19998\r\n19999\r\n'), JSON.stringify(t.slice(-30)));
  eq(t.split('\r\n').filter((l) => /^\d+$/.test(l)).length, 20000, 'lines');
  return `${Date.now() - t0} ms`;
});

await check('MemoryError instead of unbounded growth; reset frees the memory', async () => {
  const t = await h.run('l = []\rwhile True: l.append(bytearray(1000000))\r', 20000, 2);
  assert(t.includes('MemoryError'), JSON.stringify(t.slice(-200)));
  const before = (await h.ping()).rssKB;
  h.skip();
  h.input('\x04');
  await h.waitFor('>>> ');
  await sleep(1500);
  const after = (await h.ping()).rssKB;
  assert(after < 150 * 1024, `RSS after reset ${after} KiB`);
  return `RSS ${Math.round(before / 1024)} MB -> ${Math.round(after / 1024)} MB`;
});

await check('hard RESET frame restarts the interpreter', async () => {
  await h.run('y = 3');
  h.skip();
  h.send(T.RESET);
  await h.ready(2);
  await h.waitFor('>>> ');
  assert((await h.run('y')).includes('NameError'), 'state survived');
});

await h.close();

await check('files persist across a restart of host.mjs; --autorun runs main.py', async () => {
  fs.writeFileSync(path.join(root, 'main.py'), "print('main.py ran')\n");
  h = new Host(root, ['--autorun']);
  await h.ready();
  const t = await h.waitFor('>>> ');
  assert(t.startsWith('main.py ran\r\nMicroPython v1.27.0'), JSON.stringify(t));
  eq(await h.run("open('keep.txt').read()"), "'kept'\r\n", 'file from the first run');
  await h.close();
});

fs.rmSync(root, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
