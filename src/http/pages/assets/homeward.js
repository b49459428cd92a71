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
