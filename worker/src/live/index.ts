/** Live experiment counters in Upstash Redis: written by the events consumer, read by `GET /admin/live`. */
export { LIVE_DAYS, lastDays } from './live-counters';
export { type LiveDelivery, recordLiveCounters } from './record-live';
