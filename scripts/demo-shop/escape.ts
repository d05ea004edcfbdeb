/**
 * Escaping for text and attribute values. The shared renderer (contracts/markup.ts, owned by the
 * proxy) exports `escapeHtml`; this module re-exports it once it exists so the shop and the proxy
 * escape the same way.
 */
const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes `& < > " '` so the result is safe in element text and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}
