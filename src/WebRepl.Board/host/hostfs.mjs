// HOSTFS: a small Emscripten file-system backend that maps a folder of the
// interpreter's virtual file system onto a real folder on disk.
//
// Why: the MicroPython WebAssembly build we use ships only MEMFS (no NODEFS),
// so files written by Python would vanish when the process ends. This backend
// implements the node/stream operations Emscripten's FS layer calls, each one
// a synchronous Node `fs` call on the real path, so `open()`, `os.listdir()`,
// `os.remove()` ... from Python read and write the host folder directly and
// nothing has to be synchronised later.
//
// Nodes are never kept in Emscripten's name cache (see createHostFS), because
// the parent (C#) also changes the folder directly (WebREPL PUT, a user):
// every path lookup goes back to the disk, so Python never sees a stale entry.

import fs from 'node:fs';
import path from 'node:path';

// Emscripten's errno numbers (musl/wasi values, not Linux ones) for the Node
// error codes we can meet; MicroPython turns them into OSError(errno).
const EM_ERRNO = {
  EPERM: 63, ENOENT: 44, EIO: 29, EBADF: 8, EACCES: 2, EBUSY: 10, EEXIST: 20,
  EXDEV: 75, ENOTDIR: 54, EISDIR: 31, EINVAL: 28, EMFILE: 33, ENFILE: 41,
  ENOSPC: 51, EROFS: 69, ENOTEMPTY: 55, ENAMETOOLONG: 37, ELOOP: 32,
};

const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFREG = 0o100000;

// On Windows a name like "..\\x", "c:x" or "NUL" would leave the folder or
// reach a device: such names are refused there (POSIX takes any name).
const BAD_WINDOWS_NAME = /[\\/:*?"<>|\x00-\x1f]|^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$|[. ]$/i;
const badName = (name) => process.platform === 'win32' && BAD_WINDOWS_NAME.test(name);

// Create the backend for one Emscripten FS instance (one per interpreter).
export function createHostFS(FS) {
  const errno = (e) => {
    if (e instanceof FS.ErrnoError) return e;
    return new FS.ErrnoError(EM_ERRNO[e?.code] ?? EM_ERRNO.EIO);
  };
  // Run a Node fs call and turn its error into an Emscripten one.
  const sys = (fn) => { try { return fn(); } catch (e) { throw errno(e); } };

  const child = (parent, name) => {
    if (badName(name)) throw new FS.ErrnoError(EM_ERRNO.EINVAL);
    return path.join(realPath(parent), name);
  };
  const realPath = (node) => {
    const parts = [];
    for (; node !== node.mount.root; node = node.parent) parts.unshift(node.name);
    return path.join(node.mount.opts.root, ...parts);
  };

  // Only plain files and folders are shown to Python (boards have nothing else).
  const modeOf = (st) => (st.isDirectory() ? S_IFDIR | 0o777 : S_IFREG | 0o666);

  // Links (and fifos, sockets, devices) are not followed: one placed in the folder would let Python read and
  // write outside it. They are missing, as the file transfers (DirectoryFileStore, host.mjs) treat them.
  // Nodes are looked up one name at a time (nothing is cached), so a link on the way is refused too.
  const plainStat = (p) => {
    const st = sys(() => fs.lstatSync(p));
    if (!st.isFile() && !st.isDirectory()) throw new FS.ErrnoError(EM_ERRNO.ENOENT);
    return st;
  };

  const makeNode = (parent, name, mode) => {
    const node = FS.createNode(parent, name, mode, 0);
    node.node_ops = nodeOps;
    node.stream_ops = streamOps;
    return node;
  };

  const nodeOps = {
    getattr(node) {
      const st = plainStat(realPath(node));
      return {
        dev: 1, ino: node.id, mode: modeOf(st), nlink: 1, uid: 0, gid: 0, rdev: 0,
        size: st.isDirectory() ? 4096 : st.size,
        atime: st.atime, mtime: st.mtime, ctime: st.ctime,
        blksize: 4096, blocks: Math.ceil(st.size / 4096),
      };
    },
    setattr(node, attr) {
      // Only the size matters (O_TRUNC, ftruncate); modes and times are ignored.
      if (attr.size !== undefined) {
        sys(() => {
          const fd = fs.openSync(realPath(node), fs.constants.O_WRONLY | (fs.constants.O_NOFOLLOW ?? 0));
          try { fs.ftruncateSync(fd, attr.size); } finally { fs.closeSync(fd); }
        });
      }
    },
    lookup(parent, name) {
      const st = plainStat(child(parent, name));
      return makeNode(parent, name, modeOf(st));
    },
    mknod(parent, name, mode) {
      const p = child(parent, name);
      if ((mode & S_IFMT) === S_IFDIR) sys(() => fs.mkdirSync(p));
      else if ((mode & S_IFMT) === S_IFREG) sys(() => fs.closeSync(fs.openSync(p, 'wx')));
      else throw new FS.ErrnoError(EM_ERRNO.EPERM);
      return makeNode(parent, name, (mode & S_IFMT) === S_IFDIR ? S_IFDIR | 0o777 : S_IFREG | 0o666);
    },
    rename(node, newDir, newName) {
      sys(() => fs.renameSync(realPath(node), child(newDir, newName)));
    },
    unlink(parent, name) {
      sys(() => fs.unlinkSync(child(parent, name)));
    },
    rmdir(parent, name) {
      sys(() => fs.rmdirSync(child(parent, name)));
    },
    readdir(node) {
      // Only what lookup accepts: a listing that named a link would fail as a whole (MicroPython's listdir
      // looks each name up, and one dangling link made os.listdir() return []).
      const entries = sys(() => fs.readdirSync(realPath(node), { withFileTypes: true }));
      return ['.', '..', ...entries.filter((e) => e.isFile() || e.isDirectory()).map((e) => e.name)];
    },
    // No symlink/readlink: Emscripten then answers EPERM/EINVAL.
  };

  const streamOps = {
    open(stream) {
      if (FS.isDir(stream.node.mode)) return; // folders are read via readdir
      // Creation and O_TRUNC were already done by the FS layer (mknod, setattr),
      // and it does O_APPEND itself by seeking to the end, so only the access mode is passed.
      const acc = stream.flags & 3;
      const flags = acc === 0 ? fs.constants.O_RDONLY : acc === 1 ? fs.constants.O_WRONLY : fs.constants.O_RDWR;
      // O_NOFOLLOW: a link put in the file's place since it was looked up is refused, not followed.
      const noFollow = fs.constants.O_NOFOLLOW ?? 0;
      stream.hostFd = sys(() => fs.openSync(realPath(stream.node), flags | noFollow));
    },
    close(stream) {
      if (stream.hostFd !== undefined) sys(() => fs.closeSync(stream.hostFd));
    },
    read(stream, buffer, offset, length, position) {
      return sys(() => fs.readSync(stream.hostFd, buffer, offset, length, position));
    },
    write(stream, buffer, offset, length, position) {
      return sys(() => fs.writeSync(stream.hostFd, buffer, offset, length, position));
    },
    llseek(stream, offset, whence) {
      let pos = offset;
      if (whence === 1) pos += stream.position;
      else if (whence === 2 && stream.hostFd !== undefined) pos += sys(() => fs.fstatSync(stream.hostFd).size);
      if (pos < 0) throw new FS.ErrnoError(EM_ERRNO.EINVAL);
      return pos;
    },
  };

  const type = {
    mount(mount) {
      const st = sys(() => fs.statSync(mount.opts.root));
      if (!st.isDirectory()) throw new FS.ErrnoError(EM_ERRNO.ENOTDIR);
      return makeNode(null, '/', S_IFDIR | 0o777);
    },
  };

  // Keep our nodes out of Emscripten's name cache (FS.lookupNode consults it
  // before calling node_ops.lookup). The mount's root node is still cached,
  // which is harmless: it is the root folder itself.
  const hashAddNode = FS.hashAddNode;
  FS.hashAddNode = (node) => {
    if (node.mount?.type !== type) hashAddNode(node);
  };

  return type;
}
