/*
 * live.ts - the session's live updates: one EventSource on
 * /aap/events/{PaymentSid}?ticket=<ticket> (nchan), and what to do when
 * it drops.
 *
 * No lasting secret goes in a URL (a URL reaches logs a header does not),
 * so each connection's credential is a ticket (docs/api.md "Agent API"): bought
 * with the session token in a POST right before the EventSource opens,
 * valid a minute, accepted once.  The browser's own EventSource retry
 * would send the spent ticket again and be refused, so every drop is
 * handled here: close, wait (backoff), re-read the state (which also
 * tells a revoked credential from a passing outage), a new ticket, a new
 * EventSource.
 *
 * The server replays nothing (docs/api.md "Live
 * updates"): a subscriber gets only what is published after it
 * subscribed.  So every open is followed by one GET of the whole state
 * (resync), and nothing published before the subscription or missed while
 * away is lost; model.supersedes() drops whatever arrives twice or late.
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
	/**
	 * The EventSource URL with a new ticket (POST /aap/events-ticket).
	 * Rejects when none can be had; the feed then retries as for a drop
	 * (and its resync says whether to stop).
	 */
	ticketUrl(): Promise<string>;
}

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];

export class LiveFeed {
	private readonly h: LiveHandlers;
	private es: EventSource | null = null;
	private timer: ReturnType<typeof setTimeout> | null = null;
	private failures = 0;
	private stopped = false;
	/** bumped by stop() and each open(): an older open() that resumes late gives up */
	private generation = 0;
	private link: LinkState = 'connecting';

	constructor(handlers: LiveHandlers) {
		this.h = handlers;
	}

	start(): void {
		this.stopped = false;
		void this.open();
		window.addEventListener('online', this.onOnline);
	}

	stop(): void {
		this.stopped = true;
		this.generation++;
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

	private async open(): Promise<void> {
		const gen = ++this.generation;
		this.setLink(this.failures ? 'reconnecting' : 'connecting');
		let url: string;
		try {
			url = await this.h.ticketUrl();
		} catch {
			if (!this.stopped && gen === this.generation)
				this.retry();
			return;
		}
		if (this.stopped || gen !== this.generation)
			return;
		const es = new EventSource(url);
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
			/* Its ticket is spent: the browser's own retry would be
			 * refused.  A new one, after the backoff. */
			es.close();
			this.es = null;
			this.retry();
		};
	}

	private retry(): void {
		this.setLink('reconnecting');
		const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)] ?? 15000;
		this.failures++;
		this.timer = setTimeout(() => {
			this.timer = null;
			void this.reconnect();
		}, delay);
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
		await this.open();
	}
}
