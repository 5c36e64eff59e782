/*
 * store.ts - what survives a reload: sessionStorage only (per tab, gone
 * when the tab closes; never localStorage, never cookies).  Holds the
 * agent token and the running payment's reference (PaymentSid, CallSid,
 * session token) so a reload re-attaches; never card data or any view
 * of it.
 */
import type { Login, SessionRef } from './api.js';

const AUTH_KEY = 'genesyspay.auth';
const SESSION_KEY = 'genesyspay.session';

/*
 * Embedded cross-site (a Genesys Cloud interaction widget), the browser may
 * refuse storage altogether: Chrome does when third-party cookies are
 * blocked ("Access is denied for this document").  Then this tab keeps
 * what it needs in memory: everything works until a reload, after which
 * the agent signs in again (the page says so: storageWorks()).
 */
const memory = new Map<string, string>();
let usable: boolean | null = null;

function storage(): Storage | null {
	if (usable === false)
		return null;
	try {
		const s = window.sessionStorage;
		if (usable === null) {
			s.setItem('genesyspay.probe', '1');
			s.removeItem('genesyspay.probe');
			usable = true;
		}
		return s;
	} catch {
		usable = false;
		return null;
	}
}

/** False when the browser refuses sessionStorage to this page. */
export function storageWorks(): boolean {
	return storage() !== null;
}

export interface StoredSession extends SessionRef {
	/** attachKey() of the call it was started for (widget mode checks it) */
	readonly callKey: string;
}

function read(key: string): Record<string, unknown> | null {
	try {
		const s = storage();
		const raw = s ? s.getItem(key) : (memory.get(key) ?? null);
		if (!raw)
			return null;
		const v: unknown = JSON.parse(raw);
		return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
	} catch {
		return null; /* storage disabled (some embedded contexts) or damaged */
	}
}

function write(key: string, v: unknown): void {
	const s = storage();
	try {
		if (v === null) {
			s?.removeItem(key);
			memory.delete(key);
		} else if (s) {
			s.setItem(key, JSON.stringify(v));
		} else {
			memory.set(key, JSON.stringify(v));
		}
	} catch {
		memory.set(key, JSON.stringify(v)); /* quota: keep it for this page */
	}
}

function str(o: Record<string, unknown>, k: string): string | null {
	const v = o[k];
	return typeof v === 'string' && v !== '' ? v : null;
}

export function loadAuth(now: number): Login | null {
	const o = read(AUTH_KEY);
	if (!o)
		return null;
	const token = str(o, 'token');
	const agent = str(o, 'agent');
	const exp = o['expiresAt'];
	const expiresAt = typeof exp === 'number' && Number.isFinite(exp) ? exp : 0;
	if (!token || !agent || (expiresAt > 0 && expiresAt <= now)) {
		write(AUTH_KEY, null);
		return null;
	}
	return { token, agent, expiresAt };
}

export function saveAuth(a: Login | null): void {
	write(AUTH_KEY, a);
}

export function loadSession(): StoredSession | null {
	const o = read(SESSION_KEY);
	if (!o)
		return null;
	const paymentSid = str(o, 'paymentSid');
	const callSid = str(o, 'callSid');
	const sessionToken = str(o, 'sessionToken');
	const eventsUrl = str(o, 'eventsUrl');
	const callKey = str(o, 'callKey') ?? '';
	if (!paymentSid || !callSid || !sessionToken || !eventsUrl)
		return null;
	return { paymentSid, callSid, sessionToken, eventsUrl, callKey };
}

export function saveSession(s: StoredSession | null): void {
	write(SESSION_KEY, s);
}
