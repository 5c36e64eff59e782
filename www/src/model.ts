/*
 * model.ts - the console's pure logic: the payment state object the
 * server publishes, read defensively, and every sentence the agent sees
 * or hears about it.  No DOM and no network here, so node's test runner
 * exercises it directly (tests/node/console-model.test.mjs).
 *
 * The state object is the server's view of one payment session
 * (docs/api.md "The state object": GET /aap/session and each EventSource message):
 *   {paymentSid, callSid, status, method, chargeAmount, currency,
 *    tokenType, capture, partial, attempt, stalled, required[], order[],
 *    fields {name: {state, value}}, cardType, errorType, errorField, result,
 *    reference, confirmationCode, token, paymentError, payErrorCode, seq,
 *    updatedAt}
 * Values are only what Twilio itself masks (twilio-contract.md 4.1): the
 * card number's last four, no security code digits, the bank account's
 * last two; expiry, postal code and routing number in clear.
 */

export const FIELD_NAMES = [
	'payment-card-number',
	'security-code',
	'expiration-date',
	'postal-code',
	'bank-routing-number',
	'bank-account-number',
] as const;

export type FieldState = 'waiting' | 'keying' | 'captured' | 'invalid';
export type SessionStatus = 'capturing' | 'ready' | 'submitting' | 'completed' | 'failed' | 'cancelled';
export type PaymentMethod = 'credit-card' | 'ach-debit';

export interface FieldView {
	readonly state: FieldState;
	readonly value: string | null;
}

export interface PaymentView {
	readonly paymentSid: string;
	readonly callSid: string;
	readonly status: SessionStatus;
	readonly method: PaymentMethod;
	readonly chargeAmount: string | null;
	readonly currency: string | null;
	readonly tokenType: string | null;
	/** the field Twilio is collecting now; null once final */
	readonly capture: string | null;
	/** true while the customer is still keying the current field */
	readonly partial: boolean;
	readonly attempt: number;
	/** why auto-progression stopped and waits for the agent, or null */
	readonly stalled: string | null;
	/** fields still missing, in capture order */
	readonly required: readonly string[];
	/** every field of this payment, in capture order */
	readonly order: readonly string[];
	readonly fields: Readonly<Record<string, FieldView>>;
	readonly cardType: string | null;
	/**
	 * Twilio's last ErrorType, kept by the server through its automatic
	 * re-ask until the customer keys new digits into errorField (whose
	 * state is then "invalid"), the field is captured or the capture moves on
	 */
	readonly errorType: string | null;
	readonly errorField: string | null;
	readonly result: string | null;
	/** the short reference read to the customer ("K7QM-4XTR"), once completed */
	readonly reference: string | null;
	readonly confirmationCode: string | null;
	readonly token: string | null;
	readonly paymentError: string | null;
	readonly payErrorCode: string | null;
	/** increases with every change the server applies */
	readonly seq: number;
	readonly updatedAt: string | null;
}

const STATUSES: readonly SessionStatus[] = ['capturing', 'ready', 'submitting', 'completed', 'failed', 'cancelled'];
const FIELD_STATES: readonly FieldState[] = ['waiting', 'keying', 'captured', 'invalid'];

function isRecord(x: unknown): x is Record<string, unknown> {
	return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function str(o: Record<string, unknown>, k: string): string | null {
	const v = o[k];
	return typeof v === 'string' && v !== '' ? v : null;
}

function strList(o: Record<string, unknown>, k: string): string[] {
	const v = o[k];
	return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string' && s !== '') : [];
}

const SID = /^[A-Z]{2}[0-9a-fA-F]{32}$/;
/* lib/reference.c: 8 of 27 symbols (no 0 1 B I L O S U Z), two groups. */
const REFERENCE = /^[2-9ACDEFGHJKMNPQRTVWXY]{4}-[2-9ACDEFGHJKMNPQRTVWXY]{4}$/;

/**
 * Reads one state object from the server.  Returns null when it is not
 * one (a missing SID or an unknown status): the caller ignores it rather
 * than render something half-true.  Unknown fields are kept so a newer
 * server can add a field without a console release.
 */
export function parseView(x: unknown): PaymentView | null {
	if (!isRecord(x))
		return null;
	const paymentSid = str(x, 'paymentSid');
	const callSid = str(x, 'callSid');
	const status = str(x, 'status');
	if (!paymentSid || !SID.test(paymentSid) || !callSid || !SID.test(callSid))
		return null;
	if (!status || !(STATUSES as readonly string[]).includes(status))
		return null;
	const order = strList(x, 'order');
	const fields: Record<string, FieldView> = {};
	const rawFields = isRecord(x['fields']) ? x['fields'] : {};
	for (const name of order) {
		const f = rawFields[name];
		const st = isRecord(f) ? str(f, 'state') : null;
		fields[name] = {
			state: st && (FIELD_STATES as readonly string[]).includes(st) ? (st as FieldState) : 'waiting',
			value: isRecord(f) ? str(f, 'value') : null,
		};
	}
	const seq = x['seq'];
	const attempt = x['attempt'];
	return {
		paymentSid,
		callSid,
		status: status as SessionStatus,
		method: str(x, 'method') === 'ach-debit' ? 'ach-debit' : 'credit-card',
		chargeAmount: str(x, 'chargeAmount'),
		currency: str(x, 'currency'),
		tokenType: str(x, 'tokenType'),
		capture: str(x, 'capture'),
		partial: x['partial'] === true,
		attempt: typeof attempt === 'number' && Number.isFinite(attempt) ? attempt : 0,
		stalled: str(x, 'stalled'),
		required: strList(x, 'required'),
		order,
		fields,
		cardType: str(x, 'cardType'),
		errorType: str(x, 'errorType'),
		errorField: str(x, 'errorField'),
		result: str(x, 'result'),
		reference: REFERENCE.test(str(x, 'reference') ?? '') ? str(x, 'reference') : null,
		confirmationCode: str(x, 'confirmationCode'),
		token: str(x, 'token'),
		paymentError: str(x, 'paymentError'),
		payErrorCode: str(x, 'payErrorCode'),
		seq: typeof seq === 'number' && Number.isFinite(seq) ? seq : 0,
		updatedAt: str(x, 'updatedAt'),
	};
}

export function isFinal(v: PaymentView): boolean {
	return v.status === 'completed' || v.status === 'failed' || v.status === 'cancelled';
}

/**
 * Whether `next` replaces `cur`.  States can arrive twice or out of
 * order (a live message racing the GET of the current state after a
 * (re)connect, two callbacks handled at once): the higher `seq` wins, and
 * a final state is never replaced by a non-final one.
 */
export function supersedes(cur: PaymentView | null, next: PaymentView): boolean {
	if (!cur)
		return true;
	if (cur.paymentSid !== next.paymentSid)
		return false;
	if (isFinal(cur) && !isFinal(next))
		return false;
	return next.seq >= cur.seq;
}

/** Submit: only while capturing or ready, and once nothing is required. */
export function canSubmit(v: PaymentView): boolean {
	return (v.status === 'ready' || v.status === 'capturing') && v.required.length === 0 && !v.partial;
}

/** Ask for a field again (changeCapture): any time before the agent submits. */
export function canRecapture(v: PaymentView): boolean {
	return v.status === 'ready' || v.status === 'capturing';
}

export function canCancel(v: PaymentView): boolean {
	return v.status === 'ready' || v.status === 'capturing';
}

/* ------------------------------------------------------------ words */

const FIELD_LABELS: Readonly<Record<string, string>> = {
	'payment-card-number': 'Card number',
	'security-code': 'Security code',
	'expiration-date': 'Expiry date',
	'postal-code': 'Postal code',
	'bank-routing-number': 'Routing number',
	'bank-account-number': 'Account number',
};

export function fieldLabel(name: string): string {
	return FIELD_LABELS[name] ?? name.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

/** "the card number": a label used inside a sentence. */
export function fieldNoun(name: string): string {
	return 'the ' + fieldLabel(name).toLowerCase();
}

/** What the customer should key for a field, said by the agent. */
export function fieldHowTo(name: string, cardType: string | null): string {
	switch (name) {
	case 'payment-card-number':
		return 'the long number on the front of the card, then the hash key';
	case 'security-code':
		return cardType === 'amex'
			? 'the 4-digit code on the front of the card, then the hash key'
			: 'the 3-digit code on the back of the card, then the hash key';
	case 'expiration-date':
		return 'the expiry date as four digits, month then year (for example 0 8 2 7), then the hash key';
	case 'postal-code':
		return 'the billing postal code, then the hash key';
	case 'bank-routing-number':
		return 'the 9-digit routing number, then the hash key';
	case 'bank-account-number':
		return 'the bank account number, then the hash key';
	default:
		return fieldNoun(name) + ', then the hash key';
	}
}

const BRANDS: Readonly<Record<string, string>> = {
	visa: 'Visa',
	mastercard: 'Mastercard',
	amex: 'American Express',
	discover: 'Discover',
	jcb: 'JCB',
	'diners-club': 'Diners Club',
	maestro: 'Maestro',
	enroute: 'enRoute',
};

export function brandName(cardType: string | null): string | null {
	if (!cardType)
		return null;
	return BRANDS[cardType.toLowerCase()] ?? cardType;
}

/** The digits Twilio left visible at the end of a masked value. */
export function visibleTail(value: string | null): string | null {
	if (!value)
		return null;
	const m = /([0-9]+)$/.exec(value);
	return m && m[1] ? m[1] : null;
}

/**
 * A masked value as the agent reads it: mask characters become bullets,
 * a card number is grouped in fours, an MMYY expiry becomes MM/YY.
 * Nothing is added that the server did not send.
 */
export function displayValue(name: string, value: string | null): string {
	if (!value)
		return '';
	if (name === 'expiration-date' && /^[0-9]{4}$/.test(value))
		return value.slice(0, 2) + '/' + value.slice(2);
	const bulleted = value.replace(/[xX*]/g, '\u2022');
	if (name === 'payment-card-number' && !/[ -]/.test(bulleted))
		return bulleted.replace(/(.{4})(?=.)/g, '$1 ');
	return bulleted;
}

/** Spoken form for screen readers: "ending 1111" instead of bullets. */
export function spokenValue(name: string, value: string | null): string {
	if (!value)
		return '';
	if (name === 'expiration-date' && /^[0-9]{4}$/.test(value))
		return value.slice(0, 2) + '/' + value.slice(2);
	if (name === 'security-code')
		return value.length + ' digits, hidden';
	const tail = visibleTail(value);
	if (/[xX*]/.test(value))
		return tail ? 'ending ' + tail : 'hidden';
	return value;
}

/**
 * A field's state as the page shows it: the server's, or "not-captured"
 * once the session has ended without it (partial digits from before a
 * cancel or a hang-up were never captured: nothing waits for them).
 */
export type ShownState = FieldState | 'not-captured';

export function stateLabel(st: ShownState, current: boolean): string {
	switch (st) {
	case 'captured':
		return 'Captured';
	case 'invalid':
		return 'Not valid';
	case 'keying':
		return 'Customer keying';
	case 'not-captured':
		return 'Not captured';
	case 'waiting':
		return current ? 'Asking now' : 'Waiting';
	}
}

/** One field's row in the live view. */
export interface FieldRow {
	readonly state: ShownState;
	/** Twilio is asking for it now */
	readonly current: boolean;
	readonly label: string;
	/** what is shown (masked digits, brand), "" for nothing */
	readonly shown: string;
	/** what a screen reader says after the field's name */
	readonly spoken: string;
	/**
	 * "Ask again" is offered: where asking again changes something (a
	 * captured value replaced, keying started over, a paused capture
	 * resumed); not on the field being asked for with nothing keyed (it is
	 * being asked for), not on fields not reached yet, not once it ended
	 */
	readonly askAgain: boolean;
}

export function fieldRow(v: PaymentView, name: string): FieldRow {
	const f = v.fields[name] ?? { state: 'waiting' as const, value: null };
	const final = isFinal(v);
	const current = !final && v.capture === name;
	const state: ShownState = final && f.state !== 'captured' ? 'not-captured' : f.state;
	/* Digits that were not captured (refused, or cut short by the end of
	 * the session) say nothing useful: not shown. */
	const keep = state !== 'invalid' && state !== 'not-captured';
	let shown = keep ? displayValue(name, f.value) : '';
	let spoken = keep ? spokenValue(name, f.value) : '';
	const brand = name === 'payment-card-number' && keep ? brandName(v.cardType) : null;
	if (brand) {
		shown = brand + (shown ? ' ' + shown : '');
		spoken = brand + (spoken ? ', ' + spoken : '');
	}
	if (state === 'not-captured')
		spoken = 'not captured';
	const askAgain = canRecapture(v) && (state === 'captured' || state === 'keying' ||
		(current && v.stalled !== null && v.stalled !== 'unknown-required-field'));
	return { state, current, label: stateLabel(state, current), shown, spoken, askAgain };
}

/**
 * Twilio's ErrorType (twilio-contract.md 4.1, from the <Pay> docs) as an
 * instruction the agent can read out.  `field` is the field being
 * captured when the error arrived.
 */
export function errorInstruction(errorType: string, field: string | null, cardType: string | null): string {
	const f = field ?? 'payment-card-number';
	switch (errorType) {
	case 'invalid-card-number':
		return 'The card number was not valid. Ask the customer to key the card number again: ' +
			fieldHowTo('payment-card-number', cardType) + '.';
	case 'invalid-card-type':
		return 'That type of card is not accepted. Ask the customer for another card and to key its number.';
	case 'invalid-date':
		return 'The expiry date was not valid or is in the past. Ask the customer to key ' +
			fieldHowTo('expiration-date', cardType) + '.';
	case 'invalid-security-code':
		return 'The security code was not valid. Ask the customer to key ' + fieldHowTo('security-code', cardType) + '.';
	case 'invalid-postal-code':
		return 'The postal code was not valid. Ask the customer to key ' + fieldHowTo('postal-code', cardType) + '.';
	case 'invalid-bank-routing-number':
		return 'The routing number was not valid. Ask the customer to key ' +
			fieldHowTo('bank-routing-number', cardType) + '.';
	case 'invalid-bank-account-number':
		return 'The account number was not valid. Ask the customer to key ' +
			fieldHowTo('bank-account-number', cardType) + '.';
	case 'invalid-bank-account-type':
		return 'That type of bank account is not accepted. Ask the customer for a checking or savings account.';
	case 'invalid-card-number-security-code-capture-sequence':
		return 'The security code came before the card number. Ask again for the card number first, then the security code.';
	case 'input-timeout':
		return 'Nothing was keyed in time. Ask the customer to key ' + fieldHowTo(f, cardType) + '.';
	case 'input-matching-failed':
		return 'The two entries of ' + fieldNoun(f) + ' did not match. Ask the customer to key it again.';
	case 'session-in-progress':
		return 'Another payment is already running on this call. Finish or cancel it first.';
	case 'internal-error':
		return 'The payment service had an internal error. Press Ask again for ' + fieldNoun(f) +
			'; if it happens again, cancel and start a new payment.';
	default:
		return 'Twilio reported "' + errorType + '" for ' + fieldNoun(f) + '. Press Ask again for it.';
	}
}

/** Why auto-progression stopped and what the agent does about it. */
export function stallInstruction(stalled: string, field: string | null): string {
	const f = field ? fieldNoun(field) : 'the field';
	switch (stalled) {
	case 'retries-exhausted':
		return 'The customer could not key a valid ' + (field ? fieldLabel(field).toLowerCase() : 'value') +
			' after several tries. Press Ask again for ' + f + ' when they are ready, or cancel the payment.';
	case 'capture-request-failed':
		return 'The payment service did not accept the request for ' + f + '. Press Ask again to try again.';
	case 'unknown-required-field':
		return 'The payment service asked for a detail this console does not know. Cancel and start a new payment.';
	default:
		return 'Capture is paused (' + stalled + '). Press Ask again for ' + f + ', or cancel the payment.';
	}
}

/** The Submit button's words: a 0 amount saves the details, it charges nothing. */
export function submitLabel(v: PaymentView): string {
	return isTokenize(v) ? 'Save details' : 'Submit payment';
}

function readyLine(v: PaymentView): string {
	return 'All details captured. Check with the customer, then press ' + (isTokenize(v) ? 'Save details.' : 'Submit.');
}

/**
 * The status line while auto-progression waits for the agent: nobody is
 * asking the customer anything then, so the line must not say "ask".
 */
function stallLine(stalled: string, field: string): string {
	switch (stalled) {
	case 'retries-exhausted':
		return 'Paused after several invalid entries of ' + fieldNoun(field) + '. Press Ask again when the customer is ready.';
	case 'capture-request-failed':
		return 'Paused: the request for ' + fieldNoun(field) + ' did not go through. Press Ask again to try again.';
	case 'unknown-required-field':
		return 'Paused: the payment service asked for a detail this console does not know.';
	default:
		return 'Paused (' + stalled + ').';
	}
}

/** One line saying where the session is, for the status banner. */
export function statusLine(v: PaymentView): string {
	switch (v.status) {
	case 'ready':
		return readyLine(v);
	case 'submitting':
		return 'Submitting to the payment processor\u2026';
	case 'completed':
	case 'failed':
	case 'cancelled':
		return outcome(v).title;
	case 'capturing':
		break;
	}
	if (v.required.length === 0 && !v.partial)
		return readyLine(v);
	if (!v.capture)
		return 'Starting the payment\u2026';
	if (v.stalled)
		return stallLine(v.stalled, v.capture);
	const st = v.fields[v.capture]?.state ?? 'waiting';
	if (st === 'invalid')
		return 'Waiting for the customer to key ' + fieldNoun(v.capture) + ' again.';
	if (st === 'keying')
		return 'The customer is keying ' + fieldNoun(v.capture) + '\u2026';
	return 'Ask the customer to key ' + fieldHowTo(v.capture, v.cardType) + '.';
}

export interface Outcome {
	readonly kind: 'success' | 'failure' | 'cancelled';
	readonly title: string;
	/** what happened and what to do next, for the agent */
	readonly detail: string;
	/** facts shown as a list: label, value */
	readonly facts: ReadonlyArray<readonly [string, string]>;
	/** the short reference for the customer, shown large with a copy button */
	readonly reference: string | null;
}

/** A reference read one symbol at a time: "K7QM-4XTR" -> "K 7 Q M, 4 X T R". */
export function spellReference(r: string): string {
	return r.split('-').map((g) => g.split('').join(' ')).join(', ');
}

function isTokenize(v: PaymentView): boolean {
	return !v.chargeAmount || /^0+(\.0+)?$/.test(v.chargeAmount);
}

/** The final outcome of a session (only meaningful once isFinal). */
export function outcome(v: PaymentView): Outcome {
	const facts: Array<[string, string]> = [];
	const brand = brandName(v.cardType);
	if (v.method === 'ach-debit') {
		const tail = visibleTail(v.fields['bank-account-number']?.value ?? null);
		if (tail)
			facts.push(['Account', 'ending ' + tail]);
	} else {
		const tail = visibleTail(v.fields['payment-card-number']?.value ?? null);
		if (brand)
			facts.push(['Card', brand + (tail ? ' ending ' + tail : '')]);
		else if (tail)
			facts.push(['Card', 'ending ' + tail]);
	}
	if (!isTokenize(v) && v.chargeAmount)
		facts.push(['Amount', formatMoney(v.chargeAmount, v.currency)]);

	if (v.status === 'cancelled' && (!v.result || v.result === 'cancelled')) {
		return { kind: 'cancelled', title: 'Payment cancelled',
			detail: 'Nothing was charged. Start a new payment if the customer wants to try again.', facts, reference: null };
	}
	if (v.result === 'success' || (v.status === 'completed' && !v.result)) {
		/* The processor's own id stays listed for the agent's records; the
		 * customer gets the short reference (when the server could give
		 * one: otherwise that id is what there is). */
		if (v.confirmationCode)
			facts.unshift([v.reference ? 'Processor\'s id' : 'Confirmation', v.confirmationCode]);
		if (v.token)
			facts.unshift(['Token', v.token]);
		const tell = v.reference ? ' Read the reference to the customer.' : '';
		if (isTokenize(v)) {
			return { kind: 'success', title: v.method === 'ach-debit' ? 'Bank account saved' : 'Card saved',
				detail: 'Nothing was charged. The details are saved ' +
					(v.tokenType === 'one-time' ? 'for one payment.' : 'for future payments.') + tell, facts,
				reference: v.reference };
		}
		return { kind: 'success', title: 'Payment successful',
			detail: v.reference ? 'Read the reference to the customer.' : 'Read the confirmation code to the customer.',
			facts, reference: v.reference };
	}
	const why = v.paymentError ? ' (' + v.paymentError.trim().replace(/[.\s]+$/, '') + ')' : '';
	switch (v.result) {
	case 'payment-connector-error':
		if (v.payErrorCode)
			facts.push(['Error code', v.payErrorCode]);
		return { kind: 'failure', title: 'Payment declined',
			detail: 'The payment processor declined the payment' + why +
				'. Nothing was charged. Ask the customer for another card or payment method, then start a new payment.',
			facts, reference: null };
	case 'too-many-failed-attempts':
		return { kind: 'failure', title: 'Too many failed attempts',
			detail: 'The customer keyed invalid details too many times. Nothing was charged. Start a new payment if they want to try again.',
			facts, reference: null };
	case 'caller-hung-up':
		return { kind: 'failure', title: 'The customer hung up',
			detail: 'The call ended before the payment was taken. Nothing was charged.', facts, reference: null };
	case 'caller-interrupted-with-star':
		return { kind: 'failure', title: 'The customer stopped the payment',
			detail: 'The customer pressed star to leave the payment. Nothing was charged. Start a new payment if they want to try again.',
			facts, reference: null };
	case 'validation-error':
		return { kind: 'failure', title: 'Payment details rejected',
			detail: 'The payment service rejected the details' + why + '. Nothing was charged. Start a new payment.', facts, reference: null };
	case 'internal-error':
		return { kind: 'failure', title: 'Payment service error',
			detail: 'The payment service had an internal error' + why +
				'. Nothing was charged as far as the service knows. Start a new payment, or tell your supervisor if it happens again.',
			facts, reference: null };
	default:
		if (v.status === 'cancelled')
			return { kind: 'cancelled', title: 'Payment cancelled', detail: 'Nothing was charged.' + why, facts, reference: null };
		return { kind: 'failure', title: 'Payment failed',
			detail: 'The payment did not go through' + (v.result ? ' (' + v.result + ')' : '') + why +
				'. Nothing was charged. Start a new payment.',
			facts, reference: null };
	}
}

/**
 * What changed between two states, as one sentence for screen readers
 * (an aria-live region).  Null when nothing worth saying changed, so a
 * stream of partial-digit updates does not talk over the agent.
 */
export function announcement(prev: PaymentView | null, next: PaymentView): string | null {
	if (isFinal(next)) {
		if (prev && isFinal(prev))
			return null;
		const o = outcome(next);
		return o.title + '. ' + o.detail + (o.reference ? ' The reference is ' + spellReference(o.reference) + '.' : '');
	}
	const parts: string[] = [];
	if (prev) {
		for (const name of next.order) {
			const was = prev.fields[name]?.state;
			const now = next.fields[name];
			if (now && now.state === 'captured' && was !== 'captured') {
				let s = fieldLabel(name) + ' captured';
				if (name === 'payment-card-number' && brandName(next.cardType))
					s += ', ' + brandName(next.cardType);
				const spoken = spokenValue(name, now.value);
				if (spoken && name !== 'security-code')
					s += ', ' + spoken;
				parts.push(s + '.');
			}
		}
	}
	/* The server keeps an ErrorType until new digits: said once per error.
	 * When it also stops asking (stalled), only what to do now is said:
	 * "ask the customer again" would be wrong. */
	const newStall = next.stalled !== null && next.stalled !== prev?.stalled;
	if (next.errorType && !newStall && !next.stalled &&
		(next.errorType !== prev?.errorType || next.attempt !== prev?.attempt))
		parts.push(errorInstruction(next.errorType, next.errorField ?? next.capture, next.cardType));
	if (newStall && next.stalled)
		parts.push(stallInstruction(next.stalled, next.capture));
	const cap = next.capture;
	const was = cap && prev && prev.capture === cap ? prev.fields[cap]?.state : undefined;
	if (canSubmit(next) && !(prev && canSubmit(prev)))
		parts.push(isTokenize(next)
			? 'All details captured. Press Save details to save the ' + (next.method === 'ach-debit' ? 'bank account.' : 'card.')
			: 'All details captured. Press Submit to take the payment.');
	else if (next.status === 'submitting' && prev?.status !== 'submitting')
		parts.push('Submitting to the payment processor.');
	else if (next.capture && next.capture !== prev?.capture && !next.errorType)
		parts.push('Now asking for ' + fieldNoun(next.capture) + '.');
	else if (cap && was && was !== 'waiting' && next.fields[cap]?.state === 'waiting' && !next.errorType)
		parts.push('Asking for ' + fieldNoun(cap) + ' again.'); /* the agent asked again */
	return parts.length ? parts.join(' ') : null;
}

/* ------------------------------------------------------------ money and form input */

/** "9.99" "USD" -> "$9.99" (locale formatting; plain text if unknown). */
export function formatMoney(amount: string, currency: string | null, locale = 'en-US'): string {
	const n = Number(amount);
	if (!currency || !Number.isFinite(n))
		return amount + (currency ? ' ' + currency : '');
	try {
		return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(n);
	} catch {
		return amount + ' ' + currency;
	}
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** The largest amount accepted, in major units (the server's rule: below 1,000,000). */
const AMOUNT_LIMIT_DIGITS = 6;

/** An amount the agent typed, understood. */
export interface Amount {
	/** what is sent to the server: a plain decimal, "12.34", "1000.00", "0" */
	readonly value: string;
	/** how the customer will hear it: "EUR 12.34" (null for 0: nothing is charged) */
	readonly spoken: string | null;
	readonly zero: boolean;
}

/** How the agent's locale writes numbers: its decimal and grouping separators. */
export interface NumberStyle {
	readonly locale: string;
	readonly decimal: string;
	readonly group: string;
	/** 1234.56 written that way, "1,234.56" or "1.234,56" */
	readonly example: string;
}

function latnFormat(locale: string, opts: Intl.NumberFormatOptions): Intl.NumberFormat {
	/* Latin digits whatever the locale's own (the keypad and the server
	 * speak 0-9); only the separators are the locale's. */
	try {
		return new Intl.NumberFormat(locale, { ...opts, numberingSystem: 'latn' });
	} catch {
		return new Intl.NumberFormat('en-US', opts);
	}
}

/** The separators of `locale` (navigator.language), from Intl. */
export function numberStyle(locale: string): NumberStyle {
	const f = latnFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2, useGrouping: true });
	const parts = f.formatToParts(1234567.5);
	const decimal = parts.find((p) => p.type === 'decimal')?.value ?? '.';
	const group = parts.find((p) => p.type === 'group')?.value ?? (decimal === ',' ? '.' : ',');
	return { locale: f.resolvedOptions().locale, decimal, group, example: f.format(1234.56) };
}

const SPACES = /[ \u00a0\u2009\u202f]/g;
const APOSTROPHES = /['\u2019]/g;

function sepName(c: string): string {
	switch (c) {
	case '.':
		return 'a point';
	case ',':
		return 'a comma';
	case '\'':
	case '\u2019':
		return 'an apostrophe';
	default:
		return /^[ \u00a0\u2009\u202f]$/.test(c) ? 'a space' : '\u201c' + c + '\u201d';
	}
}

/**
 * Whole units grouped where the locale groups them ("1,234", "12,34,567"
 * in en-IN), with `style`'s grouping separator.
 */
function grouped(style: NumberStyle, digits: string, always: boolean): string | null {
	const n = Number(digits);
	if (!Number.isSafeInteger(n))
		return null;
	try {
		/* The locale's own rule, and grouping always (Intl.NumberFormat v3:
		 * useGrouping true), for locales that leave 1234 ungrouped (es). */
		const opts: Intl.NumberFormatOptions = always ? { maximumFractionDigits: 0, useGrouping: true }
			: { maximumFractionDigits: 0 };
		return latnFormat(style.locale, opts).format(n).replace(/[^0-9]/g, style.group);
	} catch {
		return null;
	}
}

/** One reading of `s` with the given separators, or why there is none. */
function readAmount(s: string, style: NumberStyle, places: number):
	{ whole: string; frac: string } | { why: 'chars' | 'decimals' | 'grouping' | 'places'; bad?: string } {
	const { decimal: d, group: g } = style;
	let t = s;
	if (/^[ \u00a0\u2009\u202f]$/.test(g))
		t = t.replace(SPACES, g);
	if (/^['\u2019]$/.test(g))
		t = t.replace(APOSTROPHES, g);
	const bad = [...new Set([...t].filter((c) => !/[0-9]/.test(c) && c !== d && c !== g))];
	if (bad.length)
		return { why: 'chars', bad: bad.join(' ') };
	const pieces = t.split(d);
	if (pieces.length > 2)
		return { why: 'decimals' };
	const intPart = pieces[0] ?? '';
	const frac = pieces[1] ?? '';
	if (frac.includes(g))
		return { why: 'grouping' };
	let whole = intPart;
	if (intPart.includes(g)) {
		whole = intPart.split(g).join('');
		/* Groups only where the locale puts them ("1,234", not "12,34"). */
		if (whole === '' || (grouped(style, whole, false) !== intPart && grouped(style, whole, true) !== intPart))
			return { why: 'grouping' };
	}
	if (whole === '' && frac === '')
		return { why: 'chars', bad: '' };
	if (frac.length > places)
		return { why: 'places' };
	return { whole: whole.replace(/^0+(?=[0-9])/, '') || '0', frac };
}

function canonical(whole: string, frac: string, places: number): string {
	return places === 0 ? whole : whole + '.' + frac.padEnd(places, '0');
}

/**
 * An amount as the agent typed it, read by the agent's own number format
 * (`style`: decimal and grouping separators of navigator.language) and the
 * currency's decimals (`places`, GET /aap/config), never guessed: "12,34"
 * is 12.34 for a German agent and refused for an American one, whose
 * comma separates thousands; the refusal says how it was read and what to
 * type for the amount it could have meant.  Grouping is accepted only
 * where the locale puts it ("1,234.50" in en-US, "1.234,50" in de-DE).
 * The value sent is a plain decimal with the currency's places, which the
 * server checks again (startCapture refuses anything else).
 */
export function parseAmount(raw: string, places: number, currency: string, style: NumberStyle): Checked<Amount> {
	const p = Math.max(0, Math.min(2, Math.floor(places)));
	const s = raw.trim();
	if (s === '')
		return { ok: false, error: 'Enter an amount (0 to save the details without charging).' };
	const r = readAmount(s, style, p);
	const said = '\u201c' + s + '\u201d';
	const here = 'in your number format (' + style.example + ')';
	if ('why' in r) {
		/* The text read with the other common convention (a point for the
		 * decimals if this locale uses a comma, else a comma): what the
		 * agent may have meant, offered in their own format. */
		const other: NumberStyle = style.decimal === ','
			? { ...style, decimal: '.', group: ',' }
			: { ...style, decimal: ',', group: '.' };
		const alt = readAmount(s, other, p);
		const meant = alt && !('why' in alt) && alt.whole.length <= AMOUNT_LIMIT_DIGITS
			? ' If you mean ' + currency + ' ' + canonical(alt.whole, alt.frac, p) + ', type ' +
				(alt.frac ? alt.whole + style.decimal + alt.frac : alt.whole) + '.'
			: '';
		switch (r.why) {
		case 'chars':
			return { ok: false, error: said + ' is not an amount: type digits only, with ' + sepName(style.decimal) +
				' before the decimals (' + style.example + ').' + meant };
		case 'decimals':
			return { ok: false, error: said + ' is not clear: it has more than one ' +
				sepName(style.decimal).replace(/^an? /, '') + ', which ' + here + ' marks the decimals.' + meant };
		case 'grouping':
			return { ok: false, error: said + ' is not clear: ' + here + ' ' + sepName(style.group) +
				' separates thousands and ' + sepName(style.decimal) + ' marks the decimals, so it cannot be read.' + meant };
		case 'places':
			return { ok: false, error: p === 0
				? said + ' has decimals, and ' + currency + ' has none: type a whole amount, such as 1500.'
				: said + ' has more than ' + p + ' decimal place' + (p === 1 ? '' : 's') + ', the most ' + currency +
					' has. Type it with ' + p + ', such as ' + (p === 1 ? '9' + style.decimal + '5' : '9' + style.decimal + '99') +
					'.' + meant };
		}
	}
	if (r.whole.length > AMOUNT_LIMIT_DIGITS)
		return { ok: false, error: said + ' is ' + currency + ' ' + canonical(r.whole, r.frac, p) +
			': the amount must be less than 1,000,000.' };
	const zero = /^0*$/.test(r.whole + r.frac);
	const value = zero ? '0' : canonical(r.whole, r.frac, p);
	return { ok: true, value: { value, spoken: zero ? null : currency + ' ' + value, zero } };
}

/**
 * An amount written by a machine (a widget URL's ?amount=): a plain
 * decimal, at most two places, no grouping.  Returned as given.
 */
export function checkPlainAmount(raw: string): string | null {
	return /^[0-9]{1,6}(\.[0-9]{1,2})?$/.test(raw) ? raw : null;
}

/** A plain decimal ("12.50") as the agent would type it in their format ("12,50"). */
export function amountInput(plain: string, style: NumberStyle): string {
	return plain.replace('.', style.decimal);
}

/**
 * The bank account holder's name for ACH: Twilio requires it as the
 * AVSName parameter (error 64014, "ECP/ACH requires AVSName").  Not card
 * data; the agent asks the customer for it.
 */
export function checkHolderName(raw: string): Checked<string> {
	const s = raw.trim().replace(/\s+/g, ' ');
	if (s.length < 2)
		return { ok: false, error: 'Enter the account holder\'s name, as the bank knows it.' };
	if (s.length > 100 || /[\u0000-\u001f\u007f]/.test(s))
		return { ok: false, error: 'The account holder\'s name must be at most 100 ordinary characters.' };
	return { ok: true, value: s };
}

export function checkCurrency(raw: string): Checked<string> {
	const s = raw.trim().toUpperCase();
	return /^[A-Z]{3}$/.test(s) ? { ok: true, value: s } : { ok: false, error: 'Choose a currency.' };
}

export type AttachKind = 'callSid' | 'uui' | 'conversationId';

export interface AttachTarget {
	readonly kind: AttachKind;
	readonly value: string;
}

/**
 * The call to attach to, as typed: a Twilio CallSid (CA + 32 hex) is sent
 * as callSid; anything else as a UUI / Genesys conversation id, which the
 * server resolves through uuiMap.
 */
export function checkAttach(kind: AttachKind, raw: string): Checked<AttachTarget> {
	const s = raw.trim();
	if (s === '')
		return { ok: false, error: kind === 'callSid' ? 'Enter the Call SID.' : 'Enter the conversation id or UUI.' };
	if (kind === 'callSid') {
		if (!/^CA[0-9a-fA-F]{32}$/.test(s))
			return { ok: false, error: 'A Call SID is CA followed by 32 letters and digits (0-9, a-f).' };
		return { ok: true, value: { kind, value: s } };
	}
	/* The server's rule for a uuiMap key (startCapture uui_ok). */
	if (s.length > 128 || !/^[A-Za-z0-9._:@+-]+$/.test(s))
		return { ok: false, error: 'A conversation id or UUI has only letters, digits and . _ : @ + - (at most 128).' };
	return { ok: true, value: { kind, value: s } };
}

export interface WidgetParams {
	readonly target: AttachTarget | null;
	readonly amount: string | null;
	readonly currency: string | null;
	readonly method: PaymentMethod | null;
}

/**
 * Widget mode (a Genesys Cloud interaction widget, or any link): the call
 * comes from the URL, ?callSid=, ?uui= or ?conversationId=.  Optional
 * ?amount=, ?currency= and ?method= prefill the form; they never start a
 * payment by themselves.  Values that do not check out are ignored.
 */
export function parseWidgetParams(search: string): WidgetParams {
	const q = new URLSearchParams(search);
	let target: AttachTarget | null = null;
	for (const kind of ['callSid', 'conversationId', 'uui'] as const) {
		const v = q.get(kind);
		if (v === null || v === '')
			continue;
		const c = checkAttach(kind, v);
		if (c.ok) {
			target = c.value;
			break;
		}
	}
	const a = q.get('amount');
	const amount = a !== null ? checkPlainAmount(a) : null;
	const c = q.get('currency');
	const currency = c !== null ? checkCurrency(c) : null;
	const m = q.get('method');
	return {
		target,
		amount,
		currency: currency && currency.ok ? currency.value : null,
		method: m === 'ach-debit' || m === 'credit-card' ? m : null,
	};
}

export function attachKey(t: AttachTarget): string {
	return t.kind + ':' + t.value;
}

/**
 * What the page is for, in words the agent knows: a Genesys conversation,
 * or a call.  A UUI that is a CallSid is the inbound call's own SID
 * (callToSIP sends it as the User-to-User id); any other UUI is the
 * call's reference as the contact centre passed it on.
 */
export function targetText(t: AttachTarget): string {
	switch (t.kind) {
	case 'conversationId':
		return 'For conversation ' + t.value;
	case 'callSid':
		return 'For call ' + shortSid(t.value);
	case 'uui':
		return /^CA[0-9a-fA-F]{32}$/.test(t.value) ? 'For call ' + shortSid(t.value) : 'For call reference ' + t.value;
	}
}

/** "CA1234…cdef": enough of a SID to recognise it on screen. */
export function shortSid(sid: string): string {
	return sid.length > 14 ? sid.slice(0, 6) + '\u2026' + sid.slice(-4) : sid;
}

/* ------------------------------------------------------------ server errors */

const AGENT_WORDS: Readonly<Record<string, string>> = {
	uui_not_found: 'No call was found for that conversation id or UUI. Check it; a call that was just answered can take a moment to appear.',
	call_not_found: 'There is no call with that Call SID. Check it.',
	call_not_in_progress: 'That call has ended, so no payment can be taken on it.',
	currency_not_allowed: 'Payments cannot be taken in that currency here. Choose another.',
	session_other_agent: 'A payment is already running on this call for another agent. Only that agent can watch or finish it.',
};

/**
 * An /aap/* error as the agent should read it.  The server's JSON
 * {error, code} message is written for people and shown as is; the
 * status adds what to do.
 */
export function apiErrorText(status: number, serverMessage: string | null, action: string, code: string | null = null): string {
	/* The server's words for these are written for whoever runs it (they
	 * name Sync maps and call states); the agent gets what to do. */
	const forAgent = code ? AGENT_WORDS[code] : undefined;
	if (forAgent)
		return forAgent;
	const msg = serverMessage ? serverMessage.replace(/\.?$/, '.') : '';
	switch (status) {
	case 0:
		return 'Cannot reach the payment server. Check your connection and try again.';
	case 400:
		return msg || 'The server did not accept the request. Check the details and try again.';
	case 401:
		return 'Your sign-in has expired. Sign in again.';
	case 403:
		return msg || 'You are not allowed to ' + action + '.';
	case 404:
		return msg || 'The server could not find that (' + action + '). Check the details or reload the page.';
	case 409:
		return msg || 'That is not possible in the current state of the call or payment.';
	case 429:
		return 'The server is busy. Wait a moment and try again.';
	default:
		if (status >= 500)
			return 'The payment server had a problem' + (msg ? ': ' + msg : '.') + ' Try again in a moment.';
		return msg || 'Could not ' + action + ' (HTTP ' + status + ').';
	}
}
