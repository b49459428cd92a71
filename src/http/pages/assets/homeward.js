// Homeward: start the Scottish Government Design System's JavaScript.
// Loaded by layout.html as <script type="module" src="/assets/homeward.js">.
// No inline script is needed, so the Content-Security-Policy can keep
// script-src 'self'. Pages work without this file; it only enhances them.
import DS from './sgds/scripts/design-system.js';

// SG DS styles some components differently once JS runs (body.js-enabled).
document.body.classList.add('js-enabled');

// Initialise every SG DS component on the page (mobile menu, skip links, tables...).
DS.initAll();

// After a failed form submission, move focus to the error summary so it is
// announced and the links to the fields are the next thing in tab order.
const summary = document.querySelector('.ds_error-summary');
if (summary) {
    summary.focus();
}

// A form marked hw-once sends once: a second click while the first is on
// its way does nothing (the server would plan the text once anyway, by the
// form's one-time key; this spares the second request).
for (const form of document.querySelectorAll('form.hw-once')) {
    form.addEventListener('submit', (event) => {
        if (form.dataset.sent) {
            event.preventDefault();
            return;
        }
        form.dataset.sent = 'yes';
        for (const button of form.querySelectorAll('button[type="submit"]')) {
            button.setAttribute('aria-disabled', 'true');
        }
    });
}

// A live count of SMS segments under a text box (the server counts again,
// and its check is the one that counts). GSM 03.38: the basic set, and the
// extension table whose characters take two septets.
const GSM7 = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENSION = '\f^{}\\[~]|€';

function segments(text) {
    let septets = 0;
    let gsm = true;
    for (const c of text) {
        if (GSM7.includes(c)) {
            septets += 1;
        } else if (GSM7_EXTENSION.includes(c)) {
            septets += 2;
        } else {
            gsm = false;
        }
    }
    const units = gsm ? septets : [...text].reduce((n, c) => n + (c.codePointAt(0) > 0xffff ? 2 : 1), 0);
    const [single, multi] = gsm ? [160, 153] : [70, 67];
    const count = units === 0 ? 0 : units <= single ? 1 : Math.ceil(units / multi);
    return { count, encoding: gsm ? 'GSM-7' : 'UCS-2 (a character outside the usual set doubles the cost)' };
}

for (const box of document.querySelectorAll('textarea[data-sms-count]')) {
    const out = document.getElementById(box.dataset.smsCount);
    const show = () => {
        const { count, encoding } = segments(box.value.trim());
        out.textContent = count === 0 ? '' : `${count} ${count === 1 ? 'text' : 'texts'} long, ${encoding}`;
    };
    box.addEventListener('input', show);
    show();
}

// A list marked data-refresh (the inbox) fetches itself again every minute
// and shows what is new, saying so in its status line. It stops after 20
// minutes without the person touching the page, so that a screen left open
// does not keep the session alive past its idle timeout. Without
// JavaScript, reloading the page does the same.
const REFRESH_EVERY_MS = 60_000;
const REFRESHES_WHILE_IDLE = 20;
for (const list of document.querySelectorAll('[data-refresh]')) {
    const status = document.getElementById(list.dataset.refresh);
    let idleRefreshes = 0;
    for (const touch of ['keydown', 'pointerdown', 'scroll']) {
        window.addEventListener(touch, () => { idleRefreshes = 0; }, { passive: true });
    }
    const refresh = async () => {
        if (idleRefreshes >= REFRESHES_WHILE_IDLE) {
            status.textContent = 'Reload the page to see new items.';
            return;
        }
        idleRefreshes += 1;
        try {
            const answer = await fetch(window.location.href, { headers: { Accept: 'text/html' } });
            if (!answer.ok || answer.redirected) {
                return;
            }
            const page = new DOMParser().parseFromString(await answer.text(), 'text/html');
            const fresh = page.querySelector('[data-refresh]');
            if (fresh && fresh.innerHTML !== list.innerHTML) {
                list.innerHTML = fresh.innerHTML;
                const time = new Date().toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
                status.textContent = `Updated at ${time}.`;
            }
        } finally {
            window.setTimeout(refresh, REFRESH_EVERY_MS);
        }
    };
    window.setTimeout(refresh, REFRESH_EVERY_MS);
}
