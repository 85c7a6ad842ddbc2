// Model and GPT-4 answers are markdown. They render through marked, with any HTML written in the answer shown as
// text (so the browser never even parses a handler the CSP would have to refuse), and what marked makes goes
// through DOMPurify before it reaches the page: no scripts, no event handlers, no javascript: links, no forms,
// styles, frames or images. Links open in a new tab without access to the studio (the page's CSP is the second
// wall). An image becomes a link to it: a model's answer should not make the page fetch what it names.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    html: ({ text }) => escapeHtml(text),
    image: ({ href, text }) => `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
  },
});

const purify = DOMPurify();
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});

/** Markdown as sanitized HTML, safe for {@html}. */
export function renderMarkdown(text: string): string {
  const html = marked.parse(text, { async: false });
  return purify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ['img', 'svg', 'math', 'video', 'audio', 'source', 'picture', 'style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'frame', 'object', 'embed', 'base', 'meta', 'link'],
    FORBID_ATTR: ['style', 'id', 'name'],
  });
}
