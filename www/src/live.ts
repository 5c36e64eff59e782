/*
 * live.ts - the session's live updates: one EventSource on
 * /aap/events/{PaymentSid}?token=<session token> (nchan), and what to do
 * when it drops.
 *
 * The server replays nothing (README "What happens, and the live
 * updates"): a subscriber gets only what is published after it
 * subscribed, and the Last-Event-ID a reconnecting EventSource sends is
 * ignored.  So every open is followed by one GET of the whole state
 * (resync), and nothing published before the subscription or missed while
 * away is lost; model.supersedes() drops whatever arrives twice or late.
 * The browser's EventSource reconnects by itself after a network error
 * (followed by that GET too).  When the server answers with an error
 * status instead (nginx restarting, the authorize request failing), the
 * browser gives up for good (readyState CLOSED); then this file waits,
 * re-reads the state (which also tells a revoked credential from a
 * passing outage) and opens a new EventSource.
 */
import { parseView, type PaymentView } from './model.js';

export type LinkState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface LiveHandlers {
	/** a state from the stream */
	onView(v: PaymentView): void;
	onLink(state: LinkState): void;
	/**
	 * Re-read the current state (GET /aap/session).  Resolves false when
	 * the session can no longer be watched (credential refused, payment
	 * unknown): the feed then stops.
	 */
	resync(): Promise<boolean>;
}

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];

export class LiveFeed {
	private readonly url: string;
	private readonly h: LiveHandlers;
	private es: EventSource | null = null;
	private timer: ReturnType<typeof setTimeout> | null = null;
	private failures = 0;
	private stopped = false;
	private link: LinkState = 'connecting';

	constructor(url: string, handlers: LiveHandlers) {
		this.url = url;
		this.h = handlers;
	}

	start(): void {
		this.stopped = false;
		this.open();
		window.addEventListener('online', this.onOnline);
	}

	stop(): void {
		this.stopped = true;
		window.removeEventListener('online', this.onOnline);
		if (this.timer !== null)
			clearTimeout(this.timer);
		this.timer = null;
		this.es?.close();
		this.es = null;
		this.setLink('stopped');
	}

	private readonly onOnline = (): void => {
		/* the network is back: do not wait out the backoff */
		if (!this.stopped && this.es === null && this.timer !== null) {
			clearTimeout(this.timer);
			this.timer = null;
			void this.reconnect();
		}
	};

	private setLink(s: LinkState): void {
		if (s !== this.link) {
			this.link = s;
			this.h.onLink(s);
		}
	}

	private open(): void {
		this.setLink(this.failures ? 'reconnecting' : 'connecting');
		const es = new EventSource(this.url);
		this.es = es;
		es.onopen = () => {
			this.failures = 0;
			this.setLink('live');
			/* Whatever was published before this subscription (or while
			 * away) is in the current state: read it once. */
			void this.h.resync().then((ok) => { if (!ok) this.stop(); }, () => undefined);
		};
		es.onmessage = (ev: MessageEvent<unknown>) => {
			if (typeof ev.data !== 'string')
				return;
			let data: unknown;
			try {
				data = JSON.parse(ev.data);
			} catch {
				return;
			}
			const v = parseView(data);
			if (v)
				this.h.onView(v);
		};
		es.onerror = () => {
			if (this.stopped || this.es !== es)
				return;
			if (es.readyState === EventSource.CONNECTING) {
				/* the browser retries by itself; onopen resyncs */
				this.setLink('reconnecting');
				return;
			}
			es.close();
			this.es = null;
			this.setLink('reconnecting');
			const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)] ?? 15000;
			this.failures++;
			this.timer = setTimeout(() => {
				this.timer = null;
				void this.reconnect();
			}, delay);
		};
	}

	private async reconnect(): Promise<void> {
		if (this.stopped)
			return;
		let ok: boolean;
		try {
			ok = await this.h.resync();
		} catch {
			ok = true; /* server unreachable: keep trying */
		}
		if (this.stopped)
			return;
		if (!ok) {
			this.stop();
			return;
		}
		this.open();
	}
}
