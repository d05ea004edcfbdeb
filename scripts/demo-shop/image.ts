/**
 * Product pictures, drawn instead of shipped: the dataset has no images, so each product gets a
 * deterministic SVG (colours and motif from a hash of its id, its initials and its title). Same id,
 * same bytes, so browsers and the worker may cache them forever.
 */

import { escapeHtml } from '../../contracts/markup';
import type { Product } from './catalogue';

export const IMAGE_SIZE = 400;

/** FNV-1a, 32 bit: a stable, well-spread hash of the id (not for security). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const SKIP = new Set(['SET', 'OF', 'PACK', 'THE', 'AND', 'IN', 'WITH', 'A', 'TO']);

/** Up to two letters from the first words that say what the product is ("REGENCY CAKESTAND" → "RC"). */
export function initials(title: string): string {
  const words = title
    .toUpperCase()
    .split(/[^A-Z]+/)
    .filter((w) => w.length > 1 && !SKIP.has(w));
  return words
    .slice(0, 2)
    .map((w) => w[0])
    .join('');
}

/** Splits a title into at most `maxLines` lines of about `width` characters. */
function wrap(title: string, width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of title.split(/\s+/).filter(Boolean)) {
    if (current && `${current} ${word}`.length > width) {
      lines.push(current);
      current = word;
    } else {
      current = current ? `${current} ${word}` : word;
    }
  }
  if (current) lines.push(current);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    kept[maxLines - 1] = `${kept[maxLines - 1] ?? ''}…`;
    return kept;
  }
  return lines;
}

function motif(kind: number, accent: string): string {
  switch (kind) {
    case 0:
      return `<circle cx="300" cy="95" r="70" fill="${accent}" opacity=".35"/><circle cx="80" cy="300" r="40" fill="${accent}" opacity=".25"/>`;
    case 1:
      return `<path d="M0 300 Q100 250 200 300 T400 300 V400 H0Z" fill="${accent}" opacity=".3"/>`;
    case 2:
      return `<g fill="${accent}" opacity=".3">${[0, 1, 2, 3, 4]
        .map((i) => `<circle cx="${40 + i * 80}" cy="40" r="14"/>`)
        .join('')}</g>`;
    default:
      return `<rect x="250" y="30" width="110" height="110" rx="18" transform="rotate(18 305 85)" fill="${accent}" opacity=".3"/>`;
  }
}

/** The SVG picture of a product. */
export function productSvg(product: Product): string {
  const h = hash(product.product_id);
  const hue = h % 360;
  const background = `hsl(${hue} 60% 90%)`;
  const accent = `hsl(${(hue + 40) % 360} 55% 55%)`;
  const ink = `hsl(${hue} 45% 25%)`;
  const lines = wrap(product.title, 22, 3);
  const firstLineY = 330 - (lines.length - 1) * 11;
  const text = lines
    .map((line, i) => `<tspan x="200" y="${firstLineY + i * 24}">${escapeHtml(line)}</tspan>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${IMAGE_SIZE}" height="${IMAGE_SIZE}" viewBox="0 0 400 400" role="img" aria-label="${escapeHtml(product.title)}">
<rect width="400" height="400" fill="${background}"/>
${motif((h >>> 9) % 4, accent)}
<circle cx="200" cy="170" r="92" fill="#fff" opacity=".85"/>
<text x="200" y="198" text-anchor="middle" font-family="Georgia, 'Times New Roman', serif" font-size="76" fill="${ink}">${escapeHtml(initials(product.title))}</text>
<text text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-size="19" letter-spacing=".5" fill="${ink}">${text}</text>
</svg>
`;
}
