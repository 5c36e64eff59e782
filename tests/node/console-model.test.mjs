// The agent console's pure logic (www/src/model.ts), as compiled by
// `make www` into $B/.www/js/model.js (before www/assemble.mjs gives it
// a hashed name): reading the server's state object,
// ordering updates, the words the agent sees and hears, form checks.
import { test as nodeTest } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const compiled = path.resolve(top, process.env.B || 'build', '.www/js');
const m = await import(pathToFileURL(path.join(compiled, 'model.js')).href);
const api = await import(pathToFileURL(path.join(compiled, 'api.js')).href);

const test = (name, fn) => nodeTest('console model: ' + name, fn);

const PK = 'PK' + 'a'.repeat(32);
const CA = 'CA' + 'b'.repeat(32);
const ORDER = ['payment-card-number', 'security-code', 'expiration-date'];

// A state object as the server publishes it, with overrides.
function state(o = {}) {
  return {
    paymentSid: PK, callSid: CA, status: 'capturing', method: 'credit-card',
    chargeAmount: '9.99', currency: 'USD', tokenType: null,
    capture: 'payment-card-number', partial: false, attempt: 1, stalled: null,
    required: [...ORDER], order: [...ORDER],
    fields: Object.fromEntries(ORDER.map((f) => [f, { state: 'waiting', value: null }])),
    cardType: null, errorType: null, errorField: null, result: null, confirmationCode: null, token: null,
    paymentError: null, payErrorCode: null, seq: 1, updatedAt: null,
    ...o,
  };
}
const view = (o) => {
  const v = m.parseView(state(o));
  assert.ok(v, 'parseView accepted the state');
  return v;
};
const fields = (o) => ({ ...state().fields, ...o });

test('parseView reads a full state object', () => {
  const v = view({
    fields: fields({ 'payment-card-number': { state: 'captured', value: 'xxxxxxxxxxxx1111' } }),
    cardType: 'visa', seq: 7,
  });
  assert.equal(v.paymentSid, PK);
  assert.equal(v.status, 'capturing');
  assert.deepEqual(v.order, ORDER);
  assert.equal(v.fields['payment-card-number'].state, 'captured');
  assert.equal(v.fields['payment-card-number'].value, 'xxxxxxxxxxxx1111');
  assert.equal(v.fields['security-code'].value, null);
  assert.equal(v.cardType, 'visa');
  assert.equal(v.seq, 7);
});

test('parseView refuses what is not a session state', () => {
  for (const [why, x] of [
    ['null', null], ['array', []], ['string', 'x'],
    ['no paymentSid', state({ paymentSid: undefined })],
    ['bad paymentSid', state({ paymentSid: 'PK123' })],
    ['bad callSid', state({ callSid: 'not-a-sid' })],
    ['unknown status', state({ status: 'exploded' })],
    ['no status', state({ status: undefined })],
  ])
    assert.equal(m.parseView(x), null, why);
});

test('parseView tolerates missing or odd parts', () => {
  const v = m.parseView(state({
    fields: { 'payment-card-number': { state: 'bogus', value: 42 } },
    required: ['security-code', 7, ''], seq: 'x', partial: 'yes', method: 'cash',
  }));
  assert.equal(v.fields['payment-card-number'].state, 'waiting');
  assert.equal(v.fields['payment-card-number'].value, null);
  assert.equal(v.fields['expiration-date'].state, 'waiting', 'a field of the order missing from fields');
  assert.deepEqual(v.required, ['security-code']);
  assert.equal(v.seq, 0);
  assert.equal(v.partial, false);
  assert.equal(v.method, 'credit-card');
});

test('supersedes: higher seq wins, duplicates are harmless, final states stick', () => {
  const a = view({ seq: 5 });
  assert.equal(m.supersedes(null, a), true);
  assert.equal(m.supersedes(a, view({ seq: 6 })), true);
  assert.equal(m.supersedes(a, view({ seq: 5 })), true, 'same seq re-applies (idempotent)');
  assert.equal(m.supersedes(a, view({ seq: 4 })), false, 'older message');
  const done = view({ status: 'completed', result: 'success', seq: 9 });
  assert.equal(m.supersedes(done, view({ status: 'capturing', seq: 10 })), false);
  assert.equal(m.supersedes(a, view({ paymentSid: 'PK' + 'c'.repeat(32), seq: 99 })), false, 'another payment');
});

test('the server\'s field states and kept error are shown as they are', () => {
  // The server says "keying" only once digits arrive and keeps an
  // ErrorType (with errorField) through its automatic re-ask; the console
  // has no rules of its own about either.
  const reask = view({ seq: 21, attempt: 2, partial: true, errorType: 'invalid-card-number',
    errorField: 'payment-card-number', fields: fields({ 'payment-card-number': { state: 'invalid', value: null } }) });
  assert.equal(reask.errorField, 'payment-card-number');
  assert.equal(reask.fields['payment-card-number'].state, 'invalid');
  assert.match(m.statusLine(reask), /key the card number again/);
  const error = view({ seq: 20, attempt: 2, errorType: 'invalid-card-number', errorField: 'payment-card-number',
    fields: fields({ 'payment-card-number': { state: 'invalid', value: null } }) });
  assert.equal(m.announcement(error, reask), null, 'the kept error is not said twice');
  const asked = view({ partial: true, fields: fields({ 'payment-card-number': { state: 'waiting', value: null } }) });
  assert.match(m.statusLine(asked), /ask the customer to key the long number/i);
  for (const gone of ['shownState', 'nextStickyError', 'withStickyError'])
    assert.equal(m[gone], undefined, gone + ': no client-side workaround left');
  // An error is explained for the field it is about.
  const other = view({ capture: 'payment-card-number', errorType: 'input-timeout', errorField: 'security-code', attempt: 2 });
  assert.match(m.announcement(view(), other), /3-digit code on the back/);
});

test('field rows: Ask again only where it changes something; what an ended session never captured says so', () => {
  const row = (o, name) => m.fieldRow(view(o), name);
  const pick = (r) => [r.state, r.label, r.shown, r.askAgain];
  // Being asked for, nothing keyed: "Asking now", nothing to ask again.
  assert.deepEqual(pick(row({ partial: true }, 'payment-card-number')), ['waiting', 'Asking now', '', false]);
  assert.deepEqual(pick(row({}, 'security-code')), ['waiting', 'Waiting', '', false], 'not reached yet');
  assert.deepEqual(pick(row({ partial: true, fields: fields({ 'payment-card-number': { state: 'keying', value: 'xxxx' } }) },
    'payment-card-number')), ['keying', 'Customer keying', '••••', true], 'keying: start it over');
  const captured = fields({ 'payment-card-number': { state: 'captured', value: 'xxxxxxxxxxxx1111' } });
  assert.deepEqual(pick(row({ capture: 'security-code', fields: captured, cardType: 'visa' }, 'payment-card-number')),
    ['captured', 'Captured', 'Visa •••• •••• •••• 1111', true], 'captured: replace it');
  // Refused while the server asks again by itself: nothing to add; once
  // it stopped asking, the agent resumes it.
  const invalid = { errorType: 'invalid-card-number', errorField: 'payment-card-number',
    fields: fields({ 'payment-card-number': { state: 'invalid', value: 'xxxxxxxxxxxx1112' } }) };
  assert.deepEqual(pick(row(invalid, 'payment-card-number')), ['invalid', 'Not valid', '', false]);
  assert.deepEqual(pick(row({ ...invalid, stalled: 'retries-exhausted' }, 'payment-card-number')), ['invalid', 'Not valid', '', true]);
  assert.equal(row({ stalled: 'capture-request-failed' }, 'payment-card-number').askAgain, true);
  assert.equal(row({ stalled: 'unknown-required-field' }, 'payment-card-number').askAgain, false, 'cancel is the only way out');
  assert.equal(row({ status: 'submitting', required: [], fields: captured }, 'payment-card-number').askAgain, false);
  // Ended: partial digits and fields never reached were not captured.
  for (const end of [{ status: 'cancelled' }, { status: 'failed', result: 'caller-hung-up' }]) {
    const v = { ...end, capture: 'security-code', fields: fields({ ...captured,
      'security-code': { state: 'waiting', value: 'xx' } }) };
    assert.deepEqual(pick(row(v, 'payment-card-number')), ['captured', 'Captured', '•••• •••• •••• 1111', false]);
    assert.deepEqual(pick(row(v, 'security-code')), ['not-captured', 'Not captured', '', false], end.status);
    assert.equal(row(v, 'security-code').spoken, 'not captured');
    assert.equal(row(v, 'security-code').current, false);
    assert.deepEqual(pick(row(v, 'expiration-date')), ['not-captured', 'Not captured', '', false]);
  }
});

test('the call a widget is for, in words', () => {
  const sid = 'CA' + 'f'.repeat(32);
  assert.equal(m.targetText({ kind: 'conversationId', value: 'c0ffee-1234' }), 'For conversation c0ffee-1234');
  assert.equal(m.targetText({ kind: 'callSid', value: sid }), 'For call CAffff\u2026ffff');
  assert.equal(m.targetText({ kind: 'uui', value: sid }), 'For call CAffff\u2026ffff', 'an inbound call\'s UUI is its CallSid');
  assert.equal(m.targetText({ kind: 'uui', value: 'ref-42' }), 'For call reference ref-42');
});

test('Submit only when nothing is required', () => {
  assert.equal(m.canSubmit(view()), false);
  assert.equal(m.canSubmit(view({ required: ['expiration-date'] })), false);
  assert.equal(m.canSubmit(view({ required: [], status: 'ready' })), true);
  assert.equal(m.canSubmit(view({ required: [], status: 'capturing', partial: true })), false);
  assert.equal(m.canSubmit(view({ required: [], status: 'submitting' })), false);
  assert.equal(m.canSubmit(view({ required: [], status: 'completed', result: 'success' })), false);
  assert.equal(m.canRecapture(view({ status: 'submitting' })), false);
  assert.equal(m.canCancel(view({ status: 'ready', required: [] })), true);
  assert.equal(m.canCancel(view({ status: 'cancelled' })), false);
});

test('ErrorType becomes an instruction to read out', () => {
  const card = m.errorInstruction('invalid-card-number', 'payment-card-number', null);
  assert.match(card, /card number was not valid/i);
  assert.match(card, /ask the customer to key the card number again/i);
  assert.match(m.errorInstruction('invalid-security-code', 'security-code', 'amex'), /4-digit code on the front/);
  assert.match(m.errorInstruction('invalid-security-code', 'security-code', 'visa'), /3-digit code on the back/);
  assert.match(m.errorInstruction('invalid-date', 'expiration-date', null), /month then year/);
  assert.match(m.errorInstruction('input-timeout', 'postal-code', null), /postal code/);
  assert.match(m.errorInstruction('something-new', 'security-code', null), /"something-new".*security code/);
  for (const t of ['invalid-card-type', 'invalid-postal-code', 'invalid-bank-routing-number',
    'invalid-bank-account-number', 'invalid-bank-account-type', 'input-matching-failed',
    'invalid-card-number-security-code-capture-sequence', 'session-in-progress', 'internal-error'])
    assert.doesNotMatch(m.errorInstruction(t, 'payment-card-number', null), /reported "/, t + ' has its own words');
});

test('status line follows the capture', () => {
  assert.match(m.statusLine(view()), /ask the customer to key the long number/i);
  assert.match(m.statusLine(view({ partial: true, fields: fields({ 'payment-card-number': { state: 'keying', value: 'xxxxxx' } }) })),
    /customer is keying the card number/i);
  assert.match(m.statusLine(view({ errorType: 'invalid-card-number', errorField: 'payment-card-number', partial: true,
    fields: fields({ 'payment-card-number': { state: 'invalid', value: null } }) })), /key the card number again/);
  assert.match(m.statusLine(view({ capture: 'security-code', required: ['security-code', 'expiration-date'] })),
    /3-digit code/);
  assert.match(m.statusLine(view({ status: 'ready', required: [] })), /press Submit\.$/);
  // Saving the card (amount 0): the button says Save details, and so does the line.
  const save = view({ status: 'ready', required: [], chargeAmount: null, tokenType: 'reusable' });
  assert.match(m.statusLine(save), /press Save details\.$/);
  assert.equal(m.submitLabel(save), 'Save details');
  assert.equal(m.submitLabel(view()), 'Submit payment');
  assert.match(m.announcement(view({ seq: 0 }), view({ ...save, seq: 5 })), /Press Save details to save the card\./);
  assert.match(m.announcement(view({ seq: 0, method: 'ach-debit' }),
    view({ ...save, method: 'ach-debit', seq: 5 })), /save the bank account\./);
  assert.match(m.statusLine(view({ status: 'submitting', required: [] })), /Submitting/);
});

test('outcomes say what happened and what to do', () => {
  const paid = m.outcome(view({
    status: 'completed', result: 'success', confirmationCode: 'ch_123', cardType: 'visa', required: [],
    fields: fields({ 'payment-card-number': { state: 'captured', value: 'xxxxxxxxxxxx1111' } }),
  }));
  assert.equal(paid.kind, 'success');
  assert.equal(paid.title, 'Payment successful');
  assert.deepEqual(paid.facts.find(([k]) => k === 'Confirmation'), ['Confirmation', 'ch_123']);
  assert.deepEqual(paid.facts.find(([k]) => k === 'Card'), ['Card', 'Visa ending 1111']);
  assert.deepEqual(paid.facts.find(([k]) => k === 'Amount'), ['Amount', '$9.99']);

  assert.equal(paid.reference, null);
  assert.equal(paid.detail, 'Read the confirmation code to the customer.', 'no reference given: the id is what there is');

  // With the short reference: that is what the customer gets.
  const done = view({ status: 'completed', result: 'success', confirmationCode: 'ch_123', reference: 'K7QM-4XTR', required: [] });
  const withRef = m.outcome(done);
  assert.equal(withRef.reference, 'K7QM-4XTR');
  assert.equal(withRef.detail, 'Read the reference to the customer.');
  assert.deepEqual(withRef.facts.find(([k]) => k === "Processor's id"), ["Processor's id", 'ch_123']);
  assert.equal(m.announcement(view({ status: 'submitting', required: [] }), done),
    'Payment successful. Read the reference to the customer. The reference is K 7 Q M, 4 X T R.');
  assert.equal(m.spellReference('K7QM-4XTR'), 'K 7 Q M, 4 X T R');
  for (const bad of ['k7qm-4xtr', 'K7QM4XTR', 'K7QM-4XT0', 'B7QM-4XTR', 'ch_123'])
    assert.equal(view({ reference: bad }).reference, null, bad + ' is not a reference');
  assert.equal(m.outcome(view({ status: 'cancelled', reference: 'K7QM-4XTR' })).reference, null);

  const saved = m.outcome(view({ status: 'completed', result: 'success', chargeAmount: '0', token: 'tok_9', required: [] }));
  assert.equal(saved.title, 'Card saved');
  assert.deepEqual(saved.facts[0], ['Token', 'tok_9']);
  assert.match(saved.detail, /Nothing was charged\. The details are saved for future payments\./);
  assert.match(m.outcome(view({ status: 'completed', result: 'success', chargeAmount: '0', tokenType: 'one-time', required: [] })).detail,
    /saved for one payment/);
  assert.equal(saved.facts.find(([k]) => k === 'Amount'), undefined);

  const declined = m.outcome(view({ status: 'failed', result: 'payment-connector-error', paymentError: 'card is declined', payErrorCode: '64010' }));
  assert.equal(declined.kind, 'failure');
  assert.equal(declined.title, 'Payment declined');
  assert.match(declined.detail, /\(card is declined\)\. Nothing/);
  assert.match(m.outcome(view({ status: 'failed', result: 'payment-connector-error', paymentError: 'The card was declined.' })).detail,
    /\(The card was declined\)\. Nothing/, 'no doubled full stop');
  assert.match(declined.detail, /another card/);

  assert.equal(m.outcome(view({ status: 'failed', result: 'caller-hung-up' })).title, 'The customer hung up');
  assert.equal(m.outcome(view({ status: 'cancelled' })).kind, 'cancelled');
  assert.match(m.outcome(view({ status: 'failed', result: 'too-many-failed-attempts' })).title, /Too many/);

  const ach = m.outcome(view({ status: 'completed', result: 'success', method: 'ach-debit',
    order: ['bank-routing-number', 'bank-account-number'], required: [],
    fields: { 'bank-routing-number': { state: 'captured', value: '121181976' },
      'bank-account-number': { state: 'captured', value: '*******92' } } }));
  assert.deepEqual(ach.facts.find(([k]) => k === 'Account'), ['Account', 'ending 92']);
});

test('announcements: captured fields, errors, ready, outcome; silence for partial digits', () => {
  const a = view();
  const keying = view({ partial: true, seq: 2, fields: fields({ 'payment-card-number': { state: 'keying', value: 'xxxx' } }) });
  assert.equal(m.announcement(a, keying), null, 'digits arriving are not announced');
  const captured = view({
    seq: 3, capture: 'security-code', cardType: 'visa', required: ['security-code', 'expiration-date'],
    fields: fields({ 'payment-card-number': { state: 'captured', value: 'xxxxxxxxxxxx1111' } }),
  });
  const said = m.announcement(keying, captured);
  assert.match(said, /Card number captured, Visa, ending 1111\./);
  assert.match(said, /Now asking for the security code/);
  assert.doesNotMatch(said, /x{4}/);

  const bad = view({ seq: 4, errorType: 'invalid-card-number',
    fields: fields({ 'payment-card-number': { state: 'invalid', value: null } }) });
  assert.match(m.announcement(a, bad), /card number was not valid/i);
  assert.equal(m.announcement(bad, view({ ...bad, seq: 5, errorType: 'invalid-card-number' })), null,
    'the same error on the same attempt is said once');

  const ready = view({ seq: 6, status: 'ready', required: [] });
  assert.match(m.announcement(captured, ready), /Press Submit/);
  const done = view({ seq: 7, status: 'completed', result: 'success', required: [] });
  assert.match(m.announcement(ready, done), /^Payment successful\./);
  assert.equal(m.announcement(done, done), null);
});

test('masked values are shown, never unmasked', () => {
  assert.equal(m.displayValue('payment-card-number', 'xxxxxxxxxxxx1111'), '•••• •••• •••• 1111');
  assert.equal(m.displayValue('payment-card-number', 'xxxx-xxxxxx-x4001'), '••••-••••••-•4001');
  assert.equal(m.displayValue('security-code', 'xxx'), '•••');
  assert.equal(m.displayValue('expiration-date', '1225'), '12/25');
  assert.equal(m.displayValue('bank-account-number', '*******92'), '•••••••92');
  assert.equal(m.displayValue('postal-code', '94109'), '94109');
  assert.equal(m.displayValue('postal-code', null), '');
  assert.equal(m.spokenValue('payment-card-number', 'xxxxxxxxxxxx1111'), 'ending 1111');
  assert.equal(m.spokenValue('security-code', 'xxx'), '3 digits, hidden');
  assert.equal(m.visibleTail('xxxxxxxxxxxx4242'), '4242');
  assert.equal(m.brandName('amex'), 'American Express');
  assert.equal(m.brandName(null), null);
});

test('amounts are read in the agent\'s number format and the currency\'s decimals, never guessed', () => {
  const us = m.numberStyle('en-US');
  const de = m.numberStyle('de-DE');
  const fr = m.numberStyle('fr-FR');
  assert.deepEqual([us.decimal, us.group, us.example], ['.', ',', '1,234.56']);
  assert.deepEqual([de.decimal, de.group, de.example], [',', '.', '1.234,56']);
  const ok = (raw, style, currency, places, value) => {
    const r = m.parseAmount(raw, places, currency, style);
    assert.ok(r.ok, raw + ' in ' + style.locale + ': ' + r.error);
    assert.equal(r.value.value, value, raw + ' in ' + style.locale);
    assert.equal(r.value.spoken, value === '0' ? null : currency + ' ' + value);
  };
  const refused = (raw, style, currency, places, re) => {
    const r = m.parseAmount(raw, places, currency, style);
    assert.equal(r.ok, false, raw + ' in ' + style.locale + ' was read as ' + JSON.stringify(r.value));
    assert.match(r.error, re, raw + ' in ' + style.locale);
  };
  for (const cur of ['EUR', 'USD']) {
    // An American agent: the comma separates thousands.
    refused('12,34', us, cur, 2, new RegExp('^“12,34” is not clear: in your number format \\(1,234\\.56\\) a comma separates thousands ' +
      'and a point marks the decimals, so it cannot be read\\. If you mean ' + cur + ' 12\\.34, type 12\\.34\\.$'));
    ok('1,000.00', us, cur, 2, '1000.00');
    ok('12.34', us, cur, 2, '12.34');
    refused('1.000,00', us, cur, 2, new RegExp('If you mean ' + cur + ' 1000\\.00, type 1000\\.00\\.$'));
    // A German agent: the comma marks the decimals.
    ok('12,34', de, cur, 2, '12.34');
    refused('1,000.00', de, cur, 2, new RegExp('^“1,000\\.00” is not clear: in your number format \\(1\\.234,56\\) a point separates ' +
      'thousands and a comma marks the decimals, so it cannot be read\\. If you mean ' + cur + ' 1000\\.00, type 1000,00\\.$'));
    ok('1.000,00', de, cur, 2, '1000.00');
    refused('12.34', de, cur, 2, new RegExp('If you mean ' + cur + ' 12\\.34, type 12,34\\.$'));
  }
  // Grouping only where the locale groups; spaces for a locale that groups with them.
  refused('1,00', us, 'USD', 2, /not clear/);
  refused('12,3456', us, 'USD', 2, /not clear/);
  ok('1,234,567'.slice(2), us, 'USD', 2, '234567.00');
  ok('1 000,5', fr, 'EUR', 2, '1000.50');
  ok('1\u202f000,5', fr, 'EUR', 2, '1000.50');
  ok('12,34,567.5'.replace('12,', ''), m.numberStyle('en-IN'), 'INR', 2, '34567.50');
  // Plain input, trimmed; zero saves the details.
  for (const [raw, want] of [['9.99', '9.99'], [' 10 ', '10.00'], ['0', '0'], ['0.00', '0'], ['.5', '0.50'],
    ['999999.99', '999999.99'], ['0009', '9.00'], ['12.', '12.00']])
    ok(raw, us, 'USD', 2, want);
  for (const [raw, re] of [['', /^Enter an amount/], ['abc', /is not an amount/], ['-1', /is not an amount/],
    ['1e3', /is not an amount/], ['$12', /is not an amount/], ['12 USD', /is not an amount/], ['NaN', /is not an amount/],
    ['1000000', /less than 1,000,000/], ['1.2.3', /more than one point/], ['1.234', /more than 2 decimal places.*If you mean USD 1234\.00, type 1234\./]])
    refused(raw, us, 'USD', 2, re);
  // The currency's rule from GET /aap/config: JPY has no decimals.
  ok('1500', us, 'JPY', 0, '1500');
  refused('12.50', us, 'JPY', 0, /^“12\.50” has decimals, and JPY has none: type a whole amount, such as 1500\.$/);
  ok('9.5', us, 'XXX', 1, '9.5');
  refused('9.95', us, 'XXX', 1, /more than 1 decimal place,/);
  // Machine-written amounts (a widget URL) are plain decimals, shown in the agent's format.
  assert.equal(m.checkPlainAmount('12.50'), '12.50');
  for (const raw of ['12,50', '1,000.00', '-1', '1e3', '12.505', '1000000', ''])
    assert.equal(m.checkPlainAmount(raw), null, raw);
  assert.equal(m.amountInput('12.50', de), '12,50');
  assert.equal(m.amountInput('12.50', us), '12.50');
});

test('currency, holder name and call checks match the server rules', () => {
  assert.deepEqual(m.checkCurrency('usd'), { ok: true, value: 'USD' });
  assert.deepEqual(m.checkHolderName('  Jane   Q  Public '), { ok: true, value: 'Jane Q Public' });
  assert.equal(m.checkHolderName('J').ok, false);
  assert.equal(m.checkHolderName('x'.repeat(101)).ok, false);
  assert.equal(m.checkHolderName('Jane\u0007Doe').ok, false);
  assert.equal(m.checkCurrency('US').ok, false);
  assert.equal(m.checkAttach('callSid', 'CA' + '0'.repeat(32)).ok, true);
  assert.equal(m.checkAttach('callSid', 'CA123').ok, false);
  assert.equal(m.checkAttach('conversationId', '  ').ok, false);
  assert.equal(m.checkAttach('uui', 'abc 123').ok, false, 'spaces');
  assert.equal(m.checkAttach('uui', 'a/b').ok, false, 'outside the server\'s uuiMap key alphabet');
  assert.equal(m.checkAttach('conversationId', 'a1b2-c3.d4_e5:f6@g7+h8').ok, true);
  assert.equal(m.checkAttach('uui', 'x'.repeat(129)).ok, false, 'too long');
});

test('widget parameters from the URL', () => {
  const w = m.parseWidgetParams('?conversationId=5f2a-77&amount=12.50&currency=eur&method=ach-debit');
  assert.deepEqual(w.target, { kind: 'conversationId', value: '5f2a-77' });
  assert.equal(w.amount, '12.50');
  assert.equal(w.currency, 'EUR');
  assert.equal(w.method, 'ach-debit');
  assert.deepEqual(m.parseWidgetParams('?callSid=CA' + 'f'.repeat(32)).target, { kind: 'callSid', value: 'CA' + 'f'.repeat(32) });
  assert.deepEqual(m.parseWidgetParams('?uui=CA' + 'f'.repeat(32)).target.kind, 'uui');
  const junk = m.parseWidgetParams('?callSid=bogus&amount=-3&currency=x&method=cash');
  assert.deepEqual(junk, { target: null, amount: null, currency: null, method: null });
  assert.equal(m.parseWidgetParams('').target, null);
  assert.equal(m.attachKey({ kind: 'uui', value: 'u1' }), 'uui:u1');
});

test('server errors become something the agent can act on', () => {
  assert.match(m.apiErrorText(0, null, 'start the payment'), /Cannot reach/);
  assert.equal(m.apiErrorText(404, 'No call in progress with that UUI', 'x'), 'No call in progress with that UUI.');
  assert.match(m.apiErrorText(409, null, 'x'), /not possible/);
  assert.match(m.apiErrorText(401, 'whatever', 'x'), /Sign in again/);
  assert.match(m.apiErrorText(503, 'Twilio unreachable', 'x'), /problem: Twilio unreachable\./);
  // Codes whose server words are for operators get the agent's words.
  assert.match(m.apiErrorText(404, 'no call is known for UUI x (uuiMap gets it when the call is answered)', 'x', 'uui_not_found'),
    /^No call was found for that conversation id or UUI\./);
  assert.doesNotMatch(m.apiErrorText(404, 'no call is known for UUI x (uuiMap ...)', 'x', 'uui_not_found'), /uuiMap/);
  assert.equal(m.apiErrorText(409, 'call CA1 is completed, not in-progress', 'x', 'call_not_in_progress'),
    'That call has ended, so no payment can be taken on it.');
  assert.match(m.apiErrorText(403, null, 'x', 'session_other_agent'), /another agent/);
  assert.equal(m.apiErrorText(404, 'Something else', 'x', 'unknown_code'), 'Something else.', 'other codes: the server\'s words');
});

test('GET /aap/config is read defensively; DEFAULT_CONFIG when it is not there', () => {
  const c = api.parseConfig({
    currencies: ['EUR', 'JPY', 'bad', 7], defaultCurrency: 'JPY',
    currencyRules: { EUR: { places: 2, maxAmount: '999999.99' }, JPY: { places: 0, maxAmount: '999999' } },
    paymentMethods: ['credit-card', 'cash'], includeCvc: false, includePostalCode: true,
    captureOrder: { 'credit-card': ['payment-card-number', 'expiration-date', 'postal-code', '<b>'],
      'ach-debit': ['bank-routing-number', 'bank-account-number'] },
  });
  assert.equal(c.fromServer, true);
  assert.deepEqual(c.currencies, ['EUR', 'JPY']);
  assert.equal(c.defaultCurrency, 'JPY');
  assert.deepEqual(api.currencyRule(c, 'JPY'), { places: 0, maxAmount: '999999' });
  assert.deepEqual(api.currencyRule(c, 'USD'), { places: 2, maxAmount: '999999.99' }, 'unknown: two decimals');
  assert.deepEqual(c.paymentMethods, ['credit-card']);
  assert.equal(c.includeCvc, false);
  assert.equal(c.includePostalCode, true);
  assert.deepEqual(c.captureOrder['credit-card'], ['payment-card-number', 'expiration-date', 'postal-code']);
  for (const junk of [null, 'x', [], {}, { currencies: [] }]) {
    const d = api.parseConfig(junk);
    assert.equal(d.fromServer, false);
    assert.deepEqual(d.currencies, api.DEFAULT_CONFIG.currencies);
  }
  assert.equal(api.parseConfig({ currencies: ['GBP'], defaultCurrency: 'USD' }).defaultCurrency, 'GBP',
    'a default outside the list is not offered');
});

test('stalled: nobody asks the customer, so the words say what the agent does', () => {
  const card = (st) => fields({ 'payment-card-number': { state: st, value: null } });
  const third = view({ seq: 30, attempt: 4, errorType: 'invalid-card-number', errorField: 'payment-card-number', fields: card('invalid') });
  const stalled = view({ seq: 31, attempt: 4, errorType: 'invalid-card-number', errorField: 'payment-card-number',
    stalled: 'retries-exhausted', fields: card('invalid') });
  assert.match(m.statusLine(stalled), /^Paused after several invalid entries of the card number\. Press Ask again/);
  const said = m.announcement(third, stalled);
  assert.match(said, /could not key a valid card number after several tries/);
  assert.doesNotMatch(said, /key the card number again/, 'not "ask again": nobody is asking');
  assert.match(m.statusLine(view({ stalled: 'capture-request-failed' })), /did not go through\. Press Ask again/);
  // The agent asks for the field again: said, although the field stays the same.
  const again = view({ seq: 32, attempt: 1, fields: card('waiting') });
  assert.equal(m.announcement(stalled, again), 'Asking for the card number again.');
  const keying = view({ seq: 33, partial: true, fields: fields({ 'payment-card-number': { state: 'keying', value: 'xx' } }) });
  assert.equal(m.announcement(keying, view({ seq: 34, fields: card('waiting') })), 'Asking for the card number again.');
  assert.equal(m.announcement(view({ seq: 1 }), view({ seq: 2 })), null, 'nothing changed, nothing said');
});

