// Layout of the small SharedArrayBuffer shared by host.mjs and worker.mjs.
// Int32 slots (Atomics):
export const SEQ = 0;          // bumped by host.mjs after each input post or interrupt (worker waits on it)
export const OUT_BLOCKED = 1;  // 1 while host.mjs's stdout is full (worker waits before posting output)
export const STATE = 2;        // what the interpreter thread is doing, one of:
export const STATE_IDLE = 0;   //   waiting for input at a REPL prompt
export const STATE_BUSY = 1;   //   processing input / running Python code
export const STATE_INPUT = 2;  //   running code that waits in input()
// Float64 slot: Date.now() when the current busy period started.
export const CTL_TIME_OFFSET = 16;
export const CTL_BYTES = 24;
