#!/usr/bin/env python3
"""Writes the reference vectors in this folder (run it from anywhere; commit its output with it).

The bytes follow the firmware's C code (micropython/micropython):
  extmod/modwebrepl.c     the 82-byte request record (struct webrepl_file, packed: <2sBBQLH64s), the replies
                          (write_webrepl_resp: "WB" + u16 code; GET_VER: 3 bytes; GET: u16 length + up to 256 bytes)
  extmod/modwebsocket.c   frame headers (websocket_write: FIN + opcode, 7-bit or 16-bit big-endian length, never
                          masked; websocket_read: masked or not, a 64-bit length closes the socket, continuation
                          frames keep the first frame's type, a close frame is answered with 88 00)
  shared/runtime/pyexec.c raw REPL and raw-paste (do_reader_stdin, mp_reader_stdin_readbyte: "R\\x01", a u16 window
                          of MICROPY_REPL_STDIN_BUFFER_MAX / 2 and 0x01, one 0x01 per window of bytes read, 0x04
                          at the end; parse_compile_execute with EXEC_FLAG_PRINT_EOF: output, 0x04, error, 0x04)
Nothing here is computed by the code under test: the tests in C# (tests/WebRepl.Tests/Vectors,
tests/WebRepl.Gateway.Tests/Sessions/Output/Utf8SanitizerVectorTests.cs) and TypeScript (web/test) read these files.

Byte strings are hex ("hex"), with "shows" beside them for people (Python's bytes notation, without the b'').
"""
import codecs
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent

PUT_FILE, GET_FILE, GET_VER = 1, 2, 3
STDIN_BUFFER_MAX = 256  # MICROPY_REPL_STDIN_BUFFER_MAX's default: the board's input buffer
WINDOW = STDIN_BUFFER_MAX // 2
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"


def hexs(data: bytes) -> str:
    return data.hex()


def shows(data: bytes) -> str:
    return repr(bytes(data))[2:-1]


def blob(data: bytes) -> dict:
    return {"hex": hexs(data), "shows": shows(data)}


def record(op: int, size: int, name: str) -> bytes:
    encoded = name.encode("utf-8")
    return struct.pack("<2sBBQLH64s", b"WA", op, 0, 0, size, len(encoded), encoded)


def requests() -> dict:
    cases = [
        ("PUT main.py, size 0x01020304", PUT_FILE, 0x01020304, "main.py"),
        ("PUT an empty file", PUT_FILE, 0, "/empty.txt"),
        ("PUT the largest size", PUT_FILE, 0xFFFFFFFF, "/big.bin"),
        ("GET a name in UTF-8 (é is 2 bytes)", GET_FILE, 0, "lib/é.py"),
        ("GET a name of 63 bytes, one NUL left in the field", GET_FILE, 0, "/" + "n" * 62),
        ("GET_VER: no name", GET_VER, 0, ""),
    ]
    records = []
    for title, op, size, name in cases:
        data = record(op, size, name)
        assert len(data) == 82
        records.append({"name": title, "op": op, "size": size, "fileName": name, "hex": hexs(data)})
    bad = [
        ("", "empty"),
        ("a\0b.py", "NUL"),
        ("/" + "n" * 63, "64 bytes"),
        ("é" * 32, "64 bytes"),  # 32 characters, 64 bytes of UTF-8
    ]
    version = record(GET_VER, 0, "")
    return {
        "about": "The 82-byte request record (extmod/modwebrepl.c, struct webrepl_file: <2sBBQLH64s, little-endian).",
        "records": records,
        "badNames": [{"fileName": name, "why": why} for name, why in bad],
        "versionTails": [
            {
                "surplus": n,
                "why": "n chunk requests (00) left after a GET's end are the first n bytes of the next record; "
                "these bytes complete it as GET_VER (bytes 0 and 1, the signature, are never checked)",
                "hex": hexs(version[n:]),
            }
            for n in (1, 2)
        ],
        "getRequests": [{"size": s, "requests": -(-s // 256) + 1} for s in (0, 1, 255, 256, 257, 512, 1000, 100_000)],
    }


def replies() -> dict:
    return {
        "about": "The board's binary replies (extmod/modwebrepl.c): status, version, GET chunks, each one binary "
        "frame. 'frameOnly': malformed only for a reader of frames (the pages); a reader of the byte stream (the "
        "library, as the firmware reads) takes the next reply's bytes instead.",
        "status": [
            {"hex": "57420000", "code": 0},
            {"hex": "57420100", "code": 1},
            {"hex": "57410000", "code": None, "why": "not WB"},
            {"hex": "574200", "code": None, "why": "3 bytes", "frameOnly": True},
            {"hex": "5742000000", "code": None, "why": "5 bytes", "frameOnly": True},
        ],
        "versions": [
            {"hex": "011b00", "version": "1.27.0"},
            {"hex": "010e02", "version": "1.14.2"},
            {"hex": "0101", "version": None, "why": "2 bytes", "frameOnly": True},
        ],
        "chunks": [
            {"hex": "0300616263", "data": "616263"},
            {"hex": "0000", "data": "", "why": "the end of the file"},
            {"hex": "0001" + "ab" * 256, "data": "ab" * 256, "why": "a full chunk: 256 bytes"},
            {"hex": "050061", "data": None, "why": "shorter than its length", "frameOnly": True},
            {"hex": "00", "data": None, "why": "no length", "frameOnly": True},
        ],
    }


def paste_events(code: bytes, stdout: bytes, stderr: bytes, early=None) -> list:
    """The board's output during raw-paste, each with the client byte after which the board prints it.

    Positions count the client's bytes from the start of "\\x05A\\x01" (3 bytes). The board reads one byte at a
    time; the 128th, 256th... byte of code it reads makes it print 0x01. "afterEnd" events follow the client's 0x04.
    With `early` (the board's reader closed after that many bytes of code: a syntax error, say), it prints 0x04 at
    once and ignores the rest until the client's 0x04.
    """
    events = [{"at": 3, **blob(b"R\x01" + struct.pack("<H", WINDOW) + b"\x01")}]
    last = len(code) if early is None else early
    for n in range(WINDOW, last + 1, WINDOW):
        events.append({"at": 3 + n, **blob(b"\x01")})
    if early is None:
        events.append({"afterEnd": True, **blob(b"\x04" + stdout + b"\x04" + stderr + b"\x04>")})
    else:
        events.append({"at": 3 + early, **blob(b"\x04")})
        events.append({"afterEnd": True, **blob(stdout + b"\x04" + stderr + b"\x04>")})
    return events


def raw_paste() -> dict:
    short = "print('hello')"
    long_lines = "".join(f"print('line {i:03}: {'x' * 40}')\n" for i in range(12))  # 12 * 58 bytes: 5+ windows
    utf8 = "s = '" + "é€😀" * 40 + "'\nprint(len(s))\n"  # multi-byte characters across window edges
    long_out = b"".join(f"line {i:03}: {'x' * 40}\r\n".encode() for i in range(12))
    error = "x = )\n" + "# padding\n" * 40  # a syntax error on line 1: the parser stops, and the board stops reading
    traceback = b'Traceback (most recent call last):\r\n  File "<stdin>", line 1\r\nSyntaxError: invalid syntax\r\n'
    transcripts = [
        {"name": "short program: one window", "code": short, "stdout": "hello\r\n", "stderr": "",
         "events": paste_events(short.encode(), b"hello\r\n", b"")},
        {"name": "several windows: the board grants one more per 128 bytes it reads", "code": long_lines,
         "stdout": long_out.decode(), "stderr": "", "events": paste_events(long_lines.encode(), long_out, b"")},
        {"name": "UTF-8 code: characters cut by window edges", "code": utf8, "stdout": "120\r\n", "stderr": "",
         "events": paste_events(utf8.encode(), b"120\r\n", b"")},
        {"name": "the board ends the paste early (a syntax error): the client stops, ends with 0x04, reads the error",
         "code": error, "stdout": "", "stderr": traceback.decode(), "early": 6,
         "events": paste_events(error.encode(), b"", traceback, early=6)},
    ]
    for t in transcripts:
        t["codeBytes"] = len(t["code"].encode())
    return {
        "about": "Raw-paste (shared/runtime/pyexec.c). The client sends 05 41 01 at the raw REPL's prompt; the board "
        "answers R 01, a u16 window (half its 256-byte input buffer) and 01: two windows free. The client may send one "
        "window of code per 01 received plus the first; the board prints 01 after each window it has read. The client "
        "ends the code with 04; the board answers 04, the output, 04, the error output, 04 and the raw prompt (>).",
        "request": blob(b"\x05A\x01"),
        "window": WINDOW,
        "rawBanner": blob(RAW_BANNER),
        "transcripts": transcripts,
        "refused": [
            {"name": "firmware before raw-paste: 05 41 went into the line and 01 reset the raw REPL",
             "answer": blob(RAW_BANNER)},
            {"name": "raw-paste not built in (do_reader_stdin's R 00, then the prompt)",
             "answer": blob(b"R\x00>")},
        ],
        "plain": {
            "about": "The plain raw REPL: the code, then 04; the board answers OK, the output, 04, the error output, "
            "04, and the prompt. 03 clears the line.",
            "code": short,
            "reply": blob(b"OK" + b"hello\r\n" + b"\x04" + b"\x04>"),
            "stdout": "hello\r\n",
        },
    }


def utf8_frames() -> dict:
    """What a relay that keeps text valid UTF-8 sends for a board's text frames (maximal subparts become U+FFFD)."""
    cases = [
        ("ASCII passes through", ["68656c6c6f0d0a"]),
        ("é split across two frames: held back, then joined", ["68c3", "a921"]),
        ("a 4-byte character split across three frames", ["f09f", "98", "800d0a"]),
        ("€ split after two of its bytes", ["e282", "ac"]),
        ("a byte that is never UTF-8 (print(b'\\xff'))", ["61ff62"]),
        ("raw-paste's answer: R 01, window 80 00, 01", ["5201800001"]),
        ("a character cut short by ASCII in the next frame", ["c3", "41"]),
        ("two bytes of a 3-byte character, then ASCII: one U+FFFD", ["e282", "41"]),
        ("an overlong encoding (c0 80): two U+FFFD", ["c080"]),
        ("a surrogate (ed a0 80): three U+FFFD", ["eda080"]),
    ]
    vectors = []
    for name, frames in cases:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        out = [decoder.decode(bytes.fromhex(f), final=False).encode("utf-8").hex() for f in frames]
        vectors.append({"name": name, "frames": frames, "sanitized": out,
                        "text": "".join(bytes.fromhex(o).decode("utf-8") for o in out)})
    return {
        "about": "Board text frames carry raw bytes (a character can be split across frames; a program can print "
        "any byte). A browser drops a connection whose text message is not valid UTF-8, so the gateway sends each "
        "client valid UTF-8: the start of a split character waits for the next frame, and an invalid sequence "
        "becomes U+FFFD (one per maximal subpart, as WHATWG's decoder). 'sanitized' is the output for each input "
        "frame (empty when everything was held back).",
        "vectors": vectors,
    }


def board_frame(opcode: int, payload: bytes, fin=True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    if len(payload) < 126:
        head += bytes([len(payload)])
    else:
        head += bytes([126]) + struct.pack(">H", len(payload))
    return head + payload


def frames() -> dict:
    sizes = [0, 5, 125, 126, 300, 65535]
    written = []
    for size in sizes:
        payload = bytes(i % 251 for i in range(size))
        written.append({"opcode": 2, "payloadLength": size, "header": board_frame(2, payload)[:-size or None].hex()})
    written.append({"opcode": 1, "payloadLength": 10, "header": board_frame(1, b"Password: ")[:2].hex()})
    mask = bytes([0x37, 0xFA, 0x21, 0x3D])
    masked_payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b"\r\x01"))
    read = [
        {"name": "a text frame", "hex": board_frame(1, b"Password: ").hex(), "messages": [["text", b"Password: ".hex()]]},
        {"name": "a binary frame with a 16-bit length", "hex": board_frame(2, bytes(200)).hex(),
         "messages": [["binary", bytes(200).hex()]]},
        {"name": "an empty text frame (a keepalive)", "hex": "8100", "messages": [["text", ""]]},
        {"name": "a text message in two frames: the continuation keeps the type",
         "hex": (board_frame(1, b"hel", fin=False) + board_frame(0, b"lo")).hex(), "messages": [["text", b"hello".hex()]]},
        {"name": "a masked frame (as clients send)", "hex": (bytes([0x81, 0x82]) + mask + masked_payload).hex(),
         "messages": [["text", b"\r\x01".hex()]]},
    ]
    return {
        "about": "WebSocket frames as boards write and read them (extmod/modwebsocket.c). A board writes FIN set, "
        "never masked, a 7-bit length below 126 and a 16-bit big-endian one up to 65535 (nothing longer). It reads "
        "masked and unmasked frames with 7- or 16-bit lengths; a 64-bit length (127) closes the socket.",
        "boardWrites": written,
        "boardReads": read,
        "clientLengths": [
            {"payloadLength": 125, "lengthBits": 7, "boardReads": True},
            {"payloadLength": 126, "lengthBits": 16, "boardReads": True},
            {"payloadLength": 65535, "lengthBits": 16, "boardReads": True},
            {"payloadLength": 65536, "lengthBits": 64, "boardReads": False},
        ],
        "boardRejects": [
            {"name": "a 64-bit length", "hex": "827f" + struct.pack(">Q", 4).hex() + "00000000"},
        ],
    }


def pacing() -> dict:
    return {
        "about": "How input is paced to a board's 256-byte input buffer (docs/protocol.md, 'Pacing'). "
        "src/WebRepl/Protocol/Pacing.cs and web/src/pacing.ts hold these numbers; their tests compare.",
        "inputBufferBytes": STDIN_BUFFER_MAX,
        "rawReplPieceBytes": 128,
        "rawReplPauseMs": 10,
        "terminalPieceBytes": 64,
        "terminalPauseMs": 20,
        "echoPieceBytes": 32,
        "echoWindowBytes": 128,
        "echoStallMs": 1500,
        "rawEnterRetryMs": 1000,
    }


def main() -> None:
    files = {
        "requests.json": requests(),
        "replies.json": replies(),
        "raw-paste.json": raw_paste(),
        "utf8-frames.json": utf8_frames(),
        "frames.json": frames(),
        "pacing.json": pacing(),
    }
    for name, content in files.items():
        (HERE / name).write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(files)} files into {HERE}")


if __name__ == "__main__":
    main()
