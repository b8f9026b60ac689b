/**
 * Log throttling for repeated drops: a flood of bad packets must not become a
 * flood of log lines, so the 1st, 10th, 100th… occurrence of each kind is logged
 * (with its count) and the rest only counted.
 */

/** Whether the `count`-th occurrence of an event should be logged: 1, 10, 100, … */
export function isLogWorthy(count: number): boolean {
  while (count >= 10 && count % 10 === 0) count /= 10;
  return count === 1;
}
