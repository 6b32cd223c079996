// The terminal page (served at /): a WebREPL terminal with file transfer and a file panel.

import { Board, BoardState, Entry, errorText } from '../board';
import { ConnectionClosedError } from '../connection';
import { checkName, joinPath, mixedContentProblem } from '../protocol';
import { byId, createTerminal, formatBytes, note, saveBytes } from '../ui/term';
import './terminal.css';

const urlInput = byId<HTMLInputElement>('url');
const connectButton = byId<HTMLButtonElement>('connect');
const statusText = byId<HTMLSpanElement>('status');
const versionText = byId<HTMLSpanElement>('version');
const warning = byId<HTMLDivElement>('warning');
const putFolder = byId<HTMLInputElement>('put-folder');
const putInput = byId<HTMLInputElement>('put-input');
const dropZone = byId<HTMLDivElement>('drop-zone');
const getName = byId<HTMLInputElement>('get-name');
const getButton = byId<HTMLButtonElement>('get-button');
const listFolder = byId<HTMLInputElement>('list-folder');
const listButton = byId<HTMLButtonElement>('list-button');
const listStatus = byId<HTMLSpanElement>('list-status');
const fileList = byId<HTMLTableSectionElement>('file-list');

const term = createTerminal(byId('terminal'), (text) => void board.paste(text));

const board = new Board({
  output: (text) => term.terminal.write(text),
  state: (state, detail) => showState(state, detail),
  version: (version) => {
    versionText.textContent = `MicroPython ${version}`;
    versionText.hidden = false;
  },
});

term.terminal.onData((data) => board.keys(data));

/** An example address, and what to type when the page cannot name a board. */
const ExampleUrl = 'ws://192.168.4.1:8266';
const NoBoardHint =
  `Type the board's address (e.g. ${ExampleUrl}), or a gateway's forwarding URL (ws://GATEWAY/ws://BOARD:8266), then Connect.`;

/** A named board of the gateway that served the page (GET /api/boards). */
interface NamedBoard {
  name: string;
  path: string;
}

/**
 * The URL to offer: the hash (kept across reloads), else the gateway's named board (the one named 'virtual' if
 * there is one, else the first), else none: the field stays empty and the page says what to type.
 */
async function initialUrl(): Promise<string> {
  const hash = decodeURIComponent(location.hash.slice(1));
  if (hash) {
    return /^wss?:\/\//i.test(hash) ? hash : `ws://${hash}`;
  }
  if (location.protocol !== 'http:' && location.protocol !== 'https:') {
    return '';
  }
  try {
    const response = await fetch('/api/boards', { headers: { Accept: 'application/json' } });
    if (!response.ok) return '';
    const boards = (await response.json()) as NamedBoard[];
    const board = Array.isArray(boards) ? (boards.find((b) => b.name === 'virtual') ?? boards[0]) : undefined;
    if (!board || typeof board.path !== 'string') return '';
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${board.path}`;
  } catch {
    return ''; // not served by a gateway (static files elsewhere), or the gateway is gone
  }
}

function showWarning(text: string | null): void {
  warning.textContent = text ?? '';
  warning.hidden = text === null;
  term.fit();
}

let shownState: BoardState = 'disconnected';

function showState(state: BoardState, detail: string): void {
  const previous = shownState;
  shownState = state;
  document.body.dataset.state = state;
  const connected = state !== 'disconnected';
  connectButton.textContent = connected ? 'Disconnect' : 'Connect';
  urlInput.disabled = connected;
  for (const control of [getButton, listButton, putInput]) {
    control.disabled = state !== 'connected';
  }
  switch (state) {
    case 'connecting':
      statusText.textContent = `Connecting to ${detail}…`;
      break;
    case 'login':
      statusText.textContent = 'Connected: type the password in the terminal';
      term.terminal.focus();
      break;
    case 'connected':
      statusText.textContent = 'Connected';
      void refreshList();
      break;
    case 'disconnected':
      statusText.textContent = detail ? `Disconnected: ${detail}` : 'Disconnected';
      versionText.hidden = true;
      if (previous !== 'disconnected') {
        // A Disconnect the user asked for is no error: said plainly, not in red.
        term.terminal.write(detail ? note(`Disconnected: ${detail}`, '31') : note('Disconnected.'));
        markListStale('Not connected: the list is from before.');
      }
      break;
  }
}

async function connect(): Promise<void> {
  const url = urlInput.value.trim();
  if (!url) {
    term.terminal.write(note(NoBoardHint, '33'));
    urlInput.focus();
    return;
  }
  const problem = mixedContentProblem(location.protocol, url);
  if (problem) {
    showWarning(problem);
    term.terminal.write(note(problem, '33'));
    return;
  }
  showWarning(null);
  history.replaceState(null, '', `#${url}`);
  try {
    await board.connect(url);
  } catch {
    // shown by the state handler
  }
}

connectButton.addEventListener('click', () => {
  if (board.state === 'disconnected') {
    void connect();
  } else {
    board.disconnect();
  }
});
urlInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter') void connect();
});

/** A panel's own status line and progress bar: each panel says what happened to what it was asked. */
interface PanelStatus {
  (text: string, done?: number, total?: number | null): void;
  readonly text: string;
}

function panelStatus(statusId: string, progressId: string): PanelStatus {
  const status = byId<HTMLSpanElement>(statusId);
  const progress = byId<HTMLProgressElement>(progressId);
  const show = (text: string, done?: number, total?: number | null) => {
    status.textContent = text;
    if (done === undefined) {
      progress.hidden = true;
      return;
    }
    progress.hidden = false;
    if (total) {
      progress.max = total;
      progress.value = done;
    } else {
      progress.removeAttribute('value'); // indeterminate while the size is unknown
    }
  };
  return Object.defineProperty(show, 'text', { get: () => status.textContent ?? '' }) as PanelStatus;
}

const putProgress = panelStatus('put-status', 'put-progress');
const getProgress = panelStatus('get-status', 'get-progress');

/** What a busy board is, in the words the panels use. */
const BusyText = 'the board is busy (a program runs, or a line is half typed: see the terminal)';

/** Sends the files to the chosen folder, one after another, with progress. */
async function sendFiles(files: File[]): Promise<void> {
  if (files.length === 0) return;
  if (board.state !== 'connected') {
    putProgress('Connect and log in first.');
    return;
  }
  const folder = putFolder.value.trim() || '/';
  for (const file of files) {
    const problem = checkName(joinPath(folder, file.name));
    if (problem) {
      putProgress(`Not sent: ${problem}.`);
      return;
    }
  }
  try {
    if (folder !== '/' && folder !== '' && board.atPrompt) {
      await board.makeFolder(folder); // a PUT into a missing folder gets no reply and can drop the session
    }
    for (const [index, file] of files.entries()) {
      const path = joinPath(folder, file.name);
      const data = new Uint8Array(await file.arrayBuffer());
      const label = files.length > 1 ? ` (${index + 1}/${files.length})` : '';
      await board.putFile(path, data, (done, total) =>
        putProgress(`Sending ${path}${label}: ${formatBytes(done)} of ${formatBytes(total ?? data.length)}`, done, total),
      );
      putProgress(`Sent ${path}, ${data.length} bytes${label}`);
    }
    if (files.length > 1) putProgress(`Sent ${files.length} files to ${folder}`);
    // The list follows when it shows that folder; its own line says if it cannot (the board is busy).
    if (listFolder.value.trim() === folder) void refreshList();
  } catch (error) {
    putProgress(`Sending failed: ${errorText(error)}`);
  }
}

/** Gets a file; `listedSize` (the file panel's) serves when the board is busy and cannot be asked. */
async function fetchFile(path: string, listedSize?: number): Promise<void> {
  const problem = checkName(path);
  if (problem) {
    getProgress(`Not asked: ${problem}.`);
    return;
  }
  if (board.state !== 'connected') {
    getProgress('Connect and log in first.');
    return;
  }
  // A board drops the connection on a GET of a file it cannot open. At the prompt the page checks first (through
  // the REPL); when the board is busy it cannot without interrupting, so it asks before taking the risk.
  // A size from the file panel's listing means the file was there a moment ago: no need to ask.
  const checked = board.atPrompt;
  if (
    !checked &&
    listedSize === undefined &&
    !confirm(
      `${BusyText[0].toUpperCase()}${BusyText.slice(1)}, so the page cannot check that ${path} exists. ` +
        'If the board has no such file, it drops the connection. Get it anyway?',
    )
  ) {
    getProgress(`Not asked: ${BusyText}; press Enter or Ctrl-C in the terminal, then Get.`);
    return;
  }
  try {
    // Asked first when the board is idle: a known size lets the GET run pipelined.
    const size = checked ? await board.fileSize(path) : (listedSize ?? null);
    if (size === null && checked) {
      getProgress(`The board has no file ${path}.`);
      return;
    }
    const data = await board.getFile(
      path,
      (done, total) => getProgress(`Getting ${path}: ${formatBytes(done)}${total ? ` of ${formatBytes(total)}` : ''}`, done, total),
      size,
    );
    const renamed = saveBytes(path, data);
    getProgress(`Got ${path}, ${data.length} bytes${renamed ? `; ${renamed}` : ''}`);
  } catch (error) {
    if (error instanceof ConnectionClosedError || !board.isConnected) {
      // What a board does when it cannot open the file: it says nothing and drops the connection.
      getProgress(`Getting ${path} failed: the connection dropped (${errorText(error)}). The board probably has no file ${path}; connect again.`);
    } else {
      getProgress(`Getting failed: ${errorText(error)}`);
    }
  }
}

putInput.addEventListener('change', () => {
  const files = [...(putInput.files ?? [])];
  putInput.value = '';
  void sendFiles(files);
});
/** True for a drag that carries files (not text or a link dragged within the page). */
function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes('Files') ?? false;
}

/** The dropped files; folders (which browsers list as files too) are left out and counted. */
function droppedFiles(data: DataTransfer): { files: File[]; folders: number } {
  const files: File[] = [];
  let folders = 0;
  const items = [...data.items].filter((item) => item.kind === 'file');
  if (items.length === 0) return { files: [...data.files], folders };
  for (const item of items) {
    const entry = item.webkitGetAsEntry?.();
    const file = item.getAsFile();
    if (entry?.isDirectory) folders++;
    else if (file) files.push(file);
  }
  return { files, folders };
}

// Files may be dropped on the drop zone or anywhere on the page; the zone lights up while files are dragged over.
for (const target of [dropZone, document.body]) {
  for (const type of ['dragenter', 'dragover'] as const) {
    target.addEventListener(type, (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
      dropZone.classList.add('over');
    });
  }
  target.addEventListener('dragleave', (event) => {
    // Leaving the page (no element to go to), not moving between its elements (dragover adds the class again).
    if (event.relatedTarget === null || !document.body.contains(event.relatedTarget as Node)) dropZone.classList.remove('over');
  });
  target.addEventListener('drop', (event) => {
    dropZone.classList.remove('over');
    if (!event.dataTransfer || !carriesFiles(event)) return;
    event.preventDefault();
    event.stopPropagation();
    const { files, folders } = droppedFiles(event.dataTransfer);
    if (folders > 0 && files.length === 0) {
      putProgress('Not sent: drop files, not folders.');
      return;
    }
    void sendFiles(files).then(() => {
      if (folders > 0) putProgress(`${putProgress.text} (${folders === 1 ? 'a folder was' : `${folders} folders were`} left out)`);
    });
  });
}
getButton.addEventListener('click', () => void fetchFile(getName.value.trim()));
getName.addEventListener('keydown', (event) => {
  if (event.key === 'Enter') void fetchFile(getName.value.trim());
});

/** Keeps the list on screen but marks it as out of date (greyed, its actions off), with the reason. */
function markListStale(reason: string): void {
  if (fileList.rows.length === 0) return;
  fileList.parentElement?.classList.add('stale');
  for (const control of fileList.querySelectorAll('button')) control.disabled = true;
  listStatus.textContent = reason;
}

/** Lists the folder through the REPL, when nothing runs (listing would interrupt a program). */
async function refreshList(): Promise<void> {
  if (board.state !== 'connected') {
    listStatus.textContent = 'Connect and log in first.';
    return;
  }
  const folder = listFolder.value.trim() || '/';
  if (!board.atPrompt) {
    markListStale('');
    listStatus.textContent = `Not listed: ${BusyText}; press Enter or Ctrl-C, then Refresh.`;
    return;
  }
  listStatus.textContent = `Listing ${folder}…`;
  try {
    const entries = await board.list(folder);
    renderList(folder, entries);
    listStatus.textContent = `${folder}: ${entries.length === 0 ? 'empty' : entries.length === 1 ? '1 entry' : `${entries.length} entries`}`;
  } catch (error) {
    // No list is better than one that looks current: what is shown would be another folder's, or old.
    fileList.replaceChildren();
    fileList.parentElement?.classList.remove('stale');
    listStatus.textContent = `Listing ${folder} failed: ${errorText(error)}`;
  }
}

function renderList(folder: string, entries: Entry[]): void {
  fileList.replaceChildren();
  fileList.parentElement?.classList.remove('stale');
  for (const entry of entries) {
    const path = joinPath(folder, entry.name);
    const row = fileList.insertRow();
    row.dataset.name = entry.name;
    const name = row.insertCell();
    if (entry.isDir) {
      const open = document.createElement('a');
      open.href = '#';
      open.textContent = `${entry.name}/`;
      open.addEventListener('click', (event) => {
        event.preventDefault();
        listFolder.value = path;
        void refreshList();
      });
      name.append(open);
    } else {
      name.textContent = entry.name;
    }
    row.insertCell().textContent = entry.isDir ? '' : formatBytes(entry.size);
    const actions = row.insertCell();
    if (!entry.isDir) {
      actions.append(button('⤓', `Download ${path}`, 'download', () => void fetchFile(path, entry.size)));
    }
    actions.append(
      button('✕', `Delete ${path}`, 'delete', async () => {
        if (!confirm(`Delete ${path} on the board?`)) return;
        let result: string;
        try {
          await board.remove(path, entry.isDir);
          result = `Deleted ${path}`;
        } catch (error) {
          result = `Deleting ${path} failed: ${errorText(error)}`;
        }
        await refreshList();
        if (!listStatus.textContent?.startsWith('Not listed') && !listStatus.textContent?.startsWith('Listing')) listStatus.textContent = result;
      }),
    );
  }
  if (folder !== '/') {
    const up = fileList.insertRow(0);
    const cell = up.insertCell();
    cell.colSpan = 3;
    const link = document.createElement('a');
    link.href = '#';
    link.textContent = '../';
    link.addEventListener('click', (event) => {
      event.preventDefault();
      listFolder.value = folder.replace(/\/[^/]*\/?$/, '') || '/';
      void refreshList();
    });
    cell.append(link);
  }
}

function button(label: string, title: string, kind: string, action: () => void): HTMLButtonElement {
  const element = document.createElement('button');
  element.textContent = label;
  element.title = title;
  element.className = kind;
  element.addEventListener('click', action);
  return element;
}

listButton.addEventListener('click', () => void refreshList());
listFolder.addEventListener('keydown', (event) => {
  if (event.key === 'Enter') void refreshList();
});

urlInput.placeholder = ExampleUrl;
showState('disconnected', '');
term.terminal.write('\x1b[2mWebREPL terminal: press Connect, then type the password at the board\'s prompt.\x1b[0m\r\n');
const prefilled = initialUrl().then((url) => {
  if (urlInput.value.trim() || board.state !== 'disconnected') return; // typed or connected meanwhile
  urlInput.value = url;
  if (!url) {
    urlInput.title = NoBoardHint;
    term.terminal.write(note(NoBoardHint, '33'));
  } else if (location.protocol === 'https:' && /^ws:\/\//i.test(url)) {
    showWarning(mixedContentProblem(location.protocol, url));
  }
});

// For tests and the console: read-only views of the page's state.
(window as unknown as { webrepl: object }).webrepl = {
  terminalText: () => term.text(),
  state: () => board.state,
  version: () => board.version,
  /** Resolves once the URL field has been filled in (from the hash or the gateway's boards). */
  prefilled: () => prefilled,
  size: () => ({ cols: term.terminal.cols, rows: term.terminal.rows }),
  cursor: () => ({ x: term.terminal.buffer.active.cursorX, y: term.terminal.buffer.active.cursorY }),
};
