/*
 * live.ts - the session's live updates: one EventSource on
 * /aap/events/{PaymentSid}?ticket=<ticket> (nchan), what to do when it
 * drops or goes quiet, and polling while live updates are down.
 *
 * No lasting secret goes in a URL (a URL reaches logs a header does not),
 * so each connection's credential is a ticket (docs/api.md "Agent API"): bought
 * with the session token in a POST right before the EventSource opens,
 * valid a minute, accepted once.  The browser's own EventSource retry
 * would send the spent ticket again and be refused, so every drop is
 * handled here: close, wait (backoff), re-read the state (which also
 * tells a revoked credential from a passing outage), a new ticket, a new
 * EventSource.  Every attempt, the polling mode's included, opens with a
 * ticket of its own (open()).
 *
 * The server replays nothing (docs/api.md "Live
 * updates"): a subscriber gets only what is published after it
 * subscribed.  So every open is followed by one GET of the whole state
 * (resync), and nothing published before the subscription or missed while
 * away is lost; model.supersedes() drops whatever arrives twice or late.
 *
 * Polling.  With several nodes, live updates travel through Redis
 * (docs/multinode.md); without it payments go on but nothing reaches the
 * stream (and tickets cannot be redeemed: eventsAuth refuses them).  So:
 *   - the server answers (GET /aap/session works) but the stream is
 *     refused twice: the feed polls GET /aap/session every POLL_MS, says
 *     so ('polling'), and tries the stream again (a new ticket) every
 *     RETRY_LIVE_MS;
 *   - the stream stays open but goes quiet (Redis went away under it: nchan
 *     keeps the subscriber and drops what is published): while live, the
 *     feed reads the state every CHECK_MS; a state the GET saw that the
 *     stream has not brought one check later means the stream is not
 *     delivering, and the feed switches to polling.
 */
import { parseView, type PaymentView } from './model.js';

export type LinkState = 'connecting' | 'live' | 'reconnecting' | 'polling' | 'stopped';

/** What a GET /aap/session said. */
export type Resync =
	| { kind: 'ok'; seq: number } /* the state, already shown; its seq */
	| { kind: 'gone' } /* the session can no longer be watched: stop */
	| { kind: 'unreachable' }; /* no answer: keep trying */

export interface LiveHandlers {
	/** a state from the stream */
	onView(v: PaymentView): void;
	onLink(state: LinkState): void;
	/** Re-read and show the current state (GET /aap/session). */
	resync(): Promise<Resync>;
	/**
	 * The EventSource URL with a new ticket (POST /aap/events-ticket).
	 * Rejects when none can be had; the feed then retries as for a drop
	 * (and its resync says whether to stop).
	 */
	ticketUrl(): Promise<string>;
}

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];
export const POLL_MS = 3000;
const RETRY_LIVE_MS = 15000;
const CHECK_MS = 10000;

export class LiveFeed {
	private readonly h: LiveHandlers;
	private es: EventSource | null = null;
	private timer: ReturnType<typeof setTimeout> | null = null;
	private poller: ReturnType<typeof setTimeout> | null = null;
	private failures = 0;
	private stopped = false;
	/** bumped by stop() and each open(): an older open() that resumes late gives up */
	private generation = 0;
	private link: LinkState = 'connecting';
	/** highest seq the stream delivered; the seq a check saw beyond it */
	private streamSeq = -1;
	private owedSeq: number | null = null;

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
		this.clearTimers();
		this.es?.close();
		this.es = null;
		this.setLink('stopped');
	}

	private clearTimers(): void {
		if (this.timer !== null)
			clearTimeout(this.timer);
		if (this.poller !== null)
			clearTimeout(this.poller);
		this.timer = null;
		this.poller = null;
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

	private async resync(): Promise<Resync> {
		let r: Resync;
		try {
			r = await this.h.resync();
		} catch {
			r = { kind: 'unreachable' };
		}
		if (r.kind === 'gone' && !this.stopped)
			this.stop();
		return r;
	}

	/** One stream attempt, with a ticket of its own. */
	private async open(): Promise<void> {
		const gen = ++this.generation;
		if (this.link !== 'polling')
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
			if (this.stopped || this.es !== es)
				return;
			this.failures = 0;
			this.owedSeq = null;
			if (this.poller !== null)
				clearTimeout(this.poller);
			this.poller = null;
			this.setLink('live');
			/* Whatever was published before this subscription (or while
			 * away) is in the current state: read it once. */
			void this.resync();
			this.scheduleCheck();
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
			if (v) {
				this.streamSeq = Math.max(this.streamSeq, v.seq);
				this.h.onView(v);
			}
		};
		es.onerror = () => {
			if (this.stopped || this.es !== es)
				return;
			/* Its ticket is spent: the browser's own retry would be
			 * refused.  A new one, after the backoff. */
			es.close();
			this.es = null;
			if (this.timer !== null)
				clearTimeout(this.timer); /* the live check */
			this.timer = null;
			this.retry();
		};
	}

	private retry(): void {
		if (this.link === 'polling') {
			/* still refused: keep polling, try again (new ticket) later */
			this.timer = setTimeout(() => { this.timer = null; void this.open(); }, RETRY_LIVE_MS);
			return;
		}
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
		const r = await this.resync();
		if (this.stopped)
			return;
		if (r.kind === 'ok' && this.failures >= 2 && this.link !== 'polling') {
			/* The server answers but has refused the stream twice: live
			 * updates are down there; poll until they are back. */
			this.startPolling();
			return;
		}
		await this.open();
	}

	/** While live: is the stream still bringing what the server has? */
	private scheduleCheck(): void {
		if (this.timer !== null)
			clearTimeout(this.timer);
		this.timer = setTimeout(() => {
			this.timer = null;
			void this.check();
		}, CHECK_MS);
	}

	private async check(): Promise<void> {
		if (this.stopped || this.link !== 'live')
			return;
		const owed = this.owedSeq;
		const es = this.es;
		const r = await this.resync();
		if (this.stopped || this.link !== 'live' || this.es !== es)
			return;
		if (owed !== null && this.streamSeq < owed) {
			/* a check ago the server had a state the stream still has
			 * not brought: the stream is open but not delivering */
			this.es?.close();
			this.es = null;
			this.startPolling();
			return;
		}
		this.owedSeq = r.kind === 'ok' && r.seq > this.streamSeq ? r.seq : null;
		this.scheduleCheck();
	}

	private startPolling(): void {
		this.clearTimers();
		this.generation++; /* an open() waiting for its ticket gives up */
		this.owedSeq = null;
		this.setLink('polling');
		const poll = async (): Promise<void> => {
			this.poller = null;
			if (this.stopped || this.link !== 'polling')
				return;
			await this.resync();
			if (!this.stopped && this.link === 'polling')
				this.poller = setTimeout(() => void poll(), POLL_MS);
		};
		this.poller = setTimeout(() => void poll(), POLL_MS);
		/* and the stream again, with a new ticket, now and then */
		this.timer = setTimeout(() => { this.timer = null; void this.open(); }, RETRY_LIVE_MS);
	}
}
