using System.Globalization;

namespace WebRepl.Mount;

/// <summary>
/// The Python that a mount puts on the board (docs/mount.md, "On the board"): a request/reply channel over the
/// board's stdin and stdout (<c>_WrC</c>), a file system object that asks this computer for every operation
/// (<c>_WrFS</c>), and its file object (<c>_WrF</c>). Written for MicroPython's user file systems (<c>os.mount</c>
/// of an object with <c>stat</c>, <c>open</c>, <c>ilistdir</c>...), with nothing a small board lacks: bytes go as
/// hex (<c>bytes.hex</c>, or <c>binascii</c>'s C functions), no byte beyond printable ASCII and the two markers.
/// </summary>
internal static class BoardMountCode
{
    // Kept short: it goes through the raw REPL at every mount, 128 bytes per round trip on a board.
    private const string Classes = """
import io, os, sys, micropython
try:
    _wh = bytes.hex; _wu = bytes.fromhex; _wh(b'')
except Exception:
    from binascii import hexlify as _wa, unhexlify as _wu
    _wh = lambda b: _wa(b).decode()
class _WrC:
    def __init__(s, t, w):
        s.t = t; s.w = w; s.i = sys.stdin.buffer; s.o = sys.stdout.buffer; s.c = 0; s.p = None; s.n = 0
        try:
            import select
            s.p = select.poll(); s.p.register(s.i, select.POLLIN)
        except Exception:
            s.p = None
    def r(s, n, w):
        if s.p and not s.p.poll(w):
            return None
        return s.i.read(n)
    def g(s, n):
        b = s.r(n, s.w)
        if b is None or len(b) < n:
            raise OSError(110)
        return b
    def q(s, op, *a):
        micropython.kbd_intr(-1)
        try:
            s.n += 1
            s.o.write(s.t + op + ','.join(a).encode() + b';')
            while 1:
                b = s.r(1, s.w)
                if b is None:
                    if s.c:
                        break
                    raise OSError(110)
                if b == b'\x18':
                    r = s.g(int(s.g(4), 16)).decode().split(',')
                    break
                if b == b'\x03':
                    s.c = 1
        finally:
            micropython.kbd_intr(3)
        if s.c:
            s.c = 0
            raise KeyboardInterrupt
        if r[0] != '0':
            raise OSError(int(r[0]))
        return r[1:]
class _WrF(io.IOBase):
    def __init__(s, c, h, m, z, b, k):
        s.c = c; s.h = h; s.t = 'b' not in m; s.z = z; s.b = b; s.q = 0; s.k = k
        s.x = z if 'a' in m else 0
    def _rd(s, n):
        o = s.x - s.q
        if s.x >= s.z:
            return b''
        if not 0 <= o < len(s.b):
            s.b = _wu(s.c.q(b'R', s.h, str(s.x))[0]); s.q = s.x; o = 0
        d = s.b[o:] if n < 0 else s.b[o:o + n]
        s.x += len(d)
        return d
    def _out(s, d):
        return d.decode() if s.t else d
    def readinto(s, b):
        n = 0; m = len(b)
        while n < m:
            d = s._rd(m - n)
            if not d:
                break
            b[n:n + len(d)] = d; n += len(d)
        return n
    def read(s, n=-1):
        a = []; t = 0
        while n < 0 or t < n:
            d = s._rd(n - t if n >= 0 else -1)
            if not d:
                break
            a.append(d); t += len(d)
        return s._out(b''.join(a))
    def readline(s):
        a = []
        while 1:
            d = s._rd(-1)
            if not d:
                break
            i = d.find(b'\n')
            if i >= 0:
                s.x -= len(d) - i - 1; a.append(d[:i + 1])
                break
            a.append(d)
        return s._out(b''.join(a))
    def readlines(s):
        return list(s)
    def __iter__(s):
        return s
    def __next__(s):
        l = s.readline()
        if not l:
            raise StopIteration
        return l
    def write(s, d):
        if isinstance(d, str):
            d = d.encode()
        s.b = b''
        for i in range(0, len(d), s.k):
            p = bytes(d[i:i + s.k])
            s.c.q(b'W', s.h, str(s.x), _wh(p)); s.x += len(p)
        if s.x > s.z:
            s.z = s.x
        return len(d)
    def seek(s, o, w=0):
        s.x = o if w == 0 else s.x + o if w == 1 else s.z + o
        return s.x
    def tell(s):
        return s.x
    def flush(s):
        pass
    def close(s):
        pass
    def __enter__(s):
        return s
    def __exit__(s, *a):
        pass
    def ioctl(s, r, a):
        return s.k if r == 11 else 0
class _WrFS:
    def __init__(s, c, k):
        s.c = c; s.d = '/'; s.k = k
    def mount(s, r, m):
        pass
    def umount(s):
        pass
    def _n(s, p):
        if p[:1] != '/':
            p = s.d + '/' + p
        r = []
        for x in p.split('/'):
            if x == '..':
                if r:
                    r.pop()
            elif x and x != '.':
                r.append(x)
        return '/' + '/'.join(r)
    def _p(s, p):
        return _wh(s._n(p).encode())
    def chdir(s, p):
        n = s._n(p)
        if n != '/' and not s.stat(n)[0] & 0x4000:
            raise OSError(20)
        s.d = n
    def getcwd(s):
        return s.d
    def stat(s, p):
        r = s.c.q(b'S', s._p(p)); t = int(r[2])
        return (int(r[0]), 0, 0, 0, 0, 0, int(r[1]), t, t, t)
    def ilistdir(s, p):
        h = s._p(p); i = 0
        while 1:
            r = s.c.q(b'L', h, str(i))
            for e in r[1:]:
                n, k, z = e.split(':'); i += 1
                yield (_wu(n).decode(), int(k), 0, int(z))
            if r[0] != '1':
                return
    def open(s, p, m):
        h = s._p(p); r = s.c.q(b'O', h, ''.join(c for c in m if c in 'rwax+') or 'r')
        return _WrF(s.c, h, m, int(r[0]), _wu(r[1]) if len(r) > 1 else b'', s.k)
    def remove(s, p):
        s.c.q(b'D', s._p(p))
    def rmdir(s, p):
        s.c.q(b'X', s._p(p))
    def mkdir(s, p):
        s.c.q(b'M', s._p(p))
    def rename(s, a, b):
        s.c.q(b'N', s._p(a), s._p(b))
    def statvfs(s, p):
        return (1024, 1024, 0, 0, 0, 0, 0, 0, 0, 255)
""";

    /// <summary>The code that mounts: the classes, then a file system on <paramref name="mountPoint"/>, made the current folder.</summary>
    public static string Mount(string token, string mountPoint, int writeChunk, TimeSpan boardTimeout)
    {
        int timeoutMs = (int)Math.Clamp(boardTimeout.TotalMilliseconds, 1000, int.MaxValue);
        // A raw string ends without its last line break.
        return Classes + "\n" + string.Create(CultureInfo.InvariantCulture, $"""
_webrepl_mount = _WrFS(_WrC(b'\x18{token}', {timeoutMs}), {writeChunk})
try:
    os.umount('{mountPoint}')
except OSError:
    pass
os.mount(_webrepl_mount, '{mountPoint}')
os.chdir('{mountPoint}')
""");
    }

    /// <summary>The code that unmounts: out of the mount point if inside it, then <c>os.umount</c>.</summary>
    public static string Unmount(string mountPoint) => $"""
import os
try:
    if os.getcwd() == '{mountPoint}' or os.getcwd().startswith('{mountPoint}/'):
        os.chdir('/')
    os.umount('{mountPoint}')
except OSError:
    pass
try:
    del _webrepl_mount
except NameError:
    pass
""";
}
