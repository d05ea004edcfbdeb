/**
 * Product families for catalogues that have none (the Online Retail data has only descriptions).
 * Used by the trainer (catalogue `category`, diversity) and the demo shop (category pages), so that
 * both agree. The first rule whose keyword appears in the description wins; order matters
 * ("CHRISTMAS CANDLE" is seasonal before it is a candle).
 */
const RULES: ReadonlyArray<readonly [category: string, keywords: readonly string[]]> = [
  ['seasonal', ['CHRISTMAS', 'EASTER', 'ADVENT', 'XMAS', 'HALLOWEEN', 'VALENTINE']],
  ['jewellery', ['NECKLACE', 'EARRINGS', 'BRACELET', 'RING', 'CHARM', 'DIAMANTE', 'BEAD', 'BLING', 'HAIR']],
  ['bags', ['BAG', 'PURSE', 'SHOPPER', 'TOTE']],
  ['candles', ['CANDLE', 'T-LIGHT', 'TEALIGHT', 'LANTERN', 'NIGHT LIGHT']],
  [
    'kitchen',
    [
      'CAKESTAND',
      'TEACUP',
      'TEAPOT',
      'COOKIE CUTTER',
      'JAM',
      'JELLY MOULD',
      'LUNCHBOX',
      'CHOPSTICK',
      'PEG',
      'MUG',
      'CUP',
      'TEA',
      'CAKE',
      'BOWL',
      'PLATE',
      'CUTLERY',
      'JAR',
      'TRAY',
      'LUNCH',
      'KITCHEN',
      'PANTRY',
      'BAKING',
      'APRON',
      'TIN',
      'BOTTLE',
      'NAPKIN',
      'SPOON',
      'JUG',
      'GLASS',
    ],
  ],
  [
    'stationery',
    [
      'CARD',
      'PAPER',
      'WRAP',
      'NOTEBOOK',
      'PEN',
      'PENCIL',
      'STICKER',
      'RIBBON',
      'TAPE',
      'ENVELOPE',
      'CALENDAR',
    ],
  ],
  ['party', ['PARTY', 'BIRTHDAY', 'BUNTING', 'GARLAND', 'BALLOON', 'NAPKINS']],
  [
    'toys',
    [
      'BUILDING BLOCK',
      'SKIPPING ROPE',
      'SPINNING TOP',
      'SKITTLE',
      'GLIDER',
      'COLOURING',
      'KNITTING NANCY',
      'SEWING KIT',
      'HAND WARMER',
      'TOY',
      'GAME',
      'DOLLY',
      'DOLL',
      'SPACEBOY',
      'CHILDRENS',
      'KIDS',
      'PUZZLE',
      'JIGSAW',
      'PLAYHOUSE',
      'FELTCRAFT',
    ],
  ],
  ['garden', ['GARDENERS', 'ZINC', 'GARDEN', 'GARDENERS', 'ZINC', 'PLANT', 'BIRD', 'WATERING', 'POT']],
  [
    'home-decor',
    [
      'CHEST',
      'COAT RACK',
      'BLACK BOARD',
      'DOORSTOP',
      'THROW',
      'BLANKET',
      'CUSHION',
      'FRAME',
      'CLOCK',
      'MIRROR',
      'SIGN',
      'DOORMAT',
      'HOOK',
      'DRAWER',
      'WALL',
      'DECORATION',
      'HANGING',
      'HOLDER',
      'VASE',
      'LIGHT',
      'BOX',
      'STORAGE',
      'HEART',
    ],
  ],
];

/** Whole words only, plurals included: "BUNTING" is not a "TIN", "CANDLES" is a "CANDLE". */
const PATTERNS = RULES.map(
  ([category, keywords]) => [category, new RegExp(`\\b(?:${keywords.join('|')})(?:S|ES)?\\b`)] as const,
);

export const CATEGORIES: readonly string[] = [...RULES.map(([category]) => category), 'other'];

/** The product family of a description, e.g. `categoryOf('WHITE HANGING HEART T-LIGHT HOLDER') === 'candles'`. */
export function categoryOf(description: string): string {
  const text = description.toUpperCase();
  for (const [category, pattern] of PATTERNS) {
    if (pattern.test(text)) return category;
  }
  return 'other';
}
