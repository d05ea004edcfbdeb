/**
 * `tsx scripts/demo-shop/cli.ts [--port N] [--plugin-src URL] [--delay-ms N]`: the demo shop on its own, e.g. as an
 * origin for `ORIGIN_URL=... npm start` or for script mode.
 */
import { parseArgs } from 'node:util';
import { startDemoShop } from './index';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.RX_SHOP_PORT ?? '8790' },
    host: { type: 'string', default: '127.0.0.1' },
    'plugin-src': { type: 'string' },
    'delay-ms': { type: 'string', default: '0' },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number (0-65535), got "${values.port}"`);
  process.exit(2);
}
const delayMs = Number(values['delay-ms']);
if (!Number.isFinite(delayMs) || delayMs < 0) {
  console.error(`--delay-ms must be a number of milliseconds (0 or more), got "${values['delay-ms']}"`);
  process.exit(2);
}
try {
  const shop = await startDemoShop({
    host: values.host,
    port,
    pluginSrc: values['plugin-src'],
    responseDelayMs: delayMs,
  });
  console.log(`demo shop: ${shop.url}`);
  const stop = () => void shop.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  console.error(
    code === 'EADDRINUSE' ? `port ${port} is already in use: pass --port or set RX_SHOP_PORT` : error,
  );
  process.exit(1);
}
