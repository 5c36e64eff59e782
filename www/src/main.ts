/*
 * main.ts - the agent console page: sign in, attach to a call and start a
 * payment, then a live view of the capture with Ask again, Submit,
 * Cancel and the outcome.
 *
 * The server drives the capture (auto-progression lives in
 * paySyncUpdate, DESIGN.md "Why it is built this way"); this page only
 * shows the state it publishes and sends the agent's three decisions.
 * Everything the agent reads is built with textContent from model.ts
 * (never innerHTML), so nothing from the network is ever markup.
 */
import { Api, ApiError, DEFAULT_CONFIG, currencyRule, type ServerConfig, type StartRequest } from './api.js';
import { LiveFeed, POLL_MS, type LinkState } from './live.js';
import {
	amountInput, announcement, apiErrorText, attachKey, canCancel, canSubmit, checkAttach, checkCurrency,
	checkHolderName, errorInstruction, fieldLabel, fieldNoun, fieldRow, formatMoney, isFinal, numberStyle, outcome,
	parseAmount, parseWidgetParams, shortSid, spellReference, stallInstruction, statusLine, submitLabel, supersedes,
	targetText,
	type AttachKind, type AttachTarget, type PaymentMethod, type PaymentView, type WidgetParams,
} from './model.js';
import { loadAuth, loadSession, saveAuth, saveSession, storageWorks, type StoredSession } from './store.js';

/* ------------------------------------------------------------ DOM */

function el<T extends HTMLElement>(id: string, type: { new (): T }): T {
	const e = document.getElementById(id);
	if (!(e instanceof type))
		throw new Error('console: #' + id + ' missing from index.html');
	return e;
}

const ui = {
	boot: el('boot', HTMLElement),
	link: el('link', HTMLElement),
	whoName: el('who-name', HTMLElement),
	signout: el('signout', HTMLButtonElement),
	announcer: el('announcer', HTMLElement),
	views: {
		login: el('view-login', HTMLElement),
		attach: el('view-attach', HTMLElement),
		session: el('view-session', HTMLElement),
	},
	login: {
		form: el('login-form', HTMLFormElement),
		title: el('login-title', HTMLElement),
		user: el('login-user', HTMLInputElement),
		pass: el('login-pass', HTMLInputElement),
		error: el('login-error', HTMLElement),
		submit: el('login-submit', HTMLButtonElement),
	},
	attach: {
		form: el('attach-form', HTMLFormElement),
		title: el('attach-title', HTMLElement),
		call: el('attach-call', HTMLFieldSetElement),
		idLabel: el('attach-id-label', HTMLElement),
		id: el('attach-id', HTMLInputElement),
		idHint: el('attach-id-hint', HTMLElement),
		fixed: el('attach-fixed', HTMLElement),
		amount: el('amount', HTMLInputElement),
		currency: el('currency', HTMLSelectElement),
		method: el('method', HTMLFieldSetElement),
		methodAch: el('method-ach', HTMLElement),
		fieldsPreview: el('fields-preview', HTMLElement),
		amountHint: el('amount-hint', HTMLElement),
		amountPreview: el('amount-preview', HTMLElement),
		tokenType: el('token-type', HTMLFieldSetElement),
		achDetails: el('ach-details', HTMLFieldSetElement),
		holderName: el('holder-name', HTMLInputElement),
		accountType: el('account-type', HTMLSelectElement),
		description: el('description', HTMLInputElement),
		error: el('attach-error', HTMLElement),
		start: el('start', HTMLButtonElement),
	},
	session: {
		title: el('session-title', HTMLElement),
		meta: el('session-meta', HTMLElement),
		notice: el('session-notice', HTMLElement),
		status: el('session-status', HTMLElement),
		alert: el('session-alert', HTMLElement),
		fields: el('fields', HTMLOListElement),
		actions: el('actions', HTMLElement),
		submit: el('submit', HTMLButtonElement),
		submitHint: el('submit-hint', HTMLElement),
		cancel: el('cancel', HTMLButtonElement),
		confirm: el('cancel-confirm', HTMLElement),
		cancelYes: el('cancel-yes', HTMLButtonElement),
		cancelNo: el('cancel-no', HTMLButtonElement),
		error: el('action-error', HTMLElement),
		outcome: el('outcome', HTMLElement),
		outcomeTitle: el('outcome-title', HTMLElement),
		outcomeDetail: el('outcome-detail', HTMLElement),
		outcomeFacts: el('outcome-facts', HTMLElement),
		reference: el('reference', HTMLElement),
		referenceValue: el('reference-value', HTMLElement),
		referenceSpelled: el('reference-spelled', HTMLElement),
		referenceCopy: el('reference-copy', HTMLButtonElement),
		newPayment: el('new-payment', HTMLButtonElement),
	},
};

/* ------------------------------------------------------------ state */

type ViewName = keyof typeof ui.views;

const app = {
	widget: parseWidgetParams(window.location.search) as WidgetParams,
	/** how the agent writes numbers (decimal and grouping separators) */
	style: numberStyle(navigator.language),
	config: DEFAULT_CONFIG as ServerConfig,
	agent: null as string | null,
	token: null as string | null,
	ref: null as StoredSession | null,
	view: null as PaymentView | null,
	feed: null as LiveFeed | null,
	/** an agent action waiting for the server: disables the buttons */
	pending: null as string | null,
	shown: null as ViewName | null,
	/** set when a view change should not move focus (first paint) */
	quietFocus: true,
};

const api = new Api(() => app.token, () => signedOut('Your sign-in has expired. Sign in again; a running payment carries on.'));

function show(name: ViewName): void {
	for (const [k, v] of Object.entries(ui.views))
		v.hidden = k !== name;
	ui.boot.hidden = true;
	const changed = app.shown !== name;
	app.shown = name;
	if (changed && !app.quietFocus) {
		const h = ui.views[name].querySelector<HTMLElement>('h1');
		h?.focus();
	}
	app.quietFocus = false;
}

function setText(e: HTMLElement, text: string | null): void {
	e.textContent = text ?? '';
	e.hidden = !text;
}

/*
 * Polite screen-reader announcements.  States can follow each other
 * within milliseconds (a field captured, then the next one asked for);
 * what arrives close together is said as one text, so a later update
 * never cuts off an earlier one before it was read.
 */
const toSay: string[] = [];
let sayTimer: ReturnType<typeof setTimeout> | null = null;

function announce(text: string): void {
	toSay.push(text);
	if (sayTimer !== null)
		return;
	ui.announcer.textContent = '';
	sayTimer = setTimeout(() => {
		sayTimer = null;
		ui.announcer.textContent = toSay.splice(0).join(' ');
	}, 250);
}

function errorText(e: unknown, action: string): string {
	if (e instanceof ApiError)
		return apiErrorText(e.status, e.serverMessage, action, e.code);
	return 'Something went wrong in the console (' + String(e) + '). Reload the page.';
}

/* ------------------------------------------------------------ sign in */

function signedOut(message: string | null): void {
	app.token = null;
	app.agent = null;
	saveAuth(null);
	app.feed?.stop();
	app.feed = null;
	setLink(null);
	ui.whoName.hidden = true;
	ui.signout.hidden = true;
	setText(ui.login.error, message);
	show('login');
	if (message)
		ui.login.user.focus();
}

async function onLogin(ev: SubmitEvent): Promise<void> {
	ev.preventDefault();
	const user = ui.login.user.value.trim();
	const pass = ui.login.pass.value;
	if (!user || !pass) {
		setText(ui.login.error, 'Enter your agent name and password.');
		(user ? ui.login.pass : ui.login.user).focus();
		return;
	}
	ui.login.submit.disabled = true;
	setText(ui.login.error, null);
	try {
		const l = await api.login(user, pass);
		saveAuth(l);
		ui.login.pass.value = '';
		await signedIn(l.token, l.agent);
	} catch (e) {
		const text = e instanceof ApiError && e.status === 401
			? 'Wrong agent name or password.'
			: errorText(e, 'sign in');
		setText(ui.login.error, text);
		ui.login.pass.select();
	} finally {
		ui.login.submit.disabled = false;
	}
}

async function signedIn(token: string, agent: string): Promise<void> {
	app.token = token;
	app.agent = agent;
	ui.whoName.textContent = agent;
	ui.whoName.hidden = false;
	ui.signout.hidden = false;
	try {
		app.config = await api.config();
	} catch {
		return; /* 401: already back at the sign-in form */
	}
	fillAttachForm();
	const s = loadSession();
	const key = app.widget.target ? attachKey(app.widget.target) : null;
	if (s && (key === null || s.callKey === key)) {
		await resume(s);
		return;
	}
	if (s)
		saveSession(null); /* another interaction's payment: not this widget's */
	/* Widget mode: a payment may be running on this call already (this
	 * tab lost what it kept, or another tab started it): show it. */
	if (app.widget.target && await reattach(app.widget.target, null))
		return;
	show('attach');
}

/**
 * Looks for the payment running on the call (POST /aap/attach) and shows
 * it.  True when it is shown; otherwise the attach form says why when
 * that matters (another agent's payment, the server unreachable).
 * `notice`: what to tell the agent when one is found.
 */
async function reattach(target: AttachTarget, notice: string | null): Promise<boolean> {
	try {
		const { ref, view } = await api.attach(target);
		const s: StoredSession = { ...ref, callKey: attachKey(target) };
		saveSession(s);
		app.ref = s;
		app.view = null;
		showSession();
		if (notice) {
			setText(ui.session.notice, notice);
			announce(notice);
		}
		if (view)
			applyView(view);
		else
			renderSession();
		if (!app.view || !isFinal(app.view))
			startFeed();
		return true;
	} catch (e) {
		if (e instanceof ApiError && e.status === 401)
			return true; /* back at the sign-in form */
		show('attach');
		if (e instanceof ApiError && e.status === 403)
			setText(ui.attach.error, apiErrorText(403, null, 'watch it', 'session_other_agent'));
		else if (!(e instanceof ApiError && e.status === 404))
			setText(ui.attach.error, 'Could not check for a payment already running on this call: ' +
				errorText(e, 'check the call'));
		return false;
	}
}

/* ------------------------------------------------------------ attach and start */

function radioValue(name: string): string | null {
	const r = ui.attach.form.querySelector<HTMLInputElement>('input[name="' + name + '"]:checked');
	return r ? r.value : null;
}

function setRadio(name: string, value: string): void {
	const r = ui.attach.form.querySelector<HTMLInputElement>('input[name="' + name + '"][value="' + value + '"]');
	if (r)
		r.checked = true;
}

function fillAttachForm(): void {
	const c = app.config;
	const cur = ui.attach.currency;
	const want = app.widget.currency && c.currencies.includes(app.widget.currency)
		? app.widget.currency
		: (cur.value || c.defaultCurrency);
	cur.replaceChildren(...c.currencies.map((code) => {
		const o = document.createElement('option');
		o.value = code;
		o.textContent = code;
		return o;
	}));
	cur.value = c.currencies.includes(want) ? want : c.defaultCurrency;

	const achOk = c.paymentMethods.includes('ach-debit');
	const card = c.paymentMethods.includes('credit-card');
	ui.attach.methodAch.hidden = !achOk;
	ui.attach.method.hidden = !(achOk && card);
	if (!card)
		setRadio('method', 'ach-debit');
	else if (!achOk || radioValue('method') === null)
		setRadio('method', 'credit-card');
	if (app.widget.method && c.paymentMethods.includes(app.widget.method))
		setRadio('method', app.widget.method);
	if (app.widget.amount && !ui.attach.amount.value)
		ui.attach.amount.value = amountInput(app.widget.amount, app.style);

	const t = app.widget.target;
	ui.attach.call.hidden = t !== null;
	if (t) {
		setText(ui.attach.fixed, targetText(t));
	} else {
		ui.attach.fixed.hidden = true;
	}
	syncAttachForm();
}

/** Shows what applies to the choices made so far. */
function syncAttachForm(): void {
	const kind = radioValue('attach-kind') === 'callSid' ? 'callSid' : 'conversationId';
	const label = kind === 'callSid' ? 'Call SID' : 'Conversation id or UUI';
	ui.attach.idLabel.textContent = label;
	ui.attach.idHint.textContent = kind === 'callSid'
		? 'CA followed by 32 characters, from Twilio.'
		: 'From the interaction in Genesys Cloud.';
	const cur = ui.attach.currency.value;
	const a = parseAmount(ui.attach.amount.value, currencyRule(app.config, cur).places, cur, app.style);
	const tokenize = a.ok && a.value.zero;
	/* The amount as it will be charged, before anything starts. */
	const spoken = a.ok ? a.value.spoken : null;
	setText(ui.attach.amountPreview, spoken ? 'The customer will be charged ' + spoken + '.' : null);
	ui.attach.tokenType.hidden = !tokenize;
	const ach = radioValue('method') === 'ach-debit';
	ui.attach.achDetails.hidden = !ach;
	ui.attach.amountHint.textContent = '0 saves the ' + (ach ? 'bank account' : 'card') + ' without charging it.';
	/* What the customer will be asked for, in the server's order. */
	const order = app.config.captureOrder[ach ? 'ach-debit' : 'credit-card'];
	ui.attach.fieldsPreview.textContent = 'The customer will key: ' + listWords(order.map((f) => fieldLabel(f).toLowerCase())) + '.';
	ui.attach.start.textContent = tokenize
		? (ach ? 'Start saving the bank account' : 'Start saving the card')
		: spoken ? 'Start payment of ' + spoken : 'Start payment';
}

/** "a, b and c" */
function listWords(w: readonly string[]): string {
	if (w.length < 2)
		return w.join('');
	return w.slice(0, -1).join(', ') + ' and ' + (w[w.length - 1] ?? '');
}

function fieldError(input: HTMLElement, message: string): void {
	setText(ui.attach.error, message);
	input.setAttribute('aria-invalid', 'true');
	input.focus();
}

async function onStart(ev: SubmitEvent): Promise<void> {
	ev.preventDefault();
	for (const e of ui.attach.form.querySelectorAll('[aria-invalid]'))
		e.removeAttribute('aria-invalid');
	setText(ui.attach.error, null);

	let target = app.widget.target;
	if (!target) {
		const kind: AttachKind = radioValue('attach-kind') === 'callSid' ? 'callSid' : 'conversationId';
		const t = checkAttach(kind, ui.attach.id.value);
		if (!t.ok)
			return fieldError(ui.attach.id, t.error);
		target = t.value;
	}
	const currency = checkCurrency(ui.attach.currency.value);
	if (!currency.ok)
		return fieldError(ui.attach.currency, currency.error);
	const amount = parseAmount(ui.attach.amount.value, currencyRule(app.config, currency.value).places, currency.value,
		app.style);
	if (!amount.ok)
		return fieldError(ui.attach.amount, amount.error);
	const method: PaymentMethod = radioValue('method') === 'ach-debit' ? 'ach-debit' : 'credit-card';
	let holder: string | null = null;
	if (method === 'ach-debit') {
		const h = checkHolderName(ui.attach.holderName.value);
		if (!h.ok)
			return fieldError(ui.attach.holderName, h.error);
		holder = h.value;
	}
	const tokenize = amount.value.zero;
	const req: StartRequest = {
		target,
		chargeAmount: amount.value.value,
		currency: currency.value,
		paymentMethod: method,
		tokenType: tokenize ? (radioValue('token-type') === 'one-time' ? 'one-time' : 'reusable') : null,
		description: ui.attach.description.value.trim(),
		bankAccountType: holder ? ui.attach.accountType.value : null,
		parameters: holder ? { AVSName: holder } : null,
	};
	ui.attach.start.disabled = true;
	try {
		const { ref, view, warning } = await api.startCapture(req);
		const s: StoredSession = { ...ref, callKey: attachKey(target) };
		saveSession(s);
		app.ref = s;
		app.view = null;
		showSession();
		if (view)
			applyView(view);
		else
			renderSession();
		startFeed();
		if (warning)
			setText(ui.session.error, 'The payment started, but ' + warning.replace(/\.?$/, '.'));
	} catch (e) {
		if (e instanceof ApiError && e.status === 409 && e.code === 'payment_in_progress') {
			/* One payment per call (Twilio 64021): if it is this agent's,
			 * watch it instead of failing. */
			if (await reattach(target, 'A payment was already running on this call: this is it. ' +
				'Finish or cancel it before starting another.'))
				return;
			if (ui.attach.error.hidden)
				fieldError(app.widget.target ? ui.attach.amount : ui.attach.id, errorText(e, 'start the payment'));
			return;
		}
		if (!(e instanceof ApiError && e.status === 401))
			fieldError(app.widget.target ? ui.attach.amount : ui.attach.id, errorText(e, 'start the payment'));
	} finally {
		ui.attach.start.disabled = false;
	}
}

/* ------------------------------------------------------------ the running session */

async function resume(s: StoredSession): Promise<void> {
	app.ref = s;
	app.view = null;
	showSession();
	renderSession();
	try {
		applyView(await api.session(s));
	} catch (e) {
		if (e instanceof ApiError && e.status === 401)
			return;
		if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
			sessionGone('The previous payment can no longer be shown: ' + errorText(e, 'read the payment'));
			return;
		}
		/* unreachable for now: the feed keeps trying and resyncs */
	}
	if (!app.view || !isFinal(app.view))
		startFeed();
}

/** Stops following the payment and forgets it (also in sessionStorage). */
function forgetSession(): void {
	app.feed?.stop();
	app.feed = null;
	app.ref = null;
	app.view = null;
	saveSession(null);
	setLink(null);
}

function sessionGone(message: string): void {
	forgetSession();
	show('attach');
	setText(ui.attach.error, message);
}

function startFeed(): void {
	const ref = app.ref;
	if (!ref)
		return;
	app.feed?.stop();
	const feed = new LiveFeed({
		onView: applyView,
		ticketUrl: () => api.eventsTicket(ref),
		onLink: (st) => { if (app.feed === feed) setLink(st); },
		resync: async () => {
			try {
				const v = await api.session(ref);
				applyView(v);
				return { kind: 'ok', seq: v.seq };
			} catch (e) {
				if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 404)) {
					if (e.status !== 401)
						sessionGone('The payment can no longer be watched: ' + errorText(e, 'read the payment'));
					return { kind: 'gone' };
				}
				return { kind: 'unreachable' }; /* keep trying */
			}
		},
	});
	app.feed = feed;
	feed.start();
}

const LINK_TEXT: Record<LinkState, string> = {
	connecting: 'Connecting\u2026',
	live: 'Live',
	reconnecting: 'Connection lost \u2014 reconnecting\u2026',
	polling: `Live updates unavailable \u2014 checking every ${POLL_MS / 1000} s`,
	stopped: '',
};

let lastLink: LinkState | null = null;

function setLink(st: LinkState | null): void {
	if (st === null || st === 'stopped') {
		ui.link.hidden = true;
		ui.link.dataset['link'] = 'none';
		lastLink = null;
		return;
	}
	ui.link.hidden = false;
	ui.link.dataset['link'] = st;
	ui.link.textContent = LINK_TEXT[st];
	if (st === 'reconnecting' && lastLink !== 'reconnecting')
		announce('Connection to the payment server lost. Reconnecting.');
	else if (st === 'polling' && lastLink !== 'polling')
		announce(`Live updates are unavailable. The payment is checked every ${POLL_MS / 1000} seconds.`);
	else if (st === 'live' && (lastLink === 'reconnecting' || lastLink === 'polling'))
		announce(lastLink === 'polling' ? 'Live updates are back.' : 'Connection restored.');
	lastLink = st;
}

function showSession(): void {
	ui.session.confirm.hidden = true;
	setText(ui.session.error, null);
	setText(ui.session.notice, null);
	show('session');
}

function applyView(raw: PaymentView): void {
	if (!app.ref || raw.paymentSid !== app.ref.paymentSid || !supersedes(app.view, raw))
		return;
	const prev = app.view;
	const v = raw;
	app.view = v;
	renderSession();
	const say = announcement(prev, v);
	if (say)
		announce(say);
	if (isFinal(v)) {
		app.feed?.stop();
		app.feed = null;
		setLink(null);
		if (!prev || !isFinal(prev))
			ui.session.outcomeTitle.focus();
	}
}

function renderSession(): void {
	const v = app.view;
	const s = ui.session;
	const ref = app.ref;
	if (!ref)
		return;
	/* Title and meta. */
	let title = 'Payment';
	if (v) {
		const tokenize = !v.chargeAmount || Number(v.chargeAmount) === 0;
		const what = v.method === 'ach-debit' ? 'bank account' : 'card';
		title = tokenize ? 'Save ' + what : formatMoney(v.chargeAmount ?? '0', v.currency) + ' by ' + what;
	}
	s.title.textContent = title;
	const call = document.createElement('span');
	call.textContent = 'Call ' + shortSid(ref.callSid);
	const pay = document.createElement('span');
	pay.textContent = 'payment ' + shortSid(ref.paymentSid);
	s.meta.replaceChildren(call, ' \u00b7 ', pay);
	document.title = (v ? statusLine(v).replace(/[.\u2026]+$/, '') : 'Payment') + ' \u2014 GenesysPay';

	if (!v) {
		s.status.textContent = 'Loading the payment\u2026';
		s.status.dataset['kind'] = 'info';
		setText(s.alert, null);
		s.fields.replaceChildren();
		s.actions.hidden = true;
		s.submitHint.hidden = true;
		s.outcome.hidden = true;
		return;
	}
	/* Which state is on screen (tests wait for it; nothing reads it). */
	ui.views.session.dataset['seq'] = String(v.seq);
	const final = isFinal(v);
	s.status.textContent = statusLine(v);
	s.status.dataset['kind'] = final ? outcome(v).kind : canSubmit(v) ? 'ready' : v.errorType ? 'error' : 'info';
	s.status.hidden = final;

	/* Stalled: nobody asks the customer any more, so only what the agent
	 * does now (the error's own advice, "ask again", would be wrong). */
	let alertText: string | null = null;
	if (!final && v.stalled)
		alertText = stallInstruction(v.stalled, v.capture);
	else if (!final && v.errorType)
		alertText = errorInstruction(v.errorType, v.errorField ?? v.capture, v.cardType);
	setText(s.alert, alertText);

	renderFields(v);

	s.actions.hidden = final;
	s.submitHint.hidden = final || canSubmit(v);
	s.submit.disabled = app.pending !== null || !canSubmit(v);
	s.submit.textContent = app.pending === 'complete' || v.status === 'submitting'
		? 'Submitting\u2026'
		: submitLabel(v);
	s.cancel.disabled = app.pending !== null || !canCancel(v);
	if (final || !canCancel(v))
		s.confirm.hidden = true;

	s.outcome.hidden = !final;
	if (final) {
		const o = outcome(v);
		s.outcome.dataset['kind'] = o.kind;
		s.outcomeTitle.textContent = o.title;
		s.outcomeDetail.textContent = o.detail;
		s.reference.hidden = !o.reference;
		if (o.reference && s.referenceValue.textContent !== o.reference) {
			s.referenceValue.textContent = o.reference;
			s.referenceSpelled.textContent = spellReference(o.reference);
			s.referenceCopy.textContent = 'Copy';
		}
		s.outcomeFacts.replaceChildren(...o.facts.flatMap(([k, val]) => {
			const dt = document.createElement('dt');
			dt.textContent = k;
			const dd = document.createElement('dd');
			dd.textContent = val;
			return [dt, dd];
		}));
	}
}

/** One list item per field, created once and updated in place so focus stays put. */
function renderFields(v: PaymentView): void {
	const list = ui.session.fields;
	const existing = new Map<string, HTMLLIElement>();
	for (const li of list.querySelectorAll<HTMLLIElement>('li[data-field]'))
		existing.set(li.dataset['field'] ?? '', li);
	const rows: HTMLLIElement[] = [];
	for (const name of v.order) {
		const r = fieldRow(v, name);
		const li = existing.get(name) ?? makeFieldRow(name);
		li.dataset['state'] = r.state;
		li.dataset['current'] = String(r.current);
		if (r.current)
			li.setAttribute('aria-current', 'step');
		else
			li.removeAttribute('aria-current');
		const badge = li.querySelector<HTMLElement>('.badge');
		if (badge)
			badge.textContent = r.label;
		const shown = li.querySelector<HTMLElement>('.value-shown');
		const spoken = li.querySelector<HTMLElement>('.value-spoken');
		if (shown)
			shown.textContent = r.shown || '\u2014';
		if (spoken)
			spoken.textContent = r.spoken ? ': ' + r.spoken : ': nothing yet';
		const btn = li.querySelector<HTMLButtonElement>('button');
		if (btn) {
			btn.hidden = !r.askAgain;
			btn.disabled = app.pending !== null;
		}
		rows.push(li);
	}
	/* Reorder / drop only when the set of fields changed. */
	const same = rows.length === list.children.length && rows.every((r, i) => list.children[i] === r);
	if (!same)
		list.replaceChildren(...rows);
}

function makeFieldRow(name: string): HTMLLIElement {
	const li = document.createElement('li');
	li.className = 'fieldrow';
	li.dataset['field'] = name;
	const head = document.createElement('div');
	head.className = 'fieldhead';
	const label = document.createElement('span');
	label.className = 'fname';
	label.textContent = fieldLabel(name);
	const badge = document.createElement('span');
	badge.className = 'badge';
	head.append(label, badge);
	const value = document.createElement('div');
	value.className = 'fvalue';
	const shown = document.createElement('span');
	shown.className = 'value-shown';
	shown.setAttribute('aria-hidden', 'true');
	const spoken = document.createElement('span');
	spoken.className = 'value-spoken sr-only';
	value.append(shown, spoken);
	const btn = document.createElement('button');
	btn.type = 'button';
	btn.className = 'recapture quiet';
	btn.textContent = 'Ask again';
	btn.setAttribute('aria-label', 'Ask again for ' + fieldNoun(name));
	btn.addEventListener('click', () => void recapture(name));
	li.append(head, value, btn);
	return li;
}

async function act(key: string, what: string, run: () => Promise<PaymentView | null>): Promise<void> {
	if (app.pending !== null)
		return;
	app.pending = key;
	setText(ui.session.error, null);
	renderSession();
	try {
		const v = await run();
		if (v)
			applyView(v);
	} catch (e) {
		if (!(e instanceof ApiError && e.status === 401)) {
			setText(ui.session.error, errorText(e, what));
			announce(errorText(e, what));
		}
	} finally {
		app.pending = null;
		renderSession();
	}
}

function recapture(name: string): Promise<void> {
	const ref = app.ref;
	if (!ref)
		return Promise.resolve();
	return act('capture:' + name, 'ask again for ' + fieldNoun(name),
		() => api.changeCapture(ref, name));
}

function submit(): Promise<void> {
	const ref = app.ref;
	if (!ref || !app.view || !canSubmit(app.view))
		return Promise.resolve();
	return act('complete', 'submit the payment', () => api.changeStatus(ref, 'complete'));
}

function cancelPayment(): Promise<void> {
	const ref = app.ref;
	ui.session.confirm.hidden = true;
	if (!ref)
		return Promise.resolve();
	return act('cancel', 'cancel the payment', () => api.changeStatus(ref, 'cancel'))
		.then(() => { if (app.view && !isFinal(app.view)) ui.session.cancel.focus(); });
}

/**
 * Copies the reference for pasting into the CRM.  Where the browser does
 * not allow it (an embedding without clipboard-write), the reference is
 * selected instead and the agent told to copy it.
 */
async function copyReference(): Promise<void> {
	const ref = ui.session.referenceValue.textContent ?? '';
	if (!ref)
		return;
	try {
		await navigator.clipboard.writeText(ref);
		ui.session.referenceCopy.textContent = 'Copied';
		announce('Reference copied.');
	} catch {
		const range = document.createRange();
		range.selectNodeContents(ui.session.referenceValue);
		const sel = window.getSelection();
		sel?.removeAllRanges();
		sel?.addRange(range);
		ui.session.referenceCopy.textContent = 'Selected: press Ctrl+C';
		announce('The reference is selected: press Control C to copy it.');
	}
}

function newPayment(): void {
	forgetSession();
	ui.attach.amount.value = '';
	ui.attach.description.value = '';
	setText(ui.attach.error, null);
	document.title = 'GenesysPay agent console';
	fillAttachForm();
	show('attach');
}

/* ------------------------------------------------------------ wiring */

function wire(): void {
	ui.login.form.addEventListener('submit', (e) => void onLogin(e));
	ui.attach.form.addEventListener('submit', (e) => void onStart(e));
	/* The agent corrects what was refused (or the currency it was
	 * refused for): the error goes. */
	const correcting = (e: Event): void => {
		const t = e.target;
		const fixed = t instanceof HTMLElement && t.getAttribute('aria-invalid') === 'true'
			? t
			: t === ui.attach.currency && ui.attach.amount.getAttribute('aria-invalid') === 'true' ? ui.attach.amount : null;
		if (fixed) {
			fixed.removeAttribute('aria-invalid');
			setText(ui.attach.error, null);
		}
		syncAttachForm();
	};
	ui.attach.form.addEventListener('input', correcting);
	ui.attach.form.addEventListener('change', correcting);
	ui.signout.addEventListener('click', () => signedOut(null));
	ui.session.submit.addEventListener('click', () => void submit());
	ui.session.cancel.addEventListener('click', () => {
		ui.session.confirm.hidden = false;
		/* The safe choice: Cancel then Enter keeps the payment going. */
		ui.session.cancelNo.focus();
	});
	ui.session.cancelYes.addEventListener('click', () => void cancelPayment());
	ui.session.cancelNo.addEventListener('click', () => {
		ui.session.confirm.hidden = true;
		ui.session.cancel.focus();
	});
	ui.session.confirm.addEventListener('keydown', (e) => {
		if (e.key === 'Escape') {
			ui.session.confirm.hidden = true;
			ui.session.cancel.focus();
		}
	});
	ui.session.newPayment.addEventListener('click', newPayment);
	ui.session.referenceCopy.addEventListener('click', () => void copyReference());
}

function boot(): void {
	if (app.widget.target)
		document.body.classList.add('widget');
	if (!storageWorks()) {
		el('storage-site', HTMLElement).textContent = window.location.host;
		el('storage-notice', HTMLElement).hidden = false;
	}
	wire();
	const auth = loadAuth(Date.now());
	if (!auth) {
		signedOut(null);
		return;
	}
	void signedIn(auth.token, auth.agent);
}

boot();
