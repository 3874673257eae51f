// What the popup benchmarks share: the median, and a copy of dist/ with a blank page
// beside popup.html, so that both are opened from the same extension.

import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The blank extension page the popup is compared with. */
export const BLANK_PAGE = '<!doctype html><meta charset="utf-8"><title>blank</title><p>blank</p>\n';

/** The median of numbers (the mean of the middle two for an even count). */
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Copies the extension in `from` to a fresh temporary folder (`prefix` names it) and
 * writes `blank.html` into it. Returns `{ dir, dist }`: remove `dir` when done.
 */
export async function distWithBlankPage(prefix, from) {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const dist = path.join(dir, 'dist');
  await cp(from, dist, { recursive: true });
  await writeFile(path.join(dist, 'blank.html'), BLANK_PAGE);
  return { dir, dist };
}
