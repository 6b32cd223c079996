// Layout of the small SharedArrayBuffer shared by host.mjs and worker.mjs.
// Int32 slots (Atomics):
export const SEQ = 0;          // bumped by host.mjs after each input post or interrupt (worker waits on it)
export const OUT_PENDING = 1;  // output bytes posted by the worker that host.mjs has not yet written (worker waits above OUT_WINDOW)
export const OUT_WINDOW = 16384;
export const STATE = 2;        // what the interpreter thread is doing, one of:
export const STATE_IDLE = 0;   //   waiting for input at a REPL prompt
export const STATE_BUSY = 1;   //   processing input / running Python code
export const STATE_INPUT = 2;  //   running code that waits in input()
// Float64 slot: Date.now() when the current busy period started.
export const CTL_TIME_OFFSET = 16;
export const CTL_BYTES = 24;
