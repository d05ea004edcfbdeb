/**
 * Crawlers get the page as the origin serves it, with base prices, so search engines index one
 * consistent price and no shopper-specific markup.
 */
// Google's fetchers without "bot" in their name (Search Console's URL inspection, GoogleOther, feeds),
// and AI assistants fetching a page for a user, are crawlers too: they see base prices.
// A company's crawlers are matched by their own names, never by the company's alone: the DuckDuckGo
// browser (`DuckDuckGo/5`), Pinterest's and Telegram's in-app browsers (`[Pinterest/iOS]`,
// `Telegram-Android/11`), the Yandex app (`YandexSearch/23`) and WhatsApp's web view are shoppers,
// and so is a Cubot phone (`CUBOT P30`), which `bot` alone took. Their crawlers say `bot`
// (DuckDuckBot, Pinterestbot, TelegramBot, YandexBot), `Pinterest/0.2`, `Yandex…/…; yandex.com/bots`
// or start `WhatsApp/`.
const BOT_USER_AGENT =
  /(?<!cu)bot\b|(?<!cu)bot\/|crawl|spider|slurp|mediapartners|google-inspectiontool|googleother|feedfetcher|google-read-aloud|apis-google|chatgpt-user|perplexity-user|meta-externalagent|meta-externalfetcher|bingpreview|facebookexternalhit|facebot|embedly|quora link preview|pinterest\/\d|vkshare|w3c_validator|^whatsapp\/|skypeuripreview|lighthouse|pagespeed|headlesschrome|phantomjs|python-requests|curl\/|wget\/|go-http-client|java\/|okhttp|httpclient|axios\/|node-fetch|scrapy|ahrefs|semrush|petalbot|yandex(?!search|browser)|baiduspider|applebot|archive\.org/i;

/** Cloudflare Bot Management score below which a request is treated as automated (1 = bot, 99 = human). */
const BOT_SCORE_THRESHOLD = 30;

interface BotSignals {
  botManagement?: { score?: number; verifiedBot?: boolean };
}

/**
 * True for crawlers and other automation: by user agent (an empty one included), and by
 * Cloudflare's bot signals (`request.cf.botManagement`) when the zone has them.
 */
export function isBot(request: Request): boolean {
  const userAgent = request.headers.get('user-agent') ?? '';
  if (userAgent.trim() === '' || BOT_USER_AGENT.test(userAgent)) return true;
  const signals = request.cf as BotSignals | undefined;
  const bm = signals?.botManagement;
  if (bm?.verifiedBot === true) return true;
  return typeof bm?.score === 'number' && bm.score > 0 && bm.score < BOT_SCORE_THRESHOLD;
}
