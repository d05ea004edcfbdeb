/** Live experiment counters in Upstash Redis: written by the events consumer, read by `GET /admin/live`. */
export { dayOf, LIVE_DAYS } from './live-counters';
export { LIVE_ORDER_SECONDS, recordLiveCounters } from './record-live';
