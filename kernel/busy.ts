/**
 * What the kernel's main thread is doing, shared with its I/O thread through a SharedArrayBuffer,
 * so the I/O thread can choose how to interrupt it: index `STATE` holds one of the values below,
 * index `VM_CALLS` counts the cells' vm calls (so a vm call seen twice is known to be the same one).
 */

/** Index of the state. */
export const STATE = 0;
/** Index of the vm call counter. */
export const VM_CALLS = 1;
/**
 * Index of a flag the I/O thread sets to 1 just before it terminates the main thread's JavaScript
 * execution (a loop after an `await`, out of SIGINT's reach), so the cell's error can say so.
 */
export const TERMINATED = 2;
/** Length of the shared array. */
export const SLOTS = 3;

/** Not running a cell's code (idle, or kernel work such as compiling). */
export const IDLE = 0;
/** A cell's synchronous part runs under `vm` with `breakOnSigint`: SIGINT stops it. */
export const IN_VM = 1;
/** The cell returned to the event loop and awaits; its continuations run outside `vm`. */
export const AWAITING = 2;
