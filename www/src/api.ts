/*
 * api.ts - the /aap/* calls (docs/api.md "Agent API").
 *
 * Every call carries "Authorization: Bearer <agent token>" and, for a
 * running payment, "X-Session-Token: <session token>".  No cookies: the
 * console is embedded cross-site in a Genesys Cloud iframe, where
 * third-party cookies are dropped, and a header credential leaves no
 * CSRF surface.  Same origin only (CSP connect-src 'self').
 */
import { parseView, type AttachTarget, type PaymentMethod, type PaymentView } from './model.js';

export class ApiError extends Error {
	/** HTTP status; 0 when the server could not be reached */
	readonly status: number;
	/** the server's machine-readable code, if it sent one */
	readonly code: string | null;
	/** the server's message, if it sent one */
	readonly serverMessage: string | null;

	constructor(status: number, code: string | null, serverMessage: string | null) {
		super(serverMessage ?? 'HTTP ' + status);
		this.name = 'ApiError';
		this.status = status;
		this.code = code;
		this.serverMessage = serverMessage;
	}
}

export interface Login {
	readonly token: string;
	readonly agent: string;
	/** ms since the epoch; 0 when the server did not say */
	readonly expiresAt: number;
}

export interface SessionRef {
	readonly paymentSid: string;
	readonly callSid: string;
	readonly sessionToken: string;
	/** EventSource URL (same origin), without credential: a ticket is added per connection */
	readonly eventsUrl: string;
}

export interface StartRequest {
	readonly target: AttachTarget;
	readonly chargeAmount: string;
	readonly currency: string;
	readonly paymentMethod: PaymentMethod;
	/** only for a 0 amount (tokenize) */
	readonly tokenType: 'one-time' | 'reusable' | null;
	readonly description: string;
	/** ACH only: consumer-checking, consumer-savings or commercial-checking */
	readonly bankAccountType: string | null;
	/** custom connector parameters (a flat object); ACH needs AVSName */
	readonly parameters: Readonly<Record<string, string>> | null;
}

/** An amount's rule in one currency: decimals allowed, largest amount. */
export interface CurrencyRule {
	readonly places: number;
	readonly maxAmount: string;
}

/** What the server allows (GET /aap/config). */
export interface ServerConfig {
	/** false: the server could not be asked; these are DEFAULT_CONFIG's guesses */
	readonly fromServer: boolean;
	readonly currencies: readonly string[];
	readonly defaultCurrency: string;
	readonly currencyRules: Readonly<Record<string, CurrencyRule>>;
	readonly paymentMethods: readonly PaymentMethod[];
	readonly includeCvc: boolean;
	readonly includePostalCode: boolean;
	/** the fields the customer will key, per payment method, in order */
	readonly captureOrder: Readonly<Record<PaymentMethod, readonly string[]>>;
}

const TWO_PLACES: CurrencyRule = { places: 2, maxAmount: '999999.99' };

/**
 * When GET /aap/config cannot be read (an older server, a network
 * hiccup): a short list the server takes by default, so the agent can
 * still work; the server checks every request anyway.
 */
export const DEFAULT_CONFIG: ServerConfig = {
	fromServer: false,
	currencies: ['USD', 'EUR', 'GBP', 'AUD', 'CAD', 'NZD'],
	defaultCurrency: 'USD',
	currencyRules: { USD: TWO_PLACES, EUR: TWO_PLACES, GBP: TWO_PLACES, AUD: TWO_PLACES, CAD: TWO_PLACES, NZD: TWO_PLACES },
	paymentMethods: ['credit-card', 'ach-debit'],
	includeCvc: true,
	includePostalCode: false,
	captureOrder: {
		'credit-card': ['payment-card-number', 'security-code', 'expiration-date'],
		'ach-debit': ['bank-routing-number', 'bank-account-number'],
	},
};

/** The rule for a currency's amounts (two decimals when unknown). */
export function currencyRule(c: ServerConfig, currency: string): CurrencyRule {
	return c.currencyRules[currency] ?? TWO_PLACES;
}

const TIMEOUT_MS = 15000;

function isRecord(x: unknown): x is Record<string, unknown> {
	return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function s(o: Record<string, unknown>, k: string): string | null {
	const v = o[k];
	return typeof v === 'string' && v !== '' ? v : null;
}

function parseExpiry(v: unknown): number {
	if (typeof v === 'number' && Number.isFinite(v))
		return v < 1e11 ? v * 1000 : v; /* seconds or milliseconds */
	if (typeof v === 'string') {
		const t = Date.parse(v);
		if (Number.isFinite(t))
			return t;
	}
	return 0;
}

export class Api {
	private readonly agentToken: () => string | null;
	private readonly onUnauthorized: () => void;

	/**
	 * `agentToken` reads the current agent token (sessionStorage);
	 * `onUnauthorized` runs on any 401 so the page shows the sign-in form.
	 */
	constructor(agentToken: () => string | null, onUnauthorized: () => void) {
		this.agentToken = agentToken;
		this.onUnauthorized = onUnauthorized;
	}

	private async call(method: 'GET' | 'POST', path: string, body: unknown,
		session: SessionRef | null): Promise<unknown> {
		const headers: Record<string, string> = { Accept: 'application/json' };
		const tok = this.agentToken();
		if (tok)
			headers['Authorization'] = 'Bearer ' + tok;
		if (session)
			headers['X-Session-Token'] = session.sessionToken;
		if (body !== undefined)
			headers['Content-Type'] = 'application/json';
		const ctl = new AbortController();
		const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
		let resp: Response;
		try {
			resp = await fetch(path, {
				method,
				headers,
				body: body === undefined ? null : JSON.stringify(body),
				credentials: 'omit',
				cache: 'no-store',
				redirect: 'error',
				signal: ctl.signal,
			});
		} catch {
			throw new ApiError(0, null, null);
		} finally {
			clearTimeout(timer);
		}
		let data: unknown = null;
		const text = await resp.text().catch(() => '');
		if (text !== '') {
			try {
				data = JSON.parse(text);
			} catch {
				data = null;
			}
		}
		if (!resp.ok) {
			const o = isRecord(data) ? data : {};
			const code = o['code'];
			const err = new ApiError(resp.status, typeof code === 'string' || typeof code === 'number' ? String(code) : null,
				s(o, 'error') ?? s(o, 'message'));
			if (resp.status === 401 && path !== '/aap/login')
				this.onUnauthorized();
			throw err;
		}
		return data;
	}

	async login(username: string, password: string): Promise<Login> {
		const d = await this.call('POST', '/aap/login', { username, password }, null);
		if (!isRecord(d) || !s(d, 'token'))
			throw new ApiError(502, null, 'The server answered the sign-in without a token.');
		return { token: s(d, 'token') ?? '', agent: s(d, 'agent') ?? username, expiresAt: parseExpiry(d['expiresAt']) };
	}

	async config(): Promise<ServerConfig> {
		let d: unknown;
		try {
			d = await this.call('GET', '/aap/config', undefined, null);
		} catch (e) {
			if (e instanceof ApiError && e.status === 401)
				throw e;
			return DEFAULT_CONFIG; /* an older server, or a passing failure */
		}
		return parseConfig(d);
	}

	/**
	 * Starts the payment.  `warning` is the server's note when the payment
	 * exists but something after creating it failed (the first Capture
	 * request): the agent can re-capture or cancel.
	 */
	async startCapture(r: StartRequest): Promise<{ ref: SessionRef; view: PaymentView | null; warning: string | null }> {
		const body: Record<string, string | Readonly<Record<string, string>>> = {
			[r.target.kind]: r.target.value,
			chargeAmount: r.chargeAmount,
			currency: r.currency,
			paymentMethod: r.paymentMethod,
		};
		if (r.tokenType)
			body['tokenType'] = r.tokenType;
		if (r.description)
			body['description'] = r.description;
		if (r.bankAccountType)
			body['bankAccountType'] = r.bankAccountType;
		if (r.parameters)
			body['parameters'] = r.parameters;
		return attached(await this.call('POST', '/aap/startCapture', body, null));
	}

	/**
	 * The payment running on a call, started by this agent (in this tab,
	 * another tab, or before a reload that lost what this tab kept), with a
	 * new session token.  404 when none is running, 403 when it is another
	 * agent's.
	 */
	async attach(target: AttachTarget): Promise<{ ref: SessionRef; view: PaymentView | null }> {
		const a = attached(await this.call('POST', '/aap/attach', { [target.kind]: target.value }, null));
		return { ref: a.ref, view: a.view };
	}

	async changeCapture(ref: SessionRef, captureType: string): Promise<PaymentView | null> {
		const d = await this.call('POST', '/aap/changeCapture',
			{ paymentSid: ref.paymentSid, callSid: ref.callSid, captureType, sessionToken: ref.sessionToken }, ref);
		return isRecord(d) ? parseView(isRecord(d['state']) ? d['state'] : d) : null;
	}

	async changeStatus(ref: SessionRef, status: 'complete' | 'cancel'): Promise<PaymentView | null> {
		const d = await this.call('POST', '/aap/changeStatus',
			{ paymentSid: ref.paymentSid, callSid: ref.callSid, status, sessionToken: ref.sessionToken },
			ref);
		return isRecord(d) ? parseView(isRecord(d['state']) ? d['state'] : d) : null;
	}

	/**
	 * The EventSource URL with a new ticket: one connection's credential,
	 * valid a minute and accepted once (EventSource cannot send headers,
	 * and a URL is no place for the session token).
	 */
	async eventsTicket(ref: SessionRef): Promise<string> {
		const d = await this.call('POST', '/aap/events-ticket', { paymentSid: ref.paymentSid }, ref);
		const url = isRecord(d) ? s(d, 'eventsUrl') : null;
		if (!url || !url.startsWith('/aap/events/' + ref.paymentSid + '?'))
			throw new ApiError(502, null, 'The server answered the live-update ticket request without a ticket.');
		return url;
	}

	async session(ref: SessionRef): Promise<PaymentView> {
		const d = await this.call('GET', '/aap/session?paymentSid=' + encodeURIComponent(ref.paymentSid), undefined, ref);
		const v = parseView(isRecord(d) && isRecord(d['state']) ? d['state'] : d);
		if (!v)
			throw new ApiError(502, null, 'The server sent a payment state this console cannot read.');
		return v;
	}
}

/** startCapture's 201 and attach's 200: the payment and its session token. */
function attached(d: unknown): { ref: SessionRef; view: PaymentView | null; warning: string | null } {
	if (!isRecord(d))
		throw new ApiError(502, null, 'The server answered without the payment.');
	const paymentSid = s(d, 'paymentSid');
	const callSid = s(d, 'callSid');
	const sessionToken = s(d, 'sessionToken');
	if (!paymentSid || !callSid || !sessionToken)
		throw new ApiError(502, null, 'The server answered without the payment or its session token.');
	const ref: SessionRef = { paymentSid, callSid, sessionToken, eventsUrl: eventsUrl(s(d, 'eventsUrl'), paymentSid) };
	const st = isRecord(d['state']) ? d['state'] : d;
	return { ref, view: parseView(st), warning: s(d, 'warning') };
}

const CURRENCY = /^[A-Z]{3}$/;
const FIELD = /^[a-z][a-z-]{1,40}$/;

/** GET /aap/config's answer, read defensively; DEFAULT_CONFIG's values for what is missing. */
export function parseConfig(d: unknown): ServerConfig {
	if (!isRecord(d))
		return DEFAULT_CONFIG;
	const rulesIn = isRecord(d['currencyRules']) ? d['currencyRules'] : {};
	const currencyRules: Record<string, CurrencyRule> = {};
	const listed = Array.isArray(d['currencies'])
		? d['currencies'].filter((c): c is string => typeof c === 'string' && CURRENCY.test(c))
		: [];
	for (const c of listed) {
		const r = rulesIn[c];
		const places = isRecord(r) && typeof r['places'] === 'number' && r['places'] >= 0 && r['places'] <= 2
			? Math.floor(r['places']) : 2;
		const max = isRecord(r) ? s(r, 'maxAmount') : null;
		currencyRules[c] = { places, maxAmount: max && /^[0-9]+(\.[0-9]+)?$/.test(max) ? max : TWO_PLACES.maxAmount };
	}
	const currencies = listed.length ? listed : DEFAULT_CONFIG.currencies;
	const pm = Array.isArray(d['paymentMethods'])
		? d['paymentMethods'].filter((m): m is PaymentMethod => m === 'credit-card' || m === 'ach-debit')
		: [];
	const dc = s(d, 'defaultCurrency');
	const orderIn = isRecord(d['captureOrder']) ? d['captureOrder'] : {};
	const order = (m: PaymentMethod): readonly string[] => {
		const o = orderIn[m];
		const l = Array.isArray(o) ? o.filter((f): f is string => typeof f === 'string' && FIELD.test(f)) : [];
		return l.length ? l : DEFAULT_CONFIG.captureOrder[m];
	};
	return {
		fromServer: listed.length > 0,
		currencies,
		defaultCurrency: dc && currencies.includes(dc) ? dc : (currencies[0] ?? 'USD'),
		currencyRules: listed.length ? currencyRules : DEFAULT_CONFIG.currencyRules,
		paymentMethods: pm.length ? pm : DEFAULT_CONFIG.paymentMethods,
		includeCvc: d['includeCvc'] !== false,
		includePostalCode: d['includePostalCode'] === true,
		captureOrder: { 'credit-card': order('credit-card'), 'ach-debit': order('ach-debit') },
	};
}

/**
 * The EventSource URL, without credential (Api.eventsTicket gives the one
 * to open): the server's eventsUrl when it sent one and it is same-origin
 * and has no query, else the documented /aap/events/{PaymentSid}.
 */
export function eventsUrl(fromServer: string | null, paymentSid: string): string {
	if (fromServer && fromServer.startsWith('/') && !fromServer.startsWith('//') && !fromServer.includes('?'))
		return fromServer;
	return '/aap/events/' + encodeURIComponent(paymentSid);
}
