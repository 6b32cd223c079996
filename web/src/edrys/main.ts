// The Edrys module (served at /edrys/): the station holds the board connection and relays the terminal;
// teachers and students type into the same session; editor modules' code runs on the execute topic.
//
//  student/teacher ── data, put_file, get_file, connect ──►  station ──ws──► board (or gateway)
//                  ◄── write, got_file ─────────────────────  (raw REPL for execute, on-idle script)

import { Board, BoardState, errorText } from '../board';
import { mixedContentProblem } from '../protocol';
import { InterruptedError } from '../rawrepl';
import { byId, createTerminal, formatBytes, note, saveBytes } from '../ui/term';
import { asObject, edrys, EdrysApi, EdrysMessage, ExecuteRequest, moduleSettings, parseExecute, send, SharedState, toBytes } from './edrys-api';
import './edrys.css';

const urlInput = byId<HTMLInputElement>('url');
const connectButton = byId<HTMLButtonElement>('connect');
const statusText = byId<HTMLSpanElement>('status');
const versionText = byId<HTMLSpanElement>('version');
const warning = byId<HTMLDivElement>('warning');
const putInput = byId<HTMLInputElement>('put-input');
const getName = byId<HTMLInputElement>('get-name');
const getButton = byId<HTMLButtonElement>('get-button');
const fileStatus = byId<HTMLSpanElement>('file-status');

const api: EdrysApi | null = edrys();
// edrys.js learns the role from Edrys's first update (after this script ran): ask it each time.
const isStation = (): boolean => !api || api.role === 'station';
const shared = api ? new SharedState(api) : null;
const term = createTerminal(byId('terminal'), (text) => typed(text));
const pendingGets = new Set<string>();

let config: Record<string, unknown> = {};
let executeTopic = 'execute';
let board: Board | null = null;

document.body.dataset.role = api ? (api.role ?? '') : 'station';

function show(text: string): void {
  term.terminal.write(text);
  relay(text);
}

// Board output goes to the others in batches: one message per board frame would flood the room.
let relayBuffer = '';
let relayTimer: ReturnType<typeof setTimeout> | null = null;
function relay(text: string): void {
  if (!api || !isStation()) return;
  relayBuffer += text;
  relayTimer ??= setTimeout(() => {
    relayTimer = null;
    const body = relayBuffer;
    relayBuffer = '';
    keepScrollback(body);
    send(api, 'write', body);
  }, 25);
}

/**
 * The recent output the station relayed, for those who join later: each asks once its module is ready (a message
 * sent when Edrys lists a new user could reach a page that has not loaded yet), and the station answers that user
 * alone. The station, not the gateway, keeps it: students never connect to the gateway, they see what the station
 * relays. It is what was sent as 'write' before the answer, so a joiner that shows it, then the writes after it,
 * sees each byte once.
 */
const ScrollbackChars = 32 * 1024;
let scrollback = '';
function keepScrollback(text: string): void {
  scrollback += text;
  if (scrollback.length > ScrollbackChars) {
    // Cut at a line start, so that no escape sequence or character is cut in two.
    const cut = scrollback.indexOf('\n', scrollback.length - ScrollbackChars);
    scrollback = cut < 0 ? scrollback.slice(-ScrollbackChars) : scrollback.slice(cut + 1);
  }
}

/** Who may connect and disconnect the station's board: the station, and teachers (not students). */
function mayConnect(role: string | undefined): boolean {
  return role === 'station' || role === 'teacher';
}

function roleOf(user: string): string | undefined {
  return api?.liveClass?.users?.[user]?.role;
}

function setFileStatus(text: string): void {
  fileStatus.textContent = text;
  if (isStation()) shared?.set('file_status', text);
}

function setStatus(text: string, state: BoardState | 'remote'): void {
  statusText.textContent = text;
  document.body.dataset.state = state;
}

/** Keys and pastes typed here: to the board at the station, to the station from anyone else. */
function typed(data: string): void {
  if (isStation()) {
    board?.keys(data);
  } else if (api) {
    send(api, 'data', data.replace(/\r\n|\n/g, '\r'));
  }
}
term.terminal.onData(typed);

// ---- the station ----

function createBoard(): Board {
  let previous: BoardState = 'disconnected';
  return new Board({
    output: (text) => {
      show(text);
      answerPassword(text);
    },
    state: (state, detail) => {
      const text =
        state === 'connecting' ? `Connecting to ${detail}…` :
        state === 'login' ? 'Connected: type the password in the terminal' :
        state === 'connected' ? 'Connected' :
        detail ? `Disconnected: ${detail}` : 'Disconnected';
      setStatus(text, state);
      shared?.set('status', text);
      connectButton.textContent = state === 'disconnected' ? 'Connect' : 'Disconnect';
      if (state === 'disconnected') {
        versionText.hidden = true;
        shared?.set('version', '');
        if (previous !== 'disconnected') show(note(`Disconnected${detail ? `: ${detail}` : ''}`, '31'));
      }
      previous = state;
    },
    version: (version) => {
      versionText.textContent = `MicroPython ${version}`;
      versionText.hidden = false;
      shared?.set('version', version);
    },
  });
}

/**
 * An unattended station may be given the password (stationConfig.password): it answers the prompt itself. Edrys
 * delivers a module's stationConfig to every role, students included, so this is kept only for old set-ups; the
 * documented way is a gateway that holds the password of a named board and logs the station in (docs/gateway.md,
 * "Settings file", its BoardPasswords), so that the page never needs it.
 */
const passwordWarning =
  'stationConfig.password is visible to every role in Edrys, students included: put the password in the gateway ' +
  '("BoardPasswords" in its settings file) and use ws://localhost:8765/boards/NAME instead.';
function warnAboutPassword(): void {
  if (typeof config.password !== 'string' || !config.password) return;
  console.warn(passwordWarning);
  // Not relayed: the others' terminals need not carry it; the station's owner sees it here and in the console.
  if (isStation() || api?.role === 'teacher') term.terminal.write(note(passwordWarning, '33'));
}

let passwordTail = '';
function answerPassword(text: string): void {
  const password = typeof config.password === 'string' ? config.password : '';
  if (!password || board?.state !== 'login') return;
  passwordTail = (passwordTail + text).slice(-16);
  if (passwordTail.endsWith('Password: ')) {
    passwordTail = '';
    board.keys(`${password}\r`);
  }
}

async function stationConnect(url: string): Promise<void> {
  const problem = mixedContentProblem(location.protocol, url);
  if (problem) {
    warning.textContent = problem;
    warning.hidden = false;
    show(note(problem, '33'));
    setStatus('Not connected: an HTTPS page needs wss://', 'disconnected');
    shared?.set('status', 'Not connected: an HTTPS page needs wss:// (the gateway with TLS)');
    return;
  }
  warning.hidden = true;
  shared?.set('url', url);
  board ??= createBoard();
  try {
    await board.connect(url);
  } catch {
    // shown by the state handler
  }
}

/** Runs an editor's code: interrupts what runs, writes the files, runs, and shows the output to everyone. */
async function runExecute(request: ExecuteRequest): Promise<void> {
  if (!board || board.state !== 'connected') {
    show(note(`Cannot run ${request.label}: the station is not connected to the board.`, '31'));
    return;
  }
  board.interrupt(); // a run in progress ends (KeyboardInterrupt), then this one starts
  const names = Object.keys(request.files);
  try {
    const result = await board.execute(request.files, request.code, {
      onStart: () => show(note(names.length > 0 ? `▶ writing ${names.join(', ')} and running ${request.label}` : '▶ running code', '36')),
      onStdout: (text) => show(text),
      onStderr: (text) => show(`\x1b[31m${text}\x1b[0m`),
    });
    show(result.stdout.endsWith('\n') || result.stderr || !result.stdout ? '>>> ' : '\r\n>>> ');
  } catch (error) {
    show(note(error instanceof InterruptedError ? 'Run interrupted by a newer one' : `Run failed: ${errorText(error)}`, '31'));
  }
}

/** The on-idle script: stationConfig.on_idle (a file on the board), or self_charge.py for self_charge_alvik. */
function idleScript(): string | null {
  if (typeof config.on_idle === 'string' && config.on_idle.trim()) return config.on_idle.trim();
  if (config.self_charge_alvik === true || config.self_charge_alvik === 'true') return 'self_charge.py';
  return null;
}

let lastUsers = 0;
function checkIdle(): void {
  if (!api || !isStation()) return;
  const script = idleScript();
  const users = api.liveClass?.users;
  if (!script || !users) return;
  const me = api.liveUser?.displayName ?? api.username;
  const stationRoom = api.liveUser?.room;
  // People in the station's room, the station itself left out.
  const present = Object.values(users).filter(
    (u) => u && u.displayName !== me && !u.displayName?.startsWith('Station') && (stationRoom ? u.room === stationRoom : u.room?.startsWith('Station')),
  ).length;
  if (present === 0 && lastUsers > 0 && board?.state === 'connected') {
    show(note(`Everyone left: running ${script}`, '36'));
    void runExecute({ files: {}, code: `exec(open(${JSON.stringify(script)}).read(), {'__name__': '__main__'})\n`, label: script });
  }
  lastUsers = present;
}

function onStationMessage(message: EdrysMessage, self: boolean): void {
  if (message.subject === executeTopic) {
    const request = parseExecute(message.body);
    if (request) void runExecute(request);
    return;
  }
  if (self) return;
  switch (message.subject) {
    case 'data':
      if (typeof message.body === 'string') board?.keys(message.body);
      break;
    case 'connect':
    case 'disconnect':
      if (!mayConnect(roleOf(message.from))) {
        // A student's page does not offer the button; a request from one (an old page) changes nothing.
        show(note(`${message.from} may not ${message.subject} the board: the station and teachers do.`));
        break;
      }
      if (message.subject === 'disconnect') board?.disconnect();
      else void stationConnect(typeof message.body === 'string' && message.body ? message.body : urlInput.value.trim());
      break;
    case 'scrollback':
      // A page that has just joined asks for what it missed (see keepScrollback).
      if (api && scrollback) send(api, 'scrollback', scrollback, message.from);
      break;
    case 'run_self_charge': {
      const script = idleScript();
      if (script) void runExecute({ files: {}, code: `exec(open(${JSON.stringify(script)}).read())\n`, label: script });
      break;
    }
    case 'put_file': {
      const body = asObject(message.body);
      if (typeof body?.filename === 'string' && body.filename) void stationPut(body.filename, toBytes(body.data));
      break;
    }
    case 'get_file':
      if (typeof message.body === 'string' && message.body) void stationGet(message.body, message.from);
      break;
  }
}

async function stationPut(name: string, data: Uint8Array): Promise<void> {
  if (!board || board.state !== 'connected') {
    setFileStatus(`Cannot send ${name}: not connected`);
    return;
  }
  try {
    await board.putFile(name, data, (done, total) => setFileStatus(`Sending ${name}: ${formatBytes(done)} of ${formatBytes(total ?? 0)}`));
    setFileStatus(`Sent ${name}, ${data.length} bytes`);
  } catch (error) {
    setFileStatus(`Sending ${name} failed: ${errorText(error)}`);
  }
}

/** Gets a file from the board: for the station itself, or for `requester` (who alone is sent the file). */
async function stationGet(name: string, requester?: string): Promise<Uint8Array | null> {
  if (!board || board.state !== 'connected') {
    setFileStatus(`Cannot get ${name}: not connected`);
    return null;
  }
  try {
    // Asked first when the board is idle: a GET of a missing file drops the session, and a known size lets it run pipelined.
    const asked = board.atPrompt;
    const size = asked ? await board.fileSize(name) : null;
    if (size === null && asked) {
      setFileStatus(`The board has no file ${name}`);
      return null;
    }
    const data = await board.getFile(name, (done) => setFileStatus(`Getting ${name}: ${formatBytes(done)}`), size);
    setFileStatus(`Got ${name}, ${data.length} bytes`);
    if (api && requester) send(api, 'got_file', { filename: name, data }, requester);
    return data;
  } catch (error) {
    setFileStatus(`Getting ${name} failed: ${errorText(error)}`);
    return null;
  }
}

// ---- everyone else ----

function onRemoteMessage(message: EdrysMessage, self: boolean): void {
  if (self) return;
  switch (message.subject) {
    case 'write':
      if (typeof message.body === 'string') term.terminal.write(message.body);
      break;
    case 'scrollback':
      // The station's answer to this page's request (others' requests, with no body, go to everyone: not these).
      if (typeof message.body === 'string' && message.body && roleOf(message.from) === 'station') {
        term.terminal.reset();
        term.terminal.write(message.body);
      }
      break;
    case 'got_file': {
      const body = asObject(message.body);
      if (typeof body?.filename === 'string' && pendingGets.delete(body.filename)) {
        const renamed = saveBytes(body.filename, toBytes(body.data));
        if (renamed) setFileStatus(`Got ${body.filename}; ${renamed}`);
      }
      break;
    }
  }
}

function refreshFromState(): void {
  if (!shared) return;
  const url = shared.get('url');
  if (typeof url === 'string' && document.activeElement !== urlInput) urlInput.value = url;
  const status = shared.get('file_status');
  if (typeof status === 'string' && !isStation()) fileStatus.textContent = status;
  if (!isStation()) {
    const text = shared.get('status');
    const statusString = typeof text === 'string' ? text : 'Waiting for the station';
    setStatus(statusString, 'remote');
    document.body.dataset.state = statusString.startsWith('Connected') ? 'connected' : 'disconnected';
    connectButton.textContent = statusString.startsWith('Disconnected') || statusString.startsWith('Not') ? 'Connect' : 'Disconnect';
    // Students see the state, not a button that drives the station's board.
    const allowed = mayConnect(api?.role);
    connectButton.hidden = !allowed;
    connectButton.disabled = !allowed;
    const version = shared.get('version');
    versionText.hidden = !(typeof version === 'string' && version);
    versionText.textContent = `MicroPython ${version}`;
  }
}

// ---- wiring ----

connectButton.addEventListener('click', () => {
  const url = urlInput.value.trim();
  if (isStation()) {
    if (board && board.state !== 'disconnected') board.disconnect();
    else void stationConnect(url);
  } else if (connectButton.textContent === 'Connect') {
    shared?.set('url', url);
    if (api) send(api, 'connect', url);
  } else if (api) {
    send(api, 'disconnect', '');
  }
});
urlInput.addEventListener('change', () => {
  if (api?.role !== 'student') shared?.set('url', urlInput.value.trim());
});

putInput.addEventListener('change', async () => {
  const files = [...(putInput.files ?? [])];
  putInput.value = '';
  for (const file of files) {
    const data = new Uint8Array(await file.arrayBuffer());
    if (isStation()) await stationPut(file.name, data);
    else if (api) send(api, 'put_file', { filename: file.name, data });
  }
});

getButton.addEventListener('click', async () => {
  const name = getName.value.trim();
  if (!name) return;
  if (isStation()) {
    const data = await stationGet(name);
    const renamed = data ? saveBytes(name, data) : null;
    if (renamed) setFileStatus(`Got ${name}; ${renamed}`);
  } else {
    pendingGets.add(name);
    if (api) send(api, 'get_file', name);
  }
});

if (!api) {
  warning.textContent = 'Edrys was not found (edrys.js did not load): this page works alone as a station terminal.';
  warning.hidden = false;
  setStatus('Disconnected', 'disconnected');
  board = createBoard();
} else {
  setStatus('Waiting for Edrys', 'remote');
  api.onMessage((message) => {
    const me = api.liveUser?.name ?? api.username;
    const self = message.from === me;
    if (isStation()) onStationMessage(message, self);
    else onRemoteMessage(message, self);
  }, true);
  api.onReady(() => {
    config = moduleSettings(api);
    executeTopic = typeof config.execute === 'string' && config.execute ? config.execute : 'execute';
    document.body.dataset.role = api.role;
    warnAboutPassword();
    urlInput.disabled = api.role === 'student';
    if (!isStation()) send(api, 'scrollback', ''); // what the station showed before this page was there
    if (isStation()) {
      setStatus('Disconnected', 'disconnected');
      board = createBoard();
      const stateUrl = shared?.get('url');
      const url = (typeof config.websocket === 'string' && config.websocket) || (typeof stateUrl === 'string' && stateUrl) || '';
      urlInput.value = url;
      if (url) void stationConnect(url);
    }
    refreshFromState();
    checkIdle();
  });
  api.onUpdate(() => {
    refreshFromState();
    checkIdle();
  });
}

(window as unknown as { webrepl: object }).webrepl = {
  terminalText: () => term.text(),
  role: () => api?.role ?? 'station',
  state: () => board?.state ?? 'remote',
};
