// twiliopay-migrate against the Node original's own .env reader: dotenv
// 6.2.0, the version twilio-run loads ("^6.2.0"), pinned in this folder's
// lock file.  Every value dotenv gives a Node .env must be what the
// product's reader (build/tests/env-read: tp_env_parse, as the handlers
// read the file) gives the migrated .env - quotes, backslashes, '#',
// ignored lines, CRLF, a byte order mark - except a '#' comment after a
// value, which the Node original took as part of the value and the
// migrated file keeps as a comment (said in the tool's output).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { top } from './helpers.mjs';

const build = path.resolve(top, process.env.B || 'build');
const migrate = path.join(build, 'bin', 'twiliopay-migrate');
const envRead = path.join(build, 'tests', 'env-read');
const added = ['CONNECTOR_USERNAME', 'CONNECTOR_PASSWORD', 'ADMIN_TOKEN', 'AGENT_SECRET',
  'AGENTS_FILE', 'NCHAN_PUBLISH_SOCKET'];

function run(nodeEnv, ...args) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-migrate-'));
  fs.writeFileSync(path.join(dir, 'node.env'), nodeEnv);
  const r = spawnSync(migrate, [...args, '--output', path.join(dir, 'out.env'), path.join(dir, 'node.env')],
    { encoding: 'utf8' });
  const out = fs.existsSync(path.join(dir, 'out.env'))
    ? JSON.parse(execFileSync(envRead, [path.join(dir, 'out.env')], { encoding: 'utf8' })) : null;
  return { dir, status: r.status, stdout: r.stdout, stderr: r.stderr, out,
    text: out ? fs.readFileSync(path.join(dir, 'out.env'), 'utf8') : '' };
}

const tricky = [
  '\uFEFFACCOUNT_SID=AC0123456789abcdef0123456789abcdef',
  'AUTH_TOKEN = 0123456789abcdef0123456789abcdef  ',
  'PAYMENT_CAPTURE_ORDER="payment-card-number,security-code,expiration-date"',
  "SINGLE='it's quoted'",
  'DOUBLE_ESCAPES="a\\\\b\\"c\\t"',
  'NEWLINES="one\\ntwo"',
  'HALF_QUOTED="open',
  'TRAILING="a" ',
  'SPACED=" padded "',
  'HASH_INSIDE=abc#def',
  'QUOTED_HASH="x # y"',
  'BACKSLASH=C:\\path\\n',
  'EMPTY=',
  'API-KEY_AU=SK0123456789abcdef0123456789abcdef',
  'a.dotted.name=1',
  'REPEATED=first',
  'export EXPORTED=1',
  'YAML_STYLE: 1',
  'PAY_SYNC_SERVICE_NAME name of the Sync service',
  '# SIP_DOMAIN_URI=commented.example.com',
  'CRLF_VALUE=windows\r',
  'LONE_CR=a\rb=c',
  'REPEATED=second',
];
// Lines whose unquoted value has a '#' comment after blanks.
const comments = {
  SERVER_URL: ['https://server.ngrok.dev  # the ngrok domain', 'https://server.ngrok.dev'],
  PAY_SYNC_SERVICE_SID: ['IS0123456789abcdef0123456789abcdef  # Set after running setupSyncServices',
    'IS0123456789abcdef0123456789abcdef'],
};

test('every value dotenv 6.2.0 reads from a Node .env reads back the same from the migrated one', () => {
  const text = [...tricky, ...Object.entries(comments).map(([k, v]) => `${k}=${v[0]}`)].join('\n') + '\n';
  const node = dotenv.parse(text);
  // dotenv 6.2.0 really reads these as described in lib/dotenv.c.
  assert.equal(node.SINGLE, "it's quoted");
  assert.equal(node.TRAILING, 'a"');
  assert.equal(node.SPACED, 'padded');
  assert.equal(node.HALF_QUOTED, 'open');
  assert.equal(node.PAY_SYNC_SERVICE_SID, comments.PAY_SYNC_SERVICE_SID[0]);
  assert.equal(node.REPEATED, 'second');
  assert.equal(node.EXPORTED, undefined);
  assert.equal(node.LONE_CR, undefined);

  const r = run(text);
  assert.equal(r.status, 0, r.stderr);
  for (const [k, v] of Object.entries(node)) {
    const want = comments[k] ? comments[k][1] : v;
    assert.equal(r.out[k], want, `${k}: dotenv read ${JSON.stringify(v)}, the migrated file gives ${JSON.stringify(r.out[k])}`);
  }
  const extra = Object.keys(r.out).filter((k) => !(k in node)).sort();
  assert.deepEqual(extra, [...added].sort(), 'only the generated settings are new');
  for (const k of Object.keys(comments))
    assert.match(r.stdout, new RegExp(`${k} \\(line \\d+\\): the '#' text after the value is a comment now`));
  assert.match(r.stdout, /rewritten so that it reads as the Node original read it/);
  assert.match(r.text, /^# \(not read by the Node original\) export EXPORTED=1$/m);
  assert.match(r.text, /^# \(not read by the Node original\) PAY_SYNC_SERVICE_NAME name of the Sync service$/m);
  assert.doesNotMatch(r.text, /\r/, 'written with LF line breaks');
  assert.doesNotMatch(r.text, /\uFEFF/, 'no byte order mark');
  fs.rmSync(r.dir, { recursive: true });
});

test('settings the Node .env already has are never replaced by generated ones', () => {
  const text = 'ACCOUNT_SID=AC0123456789abcdef0123456789abcdef\nADMIN_TOKEN=an-admin-token-of-my-own-0000\n' +
    'CONNECTOR_USERNAME=mine\nAGENTS_FILE=\n';
  const r = run(text);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.out.ADMIN_TOKEN, 'an-admin-token-of-my-own-0000');
  assert.equal(r.out.CONNECTOR_USERNAME, 'mine');
  // An empty value counts as unset (twilio-run dropped empty values too).
  assert.equal(r.out.AGENTS_FILE, path.join(r.dir, 'agents'));
  assert.match(r.out.CONNECTOR_PASSWORD, /^[0-9a-f]{48}$/);
  assert.match(r.out.AGENT_SECRET, /^[0-9a-f]{64}$/);
  fs.rmSync(r.dir, { recursive: true });
});

test('--server-url replaces SERVER_URL and keeps the Node value as a comment', () => {
  const r = run('SERVER_URL=https://genesyspay-1234-dev.twil.io\n', '--server-url', 'https://pay.example.com');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.out.SERVER_URL, 'https://pay.example.com');
  assert.match(r.text, /^# SERVER_URL of the Node original: https:\/\/genesyspay-1234-dev\.twil\.io$/m);
  const r2 = run('SERVER_URL=https://genesyspay-1234-dev.twil.io\n');
  assert.match(r2.stdout, /SERVER_URL https:\/\/genesyspay-1234-dev\.twil\.io is the Node original's Twilio Functions domain/);
  fs.rmSync(r.dir, { recursive: true });
  fs.rmSync(r2.dir, { recursive: true });
});

test('a newline dotenv made from backslash-n is carried', () => {
  const text = 'ACCOUNT_SID=AC0123456789abcdef0123456789abcdef\nODD="a\\nb"\n';
  assert.equal(dotenv.parse(text).ODD, 'a\nb');
  const r = run(text);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.out.ODD, 'a\nb');
  fs.rmSync(r.dir, { recursive: true });
});
