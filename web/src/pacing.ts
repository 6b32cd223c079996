// How input is paced to a board: the table "Pacing" in docs/protocol.md, which src/WebRepl/Protocol/Pacing.cs
// holds for C#. Both are compared with tests/vectors/pacing.json by their tests, so that the two stay one rule.
//
// ESP32, ESP8266 and rp2 boards take terminal input into a buffer of about 256 bytes and drop what overflows,
// silently. Raw-paste has flow control of its own (the board's window); everything else is paced here.

/** The board's input buffer (MICROPY_REPL_STDIN_BUFFER_MAX). */
export const InputBufferBytes = 256;

/**
 * The plain raw REPL (no raw-paste): pieces of half the buffer, so that two pieces the network delivers together
 * still fit, with mpremote's 10 ms between them; the raw REPL only appends bytes to its line (no echo).
 */
export const RawReplPieceBytes = 128;
export const RawReplPauseMs = 10;

/**
 * Terminal input paced by time, where the echo is not followed (the command's piped input): the friendly REPL
 * echoes and edits every byte, so smaller pieces and longer pauses than the raw REPL's.
 */
export const TerminalPieceBytes = 64;
export const TerminalPauseMs = 20;

/**
 * Terminal input paced by the board's echo (the pages' pastes): pieces of EchoPieceBytes, never more than
 * EchoWindowBytes (half the buffer) ahead of the echo; after EchoStallMs without echo it goes on (a program
 * reading its input may not echo).
 */
export const EchoPieceBytes = 32;
export const EchoWindowBytes = 128;
export const EchoStallMs = 1500;

/**
 * Entering the raw REPL: a board answers Ctrl-A within milliseconds and a round trip takes well under a second,
 * so silence this long means the Ctrl-A was lost (taken by a program, or it came while one unwound): send again.
 */
export const RawEnterRetryMs = 1000;
