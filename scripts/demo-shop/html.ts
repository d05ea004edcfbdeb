/**
 * A tiny HTML template tag: every interpolated value is escaped unless it is already `SafeHtml`,
 * so a product title can never inject markup into a page (DESIGN.md "Markup": nothing from a
 * catalogue or a request is written into HTML unescaped).
 */
import { escapeHtml } from '../../contracts/markup';

/** Markup that is already safe to write as is (built by `html` or produced by an escaper). */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What may be interpolated: text (escaped), numbers, safe markup, lists of those, or nothing. */
export type HtmlValue = SafeHtml | string | number | null | undefined | false | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Builds markup from a template; interpolations are escaped (see `HtmlValue`). */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}
