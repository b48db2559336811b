import { readFileSync } from 'node:fs';

/** Linux counts a process's CPU time in clock ticks of 10 ms (`getconf CLK_TCK` = 100). */
const TICK_US = 10_000;

/**
 * CPU time (user + system) so far of process `pid` (all its threads) and of
 * its main thread alone, in µs, from /proc: the other threads are ZeroMQ's
 * I/O thread and V8's garbage collector and compiler.
 */
export function cpuOf(pid: number): { all: number; main: number } {
  const read = (stat: string) => {
    // Fields after the parenthesized command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  };
  return { all: read(`/proc/${pid}/stat`), main: read(`/proc/${pid}/task/${pid}/stat`) };
}
