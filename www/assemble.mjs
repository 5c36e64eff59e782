// assemble.mjs - turns the compiled console into what nginx serves, and
// puts it in place without taking anything away from a console that is
// running.  Run by scripts/build-www (make www, make install); no bundler.
//
//   node www/assemble.mjs stage JS_DIR PUBLIC_DIR STAGE_DIR
//       JS_DIR: tsc's output; PUBLIC_DIR: www/public.  Writes into the
//       empty STAGE_DIR one complete generation of the console:
//         - every file but the HTML renamed NAME.HASH.EXT, HASH the first
//           12 hex digits of the SHA-256 of what is served, so a name
//           always means the same bytes and nginx may let browsers keep it
//           a year without asking (Cache-Control immutable);
//         - the modules' import specifiers and the HTML's src/href
//           rewritten to those names (a module is hashed after its
//           imports are rewritten, so a change anywhere below it renames
//           it too; an import cycle is refused, it could not be named);
//         - <link rel="modulepreload"> for every module the page's module
//           script imports, directly or not, so the browser fetches them
//           all at once instead of discovering them one level at a time;
//         - comments removed from the HTML and the CSS (tsc already drops
//           the TypeScript's, tsconfig removeComments);
//         - NAME.gz next to every file that compresses (gzip -9), for
//           nginx's gzip_static: compressed once here, never per request.
//
//   node www/assemble.mjs publish FROM_DIR TO_DIR
//       Puts the generation FROM_DIR/index.html refers to into TO_DIR:
//       files new to TO_DIR first (each written beside, then renamed),
//       index.html last (renamed over the old one), so a browser that
//       fetched either HTML finds every file it names.  Then removes what
//       neither the new HTML nor the one it replaced refer to: the
//       generation before is kept for pages that loaded its HTML a moment
//       ago; older ones are gone (their pages loaded everything at start).
//
// Why not a bundler: five small modules, one origin, HTTP/1.1 keep-alive
// and modulepreload fetch them in one round trip; a bundler would add a
// dependency to audit and source maps to ship for what hashing, gzip and
// preloading already give.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ts = require('typescript');

const HASH_LEN = 12;

function die(msg) {
  console.error('assemble: ' + msg);
  process.exit(1);
}

function hashOf(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex').slice(0, HASH_LEN);
}

function hashedName(rel, buf) {
  const ext = path.posix.extname(rel);
  return rel.slice(0, rel.length - ext.length) + '.' + hashOf(buf) + ext;
}

function walk(dir, base = '') {
  const out = [];
  for (const e of fs.readdirSync(path.join(dir, base), { withFileTypes: true })) {
    const rel = base ? base + '/' + e.name : e.name;
    if (e.isDirectory())
      out.push(...walk(dir, rel));
    else if (e.isFile())
      out.push(rel);
  }
  return out.sort();
}

/** The module specifiers of a JS file, with their positions. */
function importsOf(text, file) {
  const info = ts.preProcessFile(text, true, true);
  if (/\bimport\s*\(/.test(text))
    die(file + ': a dynamic import() cannot be given a hashed name; import it statically');
  /* pos is where the string literal starts (its quote); the specifier is
   * what follows, up to the closing quote. */
  return info.importedFiles.map((f) => {
    const q = text[f.pos];
    const start = q === '"' || q === "'" ? f.pos + 1 : f.pos;
    if (text.slice(start, start + f.fileName.length) !== f.fileName)
      die(file + ': cannot locate the import of ' + f.fileName);
    return { spec: f.fileName, pos: start, end: start + f.fileName.length };
  });
}

/** A relative specifier or URL resolved against `from` (a path relative to the root); null when not local. */
function local(from, ref) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref) || ref.startsWith('//') || ref.startsWith('#') || ref === '')
    return null;
  const clean = ref.split(/[?#]/)[0];
  return clean.startsWith('/')
    ? path.posix.normalize(clean.slice(1))
    : path.posix.normalize(path.posix.join(path.posix.dirname(from), clean));
}

function relTo(from, to) {
  let r = path.posix.relative(path.posix.dirname(from), to);
  if (!r.startsWith('.'))
    r = './' + r;
  return r;
}

/* HTML attributes that load a file of the console. */
const ATTR = /\b(src|href)="([^"]*)"/g;

function stage(jsDir, publicDir, stageDir) {
  const files = new Map(); // served path -> Buffer, before hashing
  for (const rel of walk(publicDir))
    files.set(rel, fs.readFileSync(path.join(publicDir, rel)));
  for (const rel of walk(jsDir)) {
    if (!rel.endsWith('.js'))
      continue;
    const served = 'js/' + rel;
    if (files.has(served))
      die(served + ' is both in www/public and compiled from www/src');
    files.set(served, fs.readFileSync(path.join(jsDir, rel)));
  }

  const names = new Map(); // served path -> hashed path
  const out = new Map(); // hashed path -> Buffer

  /* Modules, imports first. */
  const mods = [...files.keys()].filter((f) => f.endsWith('.js'));
  const deps = new Map();
  for (const m of mods) {
    const text = files.get(m).toString('utf8');
    const imps = importsOf(text, m).map((i) => {
      const target = local(m, i.spec);
      if (!target || !files.has(target))
        die(m + ': imports ' + i.spec + ', which is not a module of the console (no CDN, no bare specifier)');
      return { ...i, target };
    });
    deps.set(m, imps);
  }
  const state = new Map();
  const visit = (m, trail) => {
    if (state.get(m) === 'done')
      return;
    if (state.get(m) === 'active')
      die('import cycle ' + [...trail, m].join(' -> ') + ': modules in a cycle cannot be given hashed names');
    state.set(m, 'active');
    for (const d of deps.get(m))
      visit(d.target, [...trail, m]);
    let text = files.get(m).toString('utf8');
    /* Rewrite from the end so earlier positions stay valid. */
    for (const i of [...deps.get(m)].sort((a, b) => b.pos - a.pos))
      text = text.slice(0, i.pos) + relTo(m, names.get(i.target)) + text.slice(i.end);
    const buf = Buffer.from(text, 'utf8');
    const h = hashedName(m, buf);
    names.set(m, h);
    out.set(h, buf);
    state.set(m, 'done');
  };
  for (const m of mods)
    visit(m, []);

  /* Everything else but the HTML. */
  for (const [rel, buf0] of files) {
    if (rel.endsWith('.js') || rel.endsWith('.html'))
      continue;
    let buf = buf0;
    if (rel.endsWith('.css')) {
      const css = buf.toString('utf8');
      if (/url\(\s*['"]?(?![a-z]+:|#)/i.test(css))
        die(rel + ': url() to a file is not supported (it would need rewriting to its hashed name)');
      buf = Buffer.from(css.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\n{2,}/g, '\n').trimStart(), 'utf8');
    }
    const h = hashedName(rel, buf);
    names.set(rel, h);
    out.set(h, buf);
  }

  /* The HTML: references renamed, module imports preloaded. */
  const closure = (m, acc = new Set()) => {
    for (const d of deps.get(m) ?? []) {
      if (!acc.has(d.target)) {
        acc.add(d.target);
        closure(d.target, acc);
      }
    }
    return acc;
  };
  for (const [rel, buf] of files) {
    if (!rel.endsWith('.html'))
      continue;
    let html = buf.toString('utf8').replace(/<!--[\s\S]*?-->\n?/g, '');
    html = html.replace(/<script\b[^>]*\btype="module"[^>]*\bsrc="([^"]*)"[^>]*><\/script>/g, (tag, src) => {
      const target = local(rel, src);
      if (!target || !deps.has(target))
        die(rel + ': the module script ' + src + ' is not a compiled module');
      /* An absolute reference stays absolute: a page nginx serves at
       * another path (setup.html, at /sync/setupSyncServices) needs it. */
      const ref = (d) => (src.startsWith('/') ? '/' + d : relTo(rel, d));
      const preload = [...closure(target)].sort()
        .map((d) => '\n<link rel="modulepreload" href="' + ref(d) + '">');
      return tag + preload.join('');
    });
    html = html.replace(ATTR, (all, attr, ref) => {
      const target = local(rel, ref);
      if (target === null)
        return all;
      if (!names.has(target))
        die(rel + ': ' + attr + '="' + ref + '" names no file of the console');
      if (ref.startsWith('/'))
        return attr + '="/' + names.get(target) + '"';
      return attr + '="' + relTo(rel, names.get(target)).replace(/^\.\//, '') + '"';
    });
    out.set(rel, Buffer.from(html, 'utf8'));
  }
  if (!out.has('index.html'))
    die('www/public has no index.html');

  for (const [rel, buf] of out) {
    const dst = path.join(stageDir, rel);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.writeFileSync(dst, buf, { mode: 0o644 });
    const gz = zlib.gzipSync(buf, { level: 9 });
    if (gz.length < buf.length)
      fs.writeFileSync(dst + '.gz', gz, { mode: 0o644 });
  }
}

/**
 * The files one generation consists of: DIR/index.html and the other
 * pages beside it (setup.html), what they name, what those modules
 * import, and each one's .gz.  Null when DIR has no index.html.
 */
function generation(dir) {
  const index = path.join(dir, 'index.html');
  if (!fs.existsSync(index))
    return null;
  const set = new Set();
  const add = (rel) => {
    if (set.has(rel) || !fs.existsSync(path.join(dir, rel)))
      return;
    set.add(rel);
    if (fs.existsSync(path.join(dir, rel + '.gz')))
      set.add(rel + '.gz');
    const text = rel.endsWith('.html') || rel.endsWith('.js') ? fs.readFileSync(path.join(dir, rel), 'utf8') : null;
    if (text === null)
      return;
    if (rel.endsWith('.html')) {
      for (const m of text.matchAll(ATTR)) {
        const t = local(rel, m[2]);
        if (t)
          add(t);
      }
    } else {
      for (const i of ts.preProcessFile(text, true, true).importedFiles) {
        const t = local(rel, i.fileName);
        if (t)
          add(t);
      }
    }
  };
  add('index.html');
  for (const f of fs.readdirSync(dir).sort())
    if (f.endsWith('.html'))
      add(f);
  return set;
}

function writeBeside(src, dst) {
  fs.mkdirSync(path.dirname(dst), { recursive: true, mode: 0o755 });
  const tmp = path.join(path.dirname(dst), '.' + path.basename(dst) + '.' + process.pid + '.tmp');
  fs.copyFileSync(src, tmp);
  fs.chmodSync(tmp, 0o644);
  fs.renameSync(tmp, dst);
}

function sameFile(a, b) {
  try {
    return fs.readFileSync(a).equals(fs.readFileSync(b));
  } catch {
    return false;
  }
}

function publish(fromDir, toDir) {
  const next = generation(fromDir);
  if (!next)
    die(fromDir + ' has no index.html');
  fs.mkdirSync(toDir, { recursive: true, mode: 0o755 });
  const before = generation(toDir);
  /* The pages last, index.html the very last. */
  const pages = [...next].filter((r) => !r.includes('/') && /\.html(\.gz)?$/.test(r) && !r.startsWith('index.html')).sort();
  const last = [...pages, 'index.html.gz', 'index.html'];
  for (const rel of [...next].filter((r) => !last.includes(r)).sort()) {
    /* A hashed name holds the same bytes wherever it exists. */
    if (!sameFile(path.join(fromDir, rel), path.join(toDir, rel)))
      writeBeside(path.join(fromDir, rel), path.join(toDir, rel));
  }
  for (const rel of last) {
    if (next.has(rel))
      writeBeside(path.join(fromDir, rel), path.join(toDir, rel));
    else
      fs.rmSync(path.join(toDir, rel), { force: true });
  }
  /* Without an earlier index.html nothing is known to be unused: keep all. */
  if (!before)
    return;
  for (const rel of walk(toDir)) {
    if (!next.has(rel) && !before.has(rel))
      fs.rmSync(path.join(toDir, rel));
  }
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'stage' && args.length === 3)
  stage(args[0], args[1], args[2]);
else if (cmd === 'publish' && args.length === 2)
  publish(args[0], args[1]);
else
  die('usage: assemble.mjs stage JS_DIR PUBLIC_DIR STAGE_DIR | publish FROM_DIR TO_DIR');
