// Reads vitest's JSON report: the counts scripts/test.mjs sums, and the names
// of what failed, so the last lines of a CI log say which test broke even when
// the log is cut to its tail.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/** { passed, failed, skipped, failures: ["file > test", ...] }; a missing or bad report counts as one failure. */
export function readVitestReport(path, root = process.cwd()) {
  let j;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return { passed: 0, failed: 1, skipped: 0, failures: ['(no vitest report: the run did not finish)'] };
  }
  const failures = [];
  for (const file of j.testResults ?? []) {
    const name = relative(root, file.name ?? '');
    const failedTests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of failedTests) failures.push(`${name} > ${t.fullName ?? t.title}`);
    // A file that failed to load or whose hooks threw has no failed test of its own.
    if (file.status === 'failed' && failedTests.length === 0) failures.push(`${name}: ${(file.message ?? 'failed').split('\n')[0]}`);
  }
  return {
    passed: j.numPassedTests,
    failed: j.numFailedTests || (j.numFailedTestSuites ?? 0),
    skipped: j.numPendingTests + j.numTodoTests,
    failures,
  };
}
