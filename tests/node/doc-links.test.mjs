// The documentation's links: every relative link in every Markdown file of
// the checkout names a file that exists and, with a #fragment, a heading
// of that file (GitHub's anchors), and every Markdown file can be reached
// from README.md by following links, so the README's map of the docs
// never points at a moved section and never loses one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { top } from './helpers.mjs';

// Tracked and new (not ignored) Markdown files, as a reader of the
// checkout sees them; node_modules and build output are ignored by git.
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'],
  { cwd: top, encoding: 'utf8' }).split('\n').filter((f) => f && fs.existsSync(path.join(top, f)));

// The lines outside fenced code blocks, with inline code spans removed
// (a `[x](y)` in code is not a link).
function prose(text) {
  const out = [];
  let fence = null;
  for (const line of text.split('\n')) {
    const m = line.match(/^\s*(`{3,}|~{3,})/);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length) fence = null;
      out.push('');
      continue;
    }
    if (m) { fence = m[1]; out.push(''); continue; }
    out.push(line.replace(/(`+)[^`]*?\1/g, ''));
  }
  return out;
}

// GitHub's heading anchors: the heading's text, lower case, without
// anything but letters, digits, '_', '-' and spaces, spaces made '-';
// a repeated one gets -1, -2, ...  Explicit <a id|name="..."> count too.
function anchors(file) {
  const text = fs.readFileSync(path.join(top, file), 'utf8');
  const seen = new Map();
  const set = new Set();
  let fence = null;
  for (const line of text.split('\n')) {
    const f = line.match(/^\s*(`{3,}|~{3,})/);
    if (fence) {
      if (f && f[1][0] === fence[0] && f[1].length >= fence.length) fence = null;
      continue;
    }
    if (f) { fence = f[1]; continue; }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) set.add(a[1]);
    const h = line.match(/^#{1,6}\s+(.*?)\s*#*\s*$/);
    if (!h) continue;
    const words = h[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(words) ?? 0;
    seen.set(words, n + 1);
    set.add(n ? `${words}-${n}` : words);
  }
  return set;
}

// Every link of a file: [text](target) and ![alt](target), and reference
// definitions "[name]: target".  External ones (a scheme) are not checked.
function links(file) {
  const found = [];
  prose(fs.readFileSync(path.join(top, file), 'utf8')).forEach((line, i) => {
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      found.push({ target: m[1], line: i + 1 });
    }
    const d = line.match(/^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)/);
    if (d) found.push({ target: d[1], line: i + 1 });
  });
  return found.filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l.target));
}

const anchorCache = new Map();
function anchorsOf(file) {
  if (!anchorCache.has(file)) anchorCache.set(file, anchors(file));
  return anchorCache.get(file);
}

// The repository-relative file a link names, or null for a broken one
// (with why).
function resolve(from, target) {
  const [rawPath, frag] = target.split('#');
  const rel = rawPath ? path.posix.normalize(path.posix.join(path.posix.dirname(from), decodeURI(rawPath))) : from;
  if (rel.startsWith('..')) return { why: 'leaves the checkout' };
  const abs = path.join(top, rel);
  if (!fs.existsSync(abs)) return { why: 'no such file' };
  if (frag !== undefined) {
    if (!rel.endsWith('.md')) return { why: 'a #fragment on a file that is not Markdown' };
    if (!anchorsOf(rel).has(decodeURIComponent(frag))) return { why: `no heading #${frag} in ${rel}` };
  }
  return { file: rel };
}

test('there is Markdown to check, README.md among it', () => {
  assert.ok(files.includes('README.md'), `files: ${files.join(' ')}`);
});

for (const file of files) {
  test(`${file}: every relative link and #anchor resolves`, () => {
    const broken = [];
    for (const l of links(file)) {
      const r = resolve(file, l.target);
      if (r.why) broken.push(`${file}:${l.line}: (${l.target}) ${r.why}`);
    }
    assert.deepEqual(broken, []);
  });
}

test('every Markdown file is reachable from README.md by links', () => {
  const reached = new Set(['README.md']);
  const todo = ['README.md'];
  while (todo.length) {
    const f = todo.pop();
    for (const l of links(f)) {
      const r = resolve(f, l.target);
      if (r.file && r.file.endsWith('.md') && !reached.has(r.file)) {
        reached.add(r.file);
        todo.push(r.file);
      }
    }
  }
  assert.deepEqual(files.filter((f) => !reached.has(f)), []);
});

// The checker itself: a broken link, a missing anchor and an orphan are
// found, so a green run means something.
test('the checker finds a broken link, a missing anchor, and a duplicate heading\'s anchor', () => {
  const dir = fs.mkdtempSync(path.join(top, 'test-output', 'doc-links-'));
  try {
    const rel = path.relative(top, dir);
    fs.writeFileSync(path.join(dir, 'a.md'),
      '# Title\n\n## Same\n\n## Same\n\n## `make run` (the sandbox)\n\n[ok](#same-1) [ok](#make-run-the-sandbox) [bad](#nope) [gone](b.md)\n\n```\n[in code](nowhere.md)\n```\n');
    const found = links(`${rel}/a.md`).map((l) => [l.target, resolve(`${rel}/a.md`, l.target).why ?? 'ok']);
    assert.deepEqual(found, [
      ['#same-1', 'ok'],
      ['#make-run-the-sandbox', 'ok'],
      ['#nope', `no heading #nope in ${rel}/a.md`],
      ['b.md', 'no such file'],
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
