/*
 * setup.ts - the Sync setup page (www/public/setup.html; README "Sync
 * setup").  A browser cannot send "Authorization: Bearer" from its address
 * bar, so this page asks for ADMIN_TOKEN, repeats the request with it and
 * shows the JSON answer of /sync/setupSyncServices: each resource, the
 * .env line to copy, the warnings, or what failed.  The token is never put
 * in a URL (histories, proxy logs) and never stored.
 */

interface Resource {
	friendly_name?: string;
	unique_name?: string;
	sid?: string;
	status?: string;
	acl?: string;
}

interface Answer {
	service?: Resource;
	maps?: Resource[];
	env?: string;
	warnings?: string[];
	error?: string;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
	const e = document.createElement(tag);
	if (text !== undefined)
		e.textContent = text;
	if (cls !== undefined)
		e.className = cls;
	return e;
}

function table(a: Answer): HTMLTableElement {
	const t = el('table');
	const head = el('tr');
	for (const h of ['resource', 'name', 'SID', 'result'])
		head.append(el('th', h));
	t.append(head);
	const rows: [string, Resource][] = [];
	if (a.service)
		rows.push(['service', a.service]);
	for (const m of a.maps ?? [])
		rows.push(['map', m]);
	for (const [kind, r] of rows) {
		const tr = el('tr');
		const sid = el('td');
		sid.append(el('code', r.sid ?? ''));
		tr.append(el('td', kind), el('td', r.friendly_name ?? r.unique_name ?? ''), sid,
			el('td', r.status ?? '', r.status ?? ''));
		t.append(tr);
	}
	return t;
}

function show(ok: boolean, a: Answer): void {
	const out = document.getElementById('result');
	if (!out)
		return;
	out.replaceChildren();
	out.append(el('h2', ok ? 'Sync setup done' : 'Sync setup failed'));
	if (!ok)
		out.append(el('p', a.error ?? 'The setup failed.', 'error'),
			el('p', 'Nothing is lost: run the setup again once Sync answers.'));
	out.append(table(a));
	if (ok && a.env) {
		out.append(el('p', 'Access control (ACL) of the service: ' +
			(a.service?.acl === 'turned-on' ? 'turned on now' : 'on') +
			': Sync tokens reach only what their identity is granted.'));
		out.append(el('p', "Put this line in the server's .env (or run scripts/setup-sync --write-env), then reload the handlers:"));
		const p = el('p');
		p.append(el('code', a.env, 'copy'));
		out.append(p);
	}
	if (a.warnings && a.warnings.length > 0) {
		const ul = el('ul');
		for (const w of a.warnings)
			ul.append(el('li', w));
		out.append(el('h2', 'Warnings'), ul);
	}
}

const form = document.getElementById('f');
const token = document.getElementById('t');
const msg = document.getElementById('m');
if (form instanceof HTMLFormElement && token instanceof HTMLInputElement && msg) {
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		msg.textContent = 'Working\u2026';
		fetch('/sync/setupSyncServices', {
			method: 'POST',
			headers: { Authorization: 'Bearer ' + token.value, Accept: 'application/json' },
		}).then(async (r) => {
			const a = (await r.json()) as Answer;
			msg.textContent = r.status === 401 ? 'That is not the ADMIN_TOKEN.' : '';
			if (r.status !== 401)
				show(r.ok, a);
		}).catch((x: unknown) => {
			msg.textContent = 'The request failed: ' + String(x);
		});
	});
}
